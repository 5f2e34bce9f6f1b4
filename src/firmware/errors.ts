import { FleetwardError } from '../protocol/errors.ts';

/** Every failure the firmware analyzer reports. Callers branch on these codes, never on messages. */
export type FirmwareErrorCode =
  | 'ELF_BAD_MAGIC'
  | 'ELF_TRUNCATED'
  | 'ELF_UNSUPPORTED'
  | 'ELF_LIMIT'
  | 'ARCHIVE_LIMIT'
  | 'ARCHIVE_CORRUPT'
  | 'PATH_NOT_FOUND'
  | 'TOOL_MISSING'
  | 'TOOL_FAILED'
  | 'OSV_INVALID'
  | 'REPORT_INVALID';

export type FirmwareError = FleetwardError<FirmwareErrorCode>;

/** Builds a coded error; `details` must never carry file contents or secrets. */
export function firmwareError(
  code: FirmwareErrorCode,
  message: string,
  options?: { cause?: unknown; details?: Record<string, unknown> },
): FirmwareError {
  return new FleetwardError<FirmwareErrorCode>(code, message, options);
}
