import { z } from 'zod';
import { epochMs, idSchema } from '../http/schemas.ts';
import { RELEASE_STATES, SEVERITIES } from './model.ts';

export const versionSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'version: letters, digits, . _ -; up to 64');
export const cveSchema = z.string().regex(/^CVE-\d{4}-\d{4,7}$/, 'CVE-YYYY-NNNN');
export const advisorySchema = z.object({ cves: z.array(z.string()), severity: z.enum(SEVERITIES) });
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits');

export const publicKeySchema = z.strictObject({
  keytype: z.literal('ed25519'),
  scheme: z.literal('ed25519'),
  keyval: z.strictObject({ public: z.string().regex(/^[0-9a-f]{64}$/) }),
});

export const releaseSchema = z.object({
  id: z.string(),
  productId: z.string(),
  version: z.string(),
  securityVersion: z.number().int(),
  notes: z.string(),
  advisory: advisorySchema,
  minSafetyScore: z.number().int().nullable(),
  safetyScore: z.number().int().nullable(),
  targetPath: z.string(),
  sha256: z.string(),
  length: z.number().int(),
  state: z.enum(RELEASE_STATES),
  createdAt: epochMs,
  createdBy: z.string(),
});

export const releaseBody = z.strictObject({
  productId: idSchema,
  version: versionSchema,
  securityVersion: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
  sha256: sha256Schema,
  notes: z.string().max(20_000).optional(),
  advisory: z
    .strictObject({
      cves: z.array(cveSchema).max(200).default([]),
      severity: z.enum(SEVERITIES).default('none'),
    })
    .optional(),
  minSafetyScore: z.number().int().min(1).max(100).nullable().optional(),
});

export const publishResultSchema = z.object({
  published: z.array(z.string()),
  pending: z.array(z.object({ role: z.string(), have: z.number().int(), need: z.number().int() })),
});
