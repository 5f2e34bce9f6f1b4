import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema, pageOf, pageQuery } from '../http/schemas.ts';
import type { RolloutDevice } from './model.ts';
import { DEVICE_UPDATE_STATES, ROLLOUT_STATUSES } from './model.ts';
import { PROGRESS_PAGE, type RolloutService } from './rollouts.ts';
import { advisorySchema } from './schemas.ts';

const tagSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._=-]{0,63}$/);
const targetSchema = z.object({
  productId: z.string(),
  group: z.string().optional(),
  tags: z.array(z.string()).optional(),
  deviceIds: z.array(z.string()).optional(),
});
const rolloutSchema = z.object({
  id: z.string(),
  releaseId: z.string(),
  target: targetSchema,
  phases: z.array(z.number().int()),
  soakMs: z.number().int(),
  maxFailurePct: z.number(),
  minFinished: z.number().int(),
  autoRollback: z.boolean(),
  status: z.enum(ROLLOUT_STATUSES),
  phase: z.number().int(),
  phaseStartedAt: epochMs,
  phaseFinishedAt: epochMs.nullable(),
  reason: z.string().nullable(),
  previousReleaseId: z.string().nullable(),
  createdAt: epochMs,
  updatedAt: epochMs,
  createdBy: z.string(),
});
const progressSchema = z.object({
  rollout: rolloutSchema,
  release: z.object({
    id: z.string(),
    version: z.string(),
    securityVersion: z.number().int(),
    advisory: advisorySchema,
  }),
  total: z.number().int(),
  counts: z.record(z.enum(DEVICE_UPDATE_STATES), z.number().int()),
  phases: z.array(
    z.object({
      phase: z.number().int(),
      percent: z.number().int(),
      devices: z.number().int(),
      finished: z.number().int(),
      succeeded: z.number().int(),
      failed: z.number().int(),
    }),
  ),
  failures: z.array(z.object({ deviceId: z.string(), state: z.string(), reason: z.string().nullable() })),
  devices: z.array(
    z.object({
      deviceId: z.string(),
      ordinal: z.number().int(),
      phase: z.number().int(),
      state: z.string(),
      reason: z.string().nullable(),
    }),
  ),
  nextDevices: z.number().int().nullable(),
});
const createBody = z.strictObject({
  releaseId: idSchema,
  target: z
    .strictObject({
      productId: idSchema.optional(),
      group: z.string().max(128).optional(),
      tags: z.array(tagSchema).max(8).optional(),
      deviceIds: z.array(idSchema).max(10_000).optional(),
    })
    .optional(),
  phases: z.array(z.number().int().min(1).max(100)).min(1).max(20).optional(),
  soakSeconds: z
    .number()
    .int()
    .min(0)
    .max(30 * 24 * 3600)
    .optional(),
  maxFailurePct: z.number().min(0).max(100).optional(),
  minFinished: z.number().int().min(1).max(1_000_000).optional(),
  autoRollback: z.boolean().optional(),
});

export function registerRolloutRoutes(app: FleetwardApp, rollouts: RolloutService): void {
  const tags = ['rollouts'];
  app.post(
    '/api/v1/rollouts',
    {
      config: { access: 'write', action: 'rollout.create' },
      schema: { tags, body: createBody, response: { 201: rolloutSchema } },
    },
    async (req, reply) => {
      const { soakSeconds, ...rest } = req.body;
      const r = await rollouts.create(
        { ...rest, soakMs: soakSeconds === undefined ? undefined : soakSeconds * 1000 },
        actionContext(req),
      );
      return reply.status(201).send(r);
    },
  );
  app.get(
    '/api/v1/rollouts',
    {
      config: { access: 'read' },
      schema: {
        tags,
        querystring: z.strictObject({
          ...pageQuery,
          status: z.enum(ROLLOUT_STATUSES).optional(),
          product: idSchema.optional(),
        }),
        response: { 200: pageOf(rolloutSchema) },
      },
    },
    async (req) =>
      rollouts.list(
        {
          ...(req.query.status ? { status: [req.query.status] } : {}),
          ...(req.query.product ? { productId: req.query.product } : {}),
        },
        req.query.after,
        req.query.limit,
      ),
  );
  app.get(
    '/api/v1/rollouts/:id',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Progress per phase and state, and why devices failed',
        params: idParams,
        // Counts always; devices one bounded page at a time (?after=<nextDevices>&limit=…).
        querystring: z.strictObject({
          after: z.coerce.number().int().min(-1).optional(),
          limit: z.coerce.number().int().min(1).max(PROGRESS_PAGE).optional(),
        }),
        response: { 200: progressSchema },
      },
    },
    async (req) => {
      const p = await rollouts.progress(req.params.id, req.query);
      const brief = (d: RolloutDevice) => ({
        deviceId: d.deviceId,
        ordinal: d.ordinal,
        phase: d.phase,
        state: d.state,
        reason: d.reason,
      });
      return { ...p, devices: p.devices.map(brief), failures: p.failures.map(brief) };
    },
  );
  for (const verb of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/api/v1/rollouts/:id/${verb}`,
      {
        config: { access: 'write', action: `rollout.${verb}` },
        schema: { tags, params: idParams, response: { 200: rolloutSchema } },
      },
      async (req) => rollouts[verb](req.params.id, actionContext(req)),
    );
  }
}
