import { FleetwardError } from '../../protocol/errors.ts';

/**
 * Why the agent refused or failed an update. Each attack of the TUF threat model maps to one code, so
 * the server's rollout view (and the ledger) says which attack a device refused.
 */
export type UpdateErrorCode =
  /** Freeze attack: metadata past its expiry (TUF 5.4.4, 5.5.6). */
  | 'UPDATE_METADATA_EXPIRED'
  /** Rollback attack: a metadata version older than the trusted one (TUF 5.4.3, 5.5.5). */
  | 'UPDATE_METADATA_ROLLBACK'
  /** Not signed by a threshold of the right keys (compromised single key, wrong product key). */
  | 'UPDATE_METADATA_UNSIGNED'
  /** Anything else the TUF client refused, e.g. mix-and-match (version/hash not what snapshot says). */
  | 'UPDATE_METADATA_REJECTED'
  /** The target is in no metadata its delegation allows (e.g. another product's key signed it). */
  | 'UPDATE_TARGET_UNKNOWN'
  /** Arbitrary software: the artifact's hash or length differs from the signed one. */
  | 'UPDATE_ARTIFACT_MISMATCH'
  /** Endless data: the server sent more bytes than the signed length. */
  | 'UPDATE_ARTIFACT_TOO_LONG'
  | 'UPDATE_DOWNLOAD_FAILED'
  /** Anti-rollback: the signed securityVersion is below the installed one. */
  | 'UPDATE_SECURITY_VERSION_DOWNGRADE'
  /** The command claims something (version, securityVersion) the signed metadata contradicts. */
  | 'UPDATE_COMMAND_MISMATCH'
  | 'UPDATE_TRUST_ROOT_MISSING'
  | 'UPDATE_INSTALL_FAILED'
  | 'UPDATE_HEALTH_CHECK_FAILED'
  | 'UPDATE_BUSY'
  | 'UPDATE_STATE_IO';

export function updateError(
  code: UpdateErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
): FleetwardError<UpdateErrorCode> {
  return new FleetwardError<UpdateErrorCode>(code, message, options);
}
