import { z } from 'zod';
import { FleetwardError } from '../../protocol/errors.ts';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idSchema } from '../http/schemas.ts';
import { ROLES } from './model.ts';
import type { AccessService } from './service.ts';

const nameSchema = z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/, 'lower-case letters, digits, . _ @ -; up to 64');
const operatorSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(ROLES),
  createdAt: epochMs,
  disabledAt: epochMs.nullable(),
});
const tokenInfoSchema = z.object({
  id: z.string(),
  operatorId: z.string(),
  name: z.string(),
  createdAt: epochMs,
  expiresAt: epochMs,
  lastUsedAt: epochMs.nullable(),
  revokedAt: epochMs.nullable(),
});
const issuedSchema = tokenInfoSchema.extend({ token: z.string().describe('shown once; store it now') });
const tokenRequest = z.strictObject({
  name: z.string().min(1).max(100),
  ttlDays: z.number().int().min(1).max(365).optional(),
});

export function registerAccessRoutes(app: FleetwardApp, access: AccessService): void {
  app.post(
    '/api/v1/bootstrap',
    {
      config: { access: 'public', action: 'operator.bootstrap' },
      schema: {
        tags: ['operators'],
        summary: 'Create the first admin with the one-time bootstrap token',
        body: z.strictObject({ bootstrapToken: z.string().min(1).max(512), name: nameSchema }),
        response: { 201: z.object({ operator: operatorSchema, token: issuedSchema }) },
      },
    },
    async (req, reply) => {
      const result = await access.bootstrap(req.body.bootstrapToken, req.body.name, actionContext(req));
      return reply.status(201).send(result);
    },
  );

  app.get(
    '/api/v1/whoami',
    { config: { access: 'self' }, schema: { tags: ['operators'], response: { 200: operatorSchema } } },
    async (req) => access.getOperator(req.principal!.operatorId),
  );

  app.get(
    '/api/v1/operators',
    {
      config: { access: 'admin' },
      schema: { tags: ['operators'], response: { 200: z.object({ items: z.array(operatorSchema) }) } },
    },
    async () => ({ items: await access.listOperators() }),
  );

  app.post(
    '/api/v1/operators',
    {
      config: { access: 'admin', action: 'operator.create' },
      schema: {
        tags: ['operators'],
        body: z.strictObject({ name: nameSchema, role: z.enum(ROLES) }),
        response: { 201: operatorSchema },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await access.createOperator(req.body.name, req.body.role, actionContext(req))),
  );

  app.patch(
    '/api/v1/operators/:id',
    {
      config: { access: 'admin', action: 'operator.update' },
      schema: {
        tags: ['operators'],
        params: z.strictObject({ id: idSchema }),
        body: z.strictObject({ role: z.enum(ROLES).optional(), disabled: z.boolean().optional() }),
        response: { 200: operatorSchema },
      },
    },
    async (req) => access.updateOperator(req.params.id, req.body, actionContext(req)),
  );

  app.post(
    '/api/v1/operators/:id/tokens',
    {
      config: { access: 'admin', action: 'token.create' },
      schema: {
        tags: ['operators'],
        summary: 'Issue a token for another operator (hand it over out of band)',
        params: z.strictObject({ id: idSchema }),
        body: tokenRequest,
        response: { 201: issuedSchema },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await access.issueToken(req.params.id, req.body.name, req.body.ttlDays, actionContext(req))),
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'self' },
      schema: {
        tags: ['operators'],
        summary: 'Your tokens (admins: add ?all=true for everyone’s)',
        querystring: z.strictObject({ all: z.enum(['true', 'false']).optional() }),
        response: { 200: z.object({ items: z.array(tokenInfoSchema) }) },
      },
    },
    async (req) => {
      const all = req.query.all === 'true';
      if (all && req.principal!.role !== 'admin') throw new FleetwardError('FORBIDDEN', 'only admins list all tokens');
      return { items: await access.listTokens(all ? undefined : req.principal!.operatorId) };
    },
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { access: 'self', action: 'token.create' },
      schema: {
        tags: ['operators'],
        summary: 'Issue yourself a new token',
        body: tokenRequest,
        response: { 201: issuedSchema },
      },
    },
    async (req, reply) =>
      reply
        .status(201)
        .send(await access.issueToken(req.principal!.operatorId, req.body.name, req.body.ttlDays, actionContext(req))),
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { access: 'self', action: 'token.revoke' },
      schema: { tags: ['operators'], params: z.strictObject({ id: idSchema }), response: { 204: z.null() } },
    },
    async (req, reply) => {
      await access.revokeToken(req.params.id, req.principal!, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}
