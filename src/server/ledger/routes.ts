import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { epochMs } from '../http/schemas.ts';
import type { LedgerService } from './service.ts';

const entrySchema = z.object({
  seq: z.number().int(),
  at: epochMs,
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable(),
  source: z.string().nullable(),
  result: z.enum(['ok', 'rejected', 'denied', 'failed']),
  details: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export function registerLedgerRoutes(app: FleetwardApp, ledger: LedgerService): void {
  app.get(
    '/api/v1/ledger',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ledger'],
        summary: 'Ledger entries, newest first',
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          before: z.coerce.number().int().min(1).optional(),
          target: z.string().max(300).optional(),
          action: z.string().max(100).optional(),
          actor: z.string().max(300).optional(),
        }),
        response: { 200: z.object({ items: z.array(entrySchema) }) },
      },
    },
    async (req) => ({ items: await ledger.list(req.query) }),
  );
  app.get(
    '/api/v1/ledger/verify',
    {
      config: { access: 'read' },
      schema: {
        tags: ['ledger'],
        summary: 'Walk the hash chain; name the first entry altered or removed',
        response: {
          200: z.object({
            ok: z.boolean(),
            checked: z.number().int(),
            firstBad: z.object({ seq: z.number().int(), problem: z.enum(['altered', 'removed']) }).optional(),
          }),
        },
      },
    },
    async () => ledger.verify(),
  );
}
