export { CertificateAuthority } from './ca.ts';
export { type ParsedCsr, parseCsr } from './csr.ts';
export { type AuthenticatedDevice, DeviceTrust, refusal } from './device-trust.ts';
export { loadMasterKey, seal, unseal } from './keys-at-rest.ts';
export type {
  CaInfo,
  DeviceAuthRefusal,
  DeviceCertificate,
  EnrollmentTokenInfo,
  EnrollResult,
  IdentityErrorCode,
  IdentityOptions,
  IssuedEnrollmentToken,
  ManufacturerCa,
} from './model.ts';
export { DEFAULT_IDENTITY_OPTIONS } from './model.ts';
export { FailureLimiter, type RateLimitErrorCode } from './rate-limit.ts';
export { type IdentityRouteDeps, registerIdentityRoutes } from './routes.ts';
export { IdentityService } from './service.ts';
