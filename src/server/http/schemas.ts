import { z } from 'zod';

/** Ids in URLs, topics and certificate names: no slashes, wildcards or whitespace. */
export const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const idSchema = z
  .string()
  .regex(ID_RE, 'letters, digits, dot, dash, underscore; up to 128; starts alphanumeric');
export const idParams = z.strictObject({ id: idSchema });

export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(256).optional(),
};

export const epochMs = z.number().int().describe('milliseconds since the Unix epoch');

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next: z.string().nullable() });
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    requestId: z.string(),
  })
  .loose()
  .describe('RFC 9457 problem details');
