import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema } from '../http/schemas.ts';
import {
  CONFIDENCES,
  isNumericMetric,
  MITIGATION_KINDS,
  NUMERIC_METRICS,
  type NumericMetric,
  SET_METRICS,
  SEVERITIES,
  TARGET_KINDS,
} from './model.ts';
import { PROFILE_LIMITS } from './profile-rules.ts';
import type { ProfileService } from './profile-service.ts';

const DAY = 86_400_000;
// The refinement makes it a NumericMetric; zod cannot infer a template-literal type from a regex.
const numericMetric = z
  .string()
  .refine(
    isNumericMetric,
    `one of ${NUMERIC_METRICS.join(', ')} or custom:<name>`,
  ) as unknown as z.ZodType<NumericMetric>;
const setMetric = z.enum(SET_METRICS);
const ms = (max: number) => z.number().int().min(0).max(max);
const base = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'lower-case letters, digits, dash'),
  severity: z.enum(SEVERITIES).default('medium'),
  toAlarm: z.number().int().min(1).max(PROFILE_LIMITS.consecutive).default(1),
  toClear: z.number().int().min(1).max(PROFILE_LIMITS.consecutive).default(1),
};

export const behaviourSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('static'),
    metric: numericMetric,
    op: z.enum(['gt', 'gte', 'lt', 'lte']),
    value: z.number(),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('set-membership'),
    metric: setMetric,
    allowed: z.array(z.string().max(128)).max(PROFILE_LIMITS.allowedEntries),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('percentile'),
    metric: numericMetric,
    percentile: z.number().min(50).max(99.9),
    windowMs: ms(PROFILE_LIMITS.windowMs).default(3_600_000),
    factor: z.number().min(0).max(1e6).default(1),
    margin: z.number().min(0).default(0),
    minCohort: z.number().int().min(2).max(1_000_000).default(10),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('new-value'),
    metric: setMetric,
    learningMs: ms(PROFILE_LIMITS.windowMs).default(DAY),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('baseline'),
    metric: numericMetric,
    sensitivity: z.enum(['low', 'medium', 'high']).default('medium'),
    direction: z.enum(['above', 'below']).default('above'),
    minConfidence: z.enum(CONFIDENCES).default('low'),
    trainingMs: ms(PROFILE_LIMITS.windowMs).default(DAY),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('silent'),
    intervalMs: z.number().int().min(1000).max(DAY),
    missed: z.number().int().min(1).max(1000).default(3),
  }),
]);

const targetSchema = z.strictObject({ kind: z.enum(TARGET_KINDS), value: z.string().max(128).default('') });
const profileFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).default(''),
  enabled: z.boolean().default(true),
  targets: z.array(targetSchema).min(1).max(PROFILE_LIMITS.targets),
  behaviours: z.array(behaviourSchema).max(PROFILE_LIMITS.behaviours),
  mitigations: z.array(z.enum(MITIGATION_KINDS)).max(MITIGATION_KINDS.length).default([]),
  notifyUrl: z.url().max(2048).nullable().default(null),
};
const profileBody = z.strictObject({ id: idSchema, ...profileFields });
const profilePatch = z.strictObject({
  name: profileFields.name.optional(),
  description: z.string().max(2000).optional(),
  enabled: z.boolean().optional(),
  targets: profileFields.targets.optional(),
  behaviours: profileFields.behaviours.optional(),
  mitigations: z.array(z.enum(MITIGATION_KINDS)).max(MITIGATION_KINDS.length).optional(),
  notifyUrl: z.url().max(2048).nullable().optional(),
});
const profileSchema = z.object({
  id: z.string(),
  ...profileFields,
  createdAt: epochMs,
  updatedAt: epochMs,
});

export function registerDetectRoutes(app: FleetwardApp, profiles: ProfileService): void {
  const tags = ['security profiles'];
  app.get(
    '/api/v1/security-profiles',
    {
      config: { access: 'read' },
      schema: { tags, response: { 200: z.object({ items: z.array(profileSchema) }) } },
    },
    async () => ({ items: await profiles.list() }),
  );
  app.post(
    '/api/v1/security-profiles',
    {
      config: { access: 'write', action: 'security-profile.create' },
      schema: { tags, body: profileBody, response: { 201: profileSchema } },
    },
    async (req, reply) => reply.status(201).send(await profiles.create(req.body, actionContext(req))),
  );
  app.get(
    '/api/v1/security-profiles/:id',
    { config: { access: 'read' }, schema: { tags, params: idParams, response: { 200: profileSchema } } },
    async (req) => profiles.get(req.params.id),
  );
  app.patch(
    '/api/v1/security-profiles/:id',
    {
      config: { access: 'write', action: 'security-profile.update' },
      schema: { tags, params: idParams, body: profilePatch, response: { 200: profileSchema } },
    },
    async (req) => profiles.update(req.params.id, req.body, actionContext(req)),
  );
  app.delete(
    '/api/v1/security-profiles/:id',
    {
      config: { access: 'write', action: 'security-profile.delete' },
      schema: { tags, params: idParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await profiles.delete(req.params.id, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}
