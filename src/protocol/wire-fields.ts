import { z } from 'zod';

/**
 * Field shapes every device message shares (commands, command results, update status), so one rule
 * decides what an id or a timestamp on the wire may be.
 */

/** An id on the wire (command, release, rollout): letters, digits, `.`, `_`, `-`; at most `maxChars`. */
export function wireId(maxChars: number) {
  return z
    .string()
    .min(1)
    .max(maxChars)
    .regex(/^[A-Za-z0-9._-]+$/);
}

/** Milliseconds since the Unix epoch. */
export const wireEpochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
