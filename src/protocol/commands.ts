import { z } from 'zod';
import { FleetwardError } from './errors.ts';
import { wireEpochMs, wireId } from './wire-fields.ts';

/**
 * Commands the cloud sends on `devices/{id}/commands` (QoS 1) and the results a device answers on
 * `devices/{id}/command-results`. A tagged union on `type`; every command carries an `id` the result
 * repeats, and may carry `expiresAt` so a command that waited in a persistent session while the
 * device was offline is not acted on long after it stopped making sense (e.g. a stale rotation token).
 *
 * Versioning follows the report's rule: `v` ≥ 1, unknown fields dropped, new meaning = new field. An
 * unknown `type` is not malformed: the agent answers `unsupported`, so old agents keep working when the
 * server learns new commands.
 */
export const COMMAND_VERSION = 1;

/** Limits on an untrusted command or result (DESIGN.md §6). */
export const COMMAND_LIMITS = {
  /** Largest payload, bytes of UTF-8 JSON. */
  payloadBytes: 8 * 1024,
  /** Command ids, characters. */
  idChars: 64,
  /** Free text (reasons, details), characters. */
  textChars: 256,
  /** One-time tokens, characters. */
  tokenChars: 256,
  /** URLs, characters. */
  urlChars: 2048,
} as const;

const C = COMMAND_LIMITS;
const commandId = wireId(C.idChars);
const epochMs = wireEpochMs;
const text = z.string().max(C.textChars);

const envelope = {
  v: z.number().int().min(1).max(255),
  id: commandId,
  issuedAt: epochMs,
  expiresAt: epochMs.optional(),
};

export const reportNowCommand = z.object({ ...envelope, type: z.literal('report-now') });

export const rotateCredentialsCommand = z.object({
  ...envelope,
  type: z.literal('rotate-credentials'),
  /** One-time enrollment token of kind `rotate`: the device enrolls a fresh key with it. */
  token: z.string().min(1).max(C.tokenChars),
});

export const quarantineNoticeCommand = z.object({
  ...envelope,
  type: z.literal('quarantine-notice'),
  state: z.enum(['quarantined', 'released']),
  reason: text,
});

/**
 * Install a release. Only `metadataUrl` and `target` steer the agent: everything it acts on (hashes,
 * length, securityVersion) comes from the TUF metadata signed for the target, and a command that
 * contradicts the signed facts is refused (update/ on the agent).
 */
export const updateCommand = z.object({
  ...envelope,
  type: z.literal('update'),
  release: z.string().min(1).max(C.idChars),
  version: z.string().min(1).max(64),
  /** Where the device fetches the signed (TUF) metadata naming the image. */
  metadataUrl: z.url().max(C.urlChars),
  /** The TUF target path, `{product}/{file}`. */
  target: z
    .string()
    .max(256)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\/[A-Za-z0-9][A-Za-z0-9._-]*$/)
    .optional(),
  /** What the server believes the release's anti-rollback counter is; the signed value wins. */
  securityVersion: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  /** The rollout this command belongs to: repeated in every update-status report. */
  rollout: z.string().min(1).max(C.idChars).optional(),
  /** What the release fixes (EN 303 645 5.3-8), shown to the device's user. */
  advisory: z
    .object({
      cves: z.array(z.string().max(32)).max(64),
      severity: z.enum(['none', 'low', 'medium', 'high', 'critical']),
    })
    .optional(),
});

export const commandSchema = z
  .discriminatedUnion('type', [reportNowCommand, rotateCredentialsCommand, quarantineNoticeCommand, updateCommand])
  .describe('Fleetward command to a device');

export type Command = z.infer<typeof commandSchema>;
export type CommandType = Command['type'];
export const COMMAND_TYPES = ['report-now', 'rotate-credentials', 'quarantine-notice', 'update'] as const;

export const COMMAND_RESULT_STATUSES = ['ok', 'failed', 'rejected', 'expired', 'unsupported'] as const;

export const commandResultSchema = z
  .object({
    v: z.number().int().min(1).max(255),
    /** The command's id. */
    id: commandId,
    /** The command's type as received (may be one this schema does not know, for `unsupported`). */
    type: z.string().min(1).max(C.idChars),
    status: z.enum(COMMAND_RESULT_STATUSES),
    /** A coded reason on failure, e.g. `ENROLL_FAILED`. */
    code: z
      .string()
      .max(C.idChars)
      .regex(/^[A-Z0-9_]*$/)
      .optional(),
    detail: text.optional(),
    at: epochMs,
  })
  .describe('Fleetward command result from a device');

export type CommandResult = z.infer<typeof commandResultSchema>;

export type CommandErrorCode =
  | 'COMMAND_TOO_LARGE'
  | 'COMMAND_NOT_JSON'
  | 'COMMAND_INVALID'
  | 'COMMAND_UNSUPPORTED'
  | 'COMMAND_RESULT_INVALID';

const fail = (code: CommandErrorCode, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new FleetwardError<CommandErrorCode>(code, message, { details, cause });

function decodeJson(payload: Uint8Array | string, tooLarge: CommandErrorCode, notJson: CommandErrorCode): unknown {
  const size = typeof payload === 'string' ? payload.length : payload.byteLength;
  if (size > C.payloadBytes) throw fail(tooLarge, 'message exceeds the size limit', { limit: C.payloadBytes });
  try {
    const t = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
    if (new TextEncoder().encode(t).byteLength > C.payloadBytes) throw new RangeError('too large');
    return JSON.parse(t);
  } catch (err) {
    if (err instanceof RangeError) throw fail(tooLarge, 'message exceeds the size limit', { limit: C.payloadBytes });
    throw fail(notJson, 'message is not UTF-8 JSON', undefined, err);
  }
}

/**
 * Parses a command from the wire. Throws COMMAND_TOO_LARGE, COMMAND_NOT_JSON, COMMAND_INVALID, and
 * COMMAND_UNSUPPORTED (details: `id`, `type`) for a well-formed envelope of a type this version does not know.
 */
export function parseCommandPayload(payload: Uint8Array | string): Command {
  return parseCommand(decodeJson(payload, 'COMMAND_TOO_LARGE', 'COMMAND_NOT_JSON'));
}

/** See parseCommandPayload. */
export function parseCommand(input: unknown): Command {
  const result = commandSchema.safeParse(input);
  if (result.success) return result.data;
  const head = z.object({ ...envelope, type: z.string().min(1).max(C.idChars) }).safeParse(input);
  if (head.success && !(COMMAND_TYPES as readonly string[]).includes(head.data.type)) {
    throw fail('COMMAND_UNSUPPORTED', 'unknown command type', { id: head.data.id, type: head.data.type });
  }
  const issues = result.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw fail('COMMAND_INVALID', 'command does not match the schema', { issues });
}

/** Parses a device's command result. Throws COMMAND_TOO_LARGE, COMMAND_NOT_JSON, COMMAND_RESULT_INVALID. */
export function parseCommandResultPayload(payload: Uint8Array | string): CommandResult {
  const value = decodeJson(payload, 'COMMAND_TOO_LARGE', 'COMMAND_NOT_JSON');
  const result = commandResultSchema.safeParse(value);
  if (!result.success) throw fail('COMMAND_RESULT_INVALID', 'command result does not match the schema');
  return result.data;
}

/** True when the command carries an expiry that `now` (epoch ms) has passed. */
export function isCommandExpired(cmd: Pick<Command, 'expiresAt'>, now: number): boolean {
  return cmd.expiresAt !== undefined && now > cmd.expiresAt;
}
