/**
 * Device identity: every device its own key and certificate from the Fleetward CA (or a registered
 * manufacturer CA), never a shared secret (ETSI EN 303 645 provision 5.1-1, 5.4-2).
 */
export type IdentityErrorCode =
  | 'CA_KEY_UNREADABLE'
  | 'CA_INVALID'
  | 'MASTER_KEY_INVALID'
  | 'CSR_INVALID'
  | 'CSR_WEAK_KEY'
  | 'CSR_SUBJECT_MISMATCH'
  | 'ENROLL_TOKEN_INVALID'
  | 'ENROLL_TOKEN_EXPIRED'
  | 'ENROLL_TOKEN_USED'
  | 'ENROLL_TOKEN_NOT_FOUND'
  | 'ENROLL_DEVICE_CONFLICT'
  | 'DEVICE_NOT_ENROLLABLE'
  | 'CERTIFICATE_NOT_FOUND'
  | 'MANUFACTURER_CA_INVALID'
  | 'MANUFACTURER_CA_EXISTS'
  | 'MANUFACTURER_CA_NOT_FOUND'
  | 'DEVICE_AUTH_REFUSED';

/** Why a device connection was refused: the reason in logs, counters and `mqtt.refused` events. */
export type DeviceAuthRefusal =
  | 'certificate-missing'
  | 'certificate-unknown'
  | 'certificate-revoked'
  | 'certificate-expired'
  | 'client-id-mismatch'
  | 'device-unknown'
  | 'device-revoked'
  | 'jit-not-allowed';

export const CERTIFICATE_STATUSES = ['active', 'superseded', 'revoked'] as const;
export type CertificateStatus = (typeof CERTIFICATE_STATUSES)[number];

/** A certificate issued to (or, for manufacturer CAs, accepted from) one device. */
export interface DeviceCertificate {
  /** Lower-case hex, no leading zeros stripped. */
  serial: string;
  deviceId: string;
  /** `fleetward` or `manufacturer:<id>`. */
  issuer: string;
  /** SHA-256 of the DER, lower-case hex. */
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  status: CertificateStatus;
  /** Superseded by rotation: revoked automatically at this time (grace period). */
  retireAt: number | null;
  revokedAt: number | null;
  revokeReason: string | null;
  createdAt: number;
}

export interface EnrollmentTokenInfo {
  id: string;
  /** `enroll`: created by an operator; `rotate`: sent to an enrolled device to renew its certificate. */
  kind: 'enroll' | 'rotate';
  productId: string;
  /** Bound device id (the CSR's CN must match), or null: the device chooses its id. */
  deviceId: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
}

export interface IssuedEnrollmentToken extends EnrollmentTokenInfo {
  /** Shown once; stored only as a hash. */
  token: string;
}

export interface ManufacturerCa {
  id: string;
  productId: string;
  subject: string;
  fingerprint: string;
  /** Devices with a certificate from this CA are registered on first connection. */
  autoRegister: boolean;
  certificate: string;
  createdAt: number;
}

export interface EnrollResult {
  deviceId: string;
  certificate: string;
  chain: string[];
  caCertificate: string;
}

export interface CaInfo {
  root: { subject: string; fingerprint: string; notAfter: number; certificate: string };
  issuing: { subject: string; fingerprint: string; notAfter: number; certificate: string };
  /** True when the issuing CA was imported rather than generated. */
  imported: boolean;
}

/** Explicit limits on untrusted certificate input (DESIGN.md §6). */
export const IDENTITY_LIMITS = {
  /** Largest CSR accepted, characters of PEM. */
  csrPemChars: 8192,
  /** Largest manufacturer CA certificate, characters of PEM. */
  caPemChars: 16384,
  /** Smallest RSA modulus accepted in a CSR, bits. */
  minRsaBits: 2048,
} as const;

/** Curves accepted for device keys (node:crypto names). P-256 is the default; P-384 is allowed. */
export const ACCEPTED_CURVES = ['prime256v1', 'secp384r1'] as const;

export interface IdentityOptions {
  /** Lifetime of device certificates, days. */
  certValidityDays: number;
  /** Default lifetime of an enrollment token, hours. */
  enrollTokenTtlHours: number;
  /** How long a rotated-out certificate keeps working, ms: the device needs time to switch. */
  rotationGraceMs: number;
  /** Lifetime of the token sent with a rotation request, ms. */
  rotationTokenTtlMs: number;
}

export const DEFAULT_IDENTITY_OPTIONS: IdentityOptions = {
  certValidityDays: 365,
  enrollTokenTtlHours: 7 * 24,
  rotationGraceMs: 24 * 3_600_000,
  rotationTokenTtlMs: 24 * 3_600_000,
};
