import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema } from '../http/schemas.ts';
import type { EmergencyService } from './emergency-service.ts';
import type { MitigationService } from './mitigation-service.ts';
import { EMERGENCY_KINDS, MITIGATION_ACTIONS } from './model.ts';

const mitigationSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  action: z.enum(MITIGATION_ACTIONS),
  alarmId: z.string().nullable(),
  actor: z.string(),
  state: z.enum(['applied', 'failed']),
  details: z.record(z.string(), z.unknown()),
  createdAt: epochMs,
});
const emergencySchema = z.object({
  id: z.string(),
  kind: z.enum(EMERGENCY_KINDS),
  target: z.string(),
  reason: z.string(),
  state: z.enum(['pending', 'executed', 'failed', 'rejected', 'expired']),
  requestedBy: z.string(),
  requestedAt: epochMs,
  expiresAt: epochMs,
  decidedBy: z.string().nullable(),
  decidedAt: epochMs.nullable(),
  result: z.record(z.string(), z.unknown()).nullable(),
});
const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });

/** Revocation by an operator is identity's `POST /api/v1/devices/:id/revoke`; the automatic one runs here. */
export function registerMitigationRoutes(app: FleetwardApp, mitigations: MitigationService): void {
  const tags = ['mitigations'];
  const post = (
    verb: 'quarantine' | 'release-quarantine' | 'force-update',
    action: string,
    run: (id: string, reason: string, ctx: ReturnType<typeof actionContext>) => Promise<unknown>,
  ) =>
    app.post(
      `/api/v1/devices/:id/${verb}`,
      {
        config: { access: 'write', action },
        schema: { tags, params: idParams, body: reasonBody, response: { 200: mitigationSchema } },
      },
      async (req) =>
        run(req.params.id, req.body.reason, actionContext(req)) as Promise<z.infer<typeof mitigationSchema>>,
    );
  post('quarantine', 'mitigation.quarantine', (id, reason, ctx) => mitigations.quarantine(id, reason, ctx));
  post('release-quarantine', 'mitigation.release-quarantine', (id, reason, ctx) =>
    mitigations.releaseQuarantine(id, reason, ctx),
  );
  post('force-update', 'mitigation.force-update', (id, reason, ctx) => mitigations.forceUpdate(id, reason, ctx));
  app.get(
    '/api/v1/devices/:id/mitigations',
    {
      config: { access: 'read' },
      schema: { tags, params: idParams, response: { 200: z.object({ items: z.array(mitigationSchema) }) } },
    },
    async (req) => ({ items: await mitigations.list(req.params.id) }),
  );
}

export function registerEmergencyRoutes(app: FleetwardApp, emergencies: EmergencyService): void {
  const tags = ['emergency actions'];
  app.get(
    '/api/v1/emergency-actions',
    { config: { access: 'read' }, schema: { tags, response: { 200: z.object({ items: z.array(emergencySchema) }) } } },
    async () => ({ items: await emergencies.list() }),
  );
  app.post(
    '/api/v1/emergency-actions',
    {
      config: { access: 'admin', action: 'emergency.request' },
      schema: {
        tags,
        summary: 'Request a fleet-wide emergency action; a different admin must approve it within an hour',
        body: z.strictObject({
          kind: z.enum(EMERGENCY_KINDS),
          target: idSchema,
          reason: z.string().trim().min(1).max(500),
        }),
        response: { 201: emergencySchema },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await emergencies.request(req.body.kind, req.body.target, req.body.reason, actionContext(req))),
  );
  app.get(
    '/api/v1/emergency-actions/:id',
    { config: { access: 'read' }, schema: { tags, params: idParams, response: { 200: emergencySchema } } },
    async (req) => emergencies.get(req.params.id),
  );
  app.post(
    '/api/v1/emergency-actions/:id/approve',
    {
      config: { access: 'admin', action: 'emergency.approve' },
      schema: { tags, params: idParams, response: { 200: emergencySchema } },
    },
    async (req) => emergencies.approve(req.params.id, actionContext(req)),
  );
  app.post(
    '/api/v1/emergency-actions/:id/reject',
    {
      config: { access: 'admin', action: 'emergency.reject' },
      schema: { tags, params: idParams, response: { 200: emergencySchema } },
    },
    async (req) => emergencies.reject(req.params.id, actionContext(req)),
  );
}
