export type { KeyFile, SigningKey } from './keys.ts';
export { decryptKeyFile, encryptKeyFile, generateSigningKey, MAX_KEY_FILE_BYTES, signerFor } from './keys.ts';
export type { ArtifactScorer, KeySealer, Release, Rollout, TufPublicKey, UpdatesErrorCode } from './model.ts';
export { DEFAULT_EXPIRY } from './model.ts';
export { registerRolloutRoutes } from './rollout-routes.ts';
export { registerReleaseRoutes, registerTufAdminRoutes } from './routes.ts';
export { UpdatesService } from './service.ts';
export { parseMetadata, serialize } from './tuf-metadata.ts';
export { registerTufRoutes } from './tuf-routes.ts';
