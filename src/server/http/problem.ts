import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { FleetwardError } from '../../protocol/errors.ts';
import type { AccessErrorCode } from '../access/index.ts';
import type { AssessmentErrorCode } from '../assessment/index.ts';
import type { DetectErrorCode } from '../detect/index.ts';
import type { IdentityErrorCode } from '../identity/index.ts';
import type { RegistryErrorCode } from '../registry/index.ts';
import type { RespondErrorCode } from '../respond/index.ts';
import type { UpdatesErrorCode } from '../updates/index.ts';

/** Every coded error the API can return. Adding a code to a module's union without a row here fails type-checking. */
export type ApiErrorCode =
  | AccessErrorCode
  | RegistryErrorCode
  | IdentityErrorCode
  | AssessmentErrorCode
  | DetectErrorCode
  | RespondErrorCode
  | UpdatesErrorCode
  | 'VALIDATION_FAILED'
  | 'INVALID_JSON'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'RATE_LIMITED'
  | 'INTERNAL';

/** The HTTP edge's one table: code → status and a stable title (RFC 9457). */
const TABLE: Record<ApiErrorCode, { status: number; title: string }> = {
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  BOOTSTRAP_CLOSED: { status: 409, title: 'Bootstrap is closed' },
  OPERATOR_NOT_FOUND: { status: 404, title: 'Operator not found' },
  OPERATOR_NAME_TAKEN: { status: 409, title: 'Operator name taken' },
  LAST_ADMIN: { status: 409, title: 'Last admin' },
  TOKEN_NOT_FOUND: { status: 404, title: 'Token not found' },
  PRODUCT_NOT_FOUND: { status: 404, title: 'Product not found' },
  PRODUCT_EXISTS: { status: 409, title: 'Product exists' },
  PRODUCT_IN_USE: { status: 409, title: 'Product in use' },
  DEVICE_NOT_FOUND: { status: 404, title: 'Device not found' },
  DEVICE_EXISTS: { status: 409, title: 'Device exists' },
  CA_KEY_UNREADABLE: { status: 500, title: 'CA key unreadable' },
  CA_INVALID: { status: 400, title: 'CA invalid' },
  MASTER_KEY_INVALID: { status: 500, title: 'Master key invalid' },
  CSR_INVALID: { status: 400, title: 'CSR invalid' },
  CSR_WEAK_KEY: { status: 400, title: 'CSR key too weak' },
  CSR_SUBJECT_MISMATCH: { status: 400, title: 'CSR subject does not match the token' },
  ENROLL_TOKEN_INVALID: { status: 401, title: 'Enrollment token invalid' },
  ENROLL_TOKEN_EXPIRED: { status: 401, title: 'Enrollment token expired' },
  ENROLL_TOKEN_USED: { status: 409, title: 'Enrollment token already used' },
  ENROLL_TOKEN_NOT_FOUND: { status: 404, title: 'Enrollment token not found' },
  ENROLL_DEVICE_CONFLICT: { status: 409, title: 'Device id taken' },
  DEVICE_NOT_ENROLLABLE: { status: 409, title: 'Device not enrollable' },
  DEVICE_AUTH_REFUSED: { status: 403, title: 'Device refused' },
  CERTIFICATE_NOT_FOUND: { status: 404, title: 'Certificate not found' },
  MANUFACTURER_CA_INVALID: { status: 400, title: 'Manufacturer CA invalid' },
  MANUFACTURER_CA_EXISTS: { status: 409, title: 'Manufacturer CA exists' },
  MANUFACTURER_CA_NOT_FOUND: { status: 404, title: 'Manufacturer CA not found' },
  ANALYSIS_NOT_FOUND: { status: 404, title: 'Analysis not found' },
  FEED_INVALID: { status: 400, title: 'Vulnerability feed invalid' },
  ARTIFACT_TOO_LARGE: { status: 413, title: 'Artifact too large' },
  ARTIFACT_EMPTY: { status: 400, title: 'Artifact empty' },
  VALIDATION_FAILED: { status: 400, title: 'Validation failed' },
  INVALID_JSON: { status: 400, title: 'Invalid JSON' },
  BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  TUF_NOT_INITIALIZED: { status: 503, title: 'TUF repository not initialized' },
  TUF_FILE_NOT_FOUND: { status: 404, title: 'TUF file not found' },
  TUF_KEY_OFFLINE: { status: 409, title: 'Key is offline' },
  TUF_KEY_INVALID: { status: 400, title: 'Key invalid' },
  TUF_KEY_FILE_INVALID: { status: 400, title: 'Key file invalid' },
  TUF_PASSPHRASE_WRONG: { status: 400, title: 'Passphrase wrong' },
  TUF_METADATA_INVALID: { status: 400, title: 'TUF metadata invalid' },
  TUF_SIGNATURE_THRESHOLD: { status: 409, title: 'Signature threshold not met' },
  TUF_VERSION_NOT_NEWER: { status: 409, title: 'Metadata version not newer' },
  TUF_DRAFT_NOT_FOUND: { status: 404, title: 'No draft awaits signatures' },
  TUF_ROLE_UNKNOWN: { status: 404, title: 'TUF role unknown' },
  TUF_ROLE_NAME_RESERVED: { status: 409, title: 'TUF role name reserved' },
  TUF_DELEGATION_EXISTS: { status: 409, title: 'Delegation exists' },
  TUF_DELEGATION_MISSING: { status: 409, title: 'Delegation missing' },
  TUF_TARGET_OUTSIDE_DELEGATION: { status: 409, title: 'Target outside delegation' },
  ARTIFACT_NOT_FOUND: { status: 404, title: 'Artifact not found' },
  UPLOAD_TOO_LARGE: { status: 413, title: 'Upload too large' },
  UPLOAD_EMPTY: { status: 400, title: 'Upload empty' },
  RELEASE_NOT_FOUND: { status: 404, title: 'Release not found' },
  RELEASE_EXISTS: { status: 409, title: 'Release exists' },
  RELEASE_SECURITY_VERSION_NOT_INCREASING: { status: 409, title: 'Security version not increasing' },
  RELEASE_NOT_PUBLISHED: { status: 409, title: 'Release not published' },
  RELEASE_GATE_FAILED: { status: 409, title: 'Release gate failed' },
  ROLLOUT_NOT_FOUND: { status: 404, title: 'Rollout not found' },
  ROLLOUT_STATE_CONFLICT: { status: 409, title: 'Rollout state conflict' },
  ROLLOUT_NO_DEVICES: { status: 409, title: 'No devices match the rollout' },
  ROLLOUT_INVALID: { status: 400, title: 'Rollout invalid' },
  PROFILE_NOT_FOUND: { status: 404, title: 'Security profile not found' },
  PROFILE_EXISTS: { status: 409, title: 'Security profile exists' },
  PROFILE_INVALID: { status: 400, title: 'Security profile invalid' },
  ALARM_NOT_FOUND: { status: 404, title: 'Alarm not found' },
  ALARM_STATE_CONFLICT: { status: 409, title: 'Alarm state conflict' },
  MITIGATION_UNAVAILABLE: { status: 501, title: 'Mitigation not available' },
  MITIGATION_FAILED: { status: 409, title: 'Mitigation failed' },
  EMERGENCY_NOT_FOUND: { status: 404, title: 'Emergency action not found' },
  EMERGENCY_SAME_ADMIN: { status: 403, title: 'A different admin must approve' },
  EMERGENCY_NOT_PENDING: { status: 409, title: 'Emergency action not pending' },
  EMERGENCY_EXPIRED: { status: 409, title: 'Emergency action expired' },
  STREAM_NOT_ACCEPTABLE: { status: 406, title: 'Not acceptable' },
  INTERNAL: { status: 500, title: 'Internal error' },
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ApiErrorCode;
  requestId: string;
  errors?: Array<{ path: string; message: string }>;
  [extra: string]: unknown;
}

export function problemType(code: ApiErrorCode): string {
  return `urn:fleetward:problem:${code.toLowerCase().replaceAll('_', '-')}`;
}

export function makeProblem(code: ApiErrorCode, detail: string, instance: string, requestId: string): Problem {
  const row = TABLE[code];
  return { type: problemType(code), title: row.title, status: row.status, detail, instance, code, requestId };
}

/** Maps any thrown value to a problem. Unknown errors become INTERNAL with no detail: the log has it. */
export function toProblem(err: unknown, instance: string, requestId: string): Problem {
  if (err instanceof FleetwardError && err.code in TABLE) {
    const code = err.code as ApiErrorCode;
    // Authentication failures say only "unauthorized" (DESIGN.md §3).
    const detail = code === 'UNAUTHORIZED' ? 'unauthorized' : err.message;
    const p = makeProblem(code, detail, instance, requestId);
    return code === 'UNAUTHORIZED' || !err.details ? p : { ...err.details, ...p };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    const p = makeProblem('VALIDATION_FAILED', 'the request does not match the schema', instance, requestId);
    p.errors = err.validation.map((v) => ({
      path: `${err.validationContext ?? 'body'}${v.instancePath.replaceAll('/', '.')}`,
      message: v.message ?? 'invalid',
    }));
    return p;
  }
  const fe = err as Partial<FastifyError>;
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return makeProblem('INVALID_JSON', 'the body is not valid JSON', instance, requestId);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return makeProblem('BODY_TOO_LARGE', 'the body exceeds the size limit', instance, requestId);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return makeProblem('UNSUPPORTED_MEDIA_TYPE', 'send application/json', instance, requestId);
  }
  if (err instanceof SyntaxError && fe.statusCode === 400) {
    return makeProblem('INVALID_JSON', 'the body is not valid JSON', instance, requestId);
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const p = makeProblem('VALIDATION_FAILED', fe.message ?? 'bad request', instance, requestId);
    return { ...p, status: fe.statusCode, title: 'Bad request' };
  }
  return makeProblem('INTERNAL', 'internal error; quote the request id', instance, requestId);
}
