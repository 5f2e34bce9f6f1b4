import { z } from 'zod';
import { COMMAND_RESULT_STATUSES } from '../../protocol/commands.ts';
import { reportSchema } from '../../protocol/report.ts';
import type { FleetwardApp } from '../http/app.types.ts';
import { epochMs, idParams, pageOf } from '../http/schemas.ts';
import type { CommandResultsService } from './command-results.ts';
import type { TelemetryService } from './service.ts';

const storedReportSchema = z.object({
  id: z.number().int(),
  deviceId: z.string(),
  deviceTime: epochMs,
  receivedAt: epochMs,
  report: reportSchema,
});

const reportsQuery = z.strictObject({
  since: z.coerce.number().int().min(0).optional().describe('received at or after, epoch ms'),
  after: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .describe('cursor from the previous page'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

const statsSchema = z.object({
  storedReports: z.number().int(),
  sinceStart: z.object({
    stored: z.number().int(),
    duplicates: z.number().int(),
    rejected: z.number().int(),
    batches: z.number().int(),
    largestBatch: z.number().int(),
    storeFailures: z.number().int(),
  }),
  malformed: z.array(
    z.object({ deviceId: z.string(), count: z.number().int(), lastCode: z.string(), lastAt: epochMs }),
  ),
});

const commandResultSchema = z.object({
  deviceId: z.string(),
  id: z.string(),
  type: z.string(),
  status: z.enum(COMMAND_RESULT_STATUSES),
  code: z.string().nullable(),
  detail: z.string().nullable(),
  at: epochMs.describe('device time'),
  receivedAt: epochMs,
});

export function registerTelemetryRoutes(
  app: FleetwardApp,
  telemetry: TelemetryService,
  commandResults: CommandResultsService,
): void {
  const tags = ['telemetry'];
  app.get(
    '/api/v1/devices/:id/command-results',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'What the device answered to its commands, newest first',
        params: idParams,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
        response: { 200: z.object({ items: z.array(commandResultSchema) }) },
      },
    },
    async (req) => ({ items: await commandResults.list(req.params.id, req.query.limit) }),
  );
  app.get(
    '/api/v1/devices/:id/reports',
    {
      config: { access: 'read' },
      schema: { tags, params: idParams, querystring: reportsQuery, response: { 200: pageOf(storedReportSchema) } },
    },
    async (req) =>
      telemetry.listReports(req.params.id, {
        since: req.query.since,
        after: req.query.after === undefined ? undefined : Number(req.query.after),
        limit: req.query.limit,
      }),
  );
  app.get(
    '/api/v1/telemetry/stats',
    { config: { access: 'read' }, schema: { tags, response: { 200: statsSchema } } },
    async () => telemetry.stats(),
  );
}
