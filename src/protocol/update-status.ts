import { z } from 'zod';
import { FleetwardError } from './errors.ts';
import { wireId } from './wire-fields.ts';

/**
 * What a device reports on `devices/{id}/update-status` while it handles an `update` command: every
 * state, and for `failed` the coded reason (e.g. UPDATE_ARTIFACT_MISMATCH when it refused tampered
 * firmware). The server's rollout engine counts these toward phase completion and abort criteria.
 */
export const UPDATE_STATES = [
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolled-back',
] as const;
export type UpdateState = (typeof UPDATE_STATES)[number];

export const UPDATE_STATUS_LIMITS = {
  /** bytes of UTF-8 JSON */
  payloadBytes: 4 * 1024,
  idChars: 64,
  textChars: 256,
} as const;

const L = UPDATE_STATUS_LIMITS;
const id = wireId(L.idChars);

export const updateStatusSchema = z.object({
  v: z.number().int().min(1).max(255),
  /** The command id this answers. */
  command: id.optional(),
  rollout: id.optional(),
  release: id,
  state: z.enum(UPDATE_STATES),
  code: z
    .string()
    .max(L.idChars)
    .regex(/^[A-Z0-9_]+$/)
    .optional(),
  detail: z.string().max(L.textChars).optional(),
  /** The security version now installed (after succeeded / rolled-back). */
  securityVersion: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .optional(),
  /** Download progress, bytes. */
  received: z.number().int().min(0).optional(),
  total: z.number().int().min(0).optional(),
  at: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

export type UpdateStatus = z.infer<typeof updateStatusSchema>;
export type UpdateStatusErrorCode = 'UPDATE_STATUS_INVALID';

/** Parses an update-status message from a device. Throws UPDATE_STATUS_INVALID. */
export function parseUpdateStatus(payload: Uint8Array | string): UpdateStatus {
  const size = typeof payload === 'string' ? payload.length * 3 : payload.byteLength;
  const fail = (message: string, cause?: unknown) =>
    new FleetwardError<UpdateStatusErrorCode>('UPDATE_STATUS_INVALID', message, { cause });
  if (size > L.payloadBytes * 3 || (typeof payload !== 'string' && size > L.payloadBytes)) {
    throw fail('update status exceeds the size limit');
  }
  let value: unknown;
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
    if (new TextEncoder().encode(text).byteLength > L.payloadBytes) throw new RangeError('too large');
    value = JSON.parse(text);
  } catch (err) {
    throw fail('update status is not UTF-8 JSON within the size limit', err);
  }
  const r = updateStatusSchema.safeParse(value);
  if (!r.success) throw fail('update status does not match the schema');
  return r.data;
}
