import { randomUUID } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import Fastify, { type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { FleetwardError } from '../../protocol/errors.ts';
import { type AccessService, roleAllows } from '../access/index.ts';
import type { LedgerResult, LedgerService } from '../ledger/index.ts';
import type { FleetwardApp } from './app.types.ts';
import type { Metrics } from './metrics.ts';
import { makeProblem, type Problem, toProblem } from './problem.ts';
import { ID_RE } from './schemas.ts';

export interface HttpDeps {
  logger: Logger;
  access: AccessService;
  ledger: LedgerService;
  metrics: Metrics;
  /** Largest accepted request body, bytes. */
  bodyLimit: number;
  /** Serve HTTPS with this certificate chain and key (TLS 1.2+), instead of plain HTTP. */
  https?: { cert: string; key: string } | undefined;
  version: string;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface RouteInfo {
  method: string;
  url: string;
  access: string;
  action: string | undefined;
}
const ROUTES = new WeakMap<object, RouteInfo[]>();

/** Every route registered on `app`, with its declared access: the authorization matrix test walks this. */
export function listRoutes(app: FleetwardApp): RouteInfo[] {
  return [...(ROUTES.get(app) ?? [])];
}

/** Builds the Fastify app with authentication, the problem+json error table and OpenAPI; routes are added by the caller. */
export async function createHttpApp(deps: HttpDeps): Promise<FleetwardApp> {
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.bodyLimit,
    genReqId: () => randomUUID(),
    // Per-request lines would log every device poll; errors and metrics say what matters.
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true },
    ...(deps.https ? { https: { ...deps.https, minVersion: 'TLSv1.2' as const } } : {}),
  }).withTypeProvider() as unknown as FleetwardApp;
  ROUTES.set(app, []);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // Only JSON is spoken; anything else is a 415, not a string a schema then half-accepts.
  app.removeContentTypeParser('text/plain');
  app.decorateRequest('principal', null);
  app.decorateRequest('stillAuthorized', async function (this: FastifyRequest) {
    try {
      await authenticate(this, deps.access);
      return true;
    } catch {
      return false;
    }
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Fleetward API', version: deps.version, description: 'Security control plane for IoT fleets' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  app.addHook('onRoute', (route) => {
    const cfg = route.config as { access?: string; action?: string } | undefined;
    if (!cfg?.access) throw new Error(`route ${route.method} ${route.url} declares no access level`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((m) => STATE_CHANGING.has(m)) && !cfg.action) {
      throw new Error(`state-changing route ${route.url} declares no ledger action`);
    }
    if (cfg.access === 'public') route.schema = { ...route.schema, security: [] };
    for (const method of methods) {
      if (method !== 'HEAD') ROUTES.get(app)?.push({ method, url: route.url, access: cfg.access, action: cfg.action });
    }
  });

  app.addHook('onRequest', async (req) => authenticate(req, deps.access));
  // Graceful shutdown: requests in flight finish, and their keep-alive connections then close instead
  // of holding the process open until the keep-alive timeout.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_req, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ method: req.method, route, status: reply.statusCode });
    deps.metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err, req, reply) => {
    const problem = toProblem(err, req.url, req.id);
    if (problem.status >= 500) req.log.error({ err, reqId: req.id }, 'request failed');
    await recordRefusal(deps.ledger, req, problem).catch((e: unknown) =>
      req.log.error({ err: e }, 'ledger write failed'),
    );
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler(async (req, reply) =>
    sendProblem(reply, makeProblem('NOT_FOUND', 'no such route', req.url, req.id)),
  );
  return app;
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  if (problem.status === 401) reply.header('www-authenticate', 'Bearer');
  // The rest of an oversized body is never read: close the connection rather than leave it (and
  // a graceful shutdown) waiting on bytes nobody wants.
  if (problem.status === 413) reply.header('connection', 'close');
  // RFC 9110 §10.2.3: tell a rate-limited client when to come back.
  if (problem.status === 429 && typeof problem.retryAfterSeconds === 'number') {
    reply.header('retry-after', String(problem.retryAfterSeconds));
  }
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

async function authenticate(req: FastifyRequest, access: AccessService): Promise<void> {
  const required = req.routeOptions.config.access;
  if (!required || required === 'public') return;
  const header = req.headers.authorization ?? '';
  const bearer = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  req.principal = await access.authenticate(bearer);
  if (!roleAllows(req.principal.role, required)) {
    throw new FleetwardError('FORBIDDEN', `role ${req.principal.role} may not do this`);
  }
}

/** A refused attempt to change state is itself an event worth keeping (who tried what, from where). */
async function recordRefusal(ledger: LedgerService, req: FastifyRequest, problem: Problem): Promise<void> {
  const action = req.routeOptions.config?.action;
  if (!action || !STATE_CHANGING.has(req.method) || problem.status < 400) return;
  const result: LedgerResult =
    problem.status === 401 || problem.status === 403 ? 'denied' : problem.status >= 500 ? 'failed' : 'rejected';
  const kind = action.split('.')[0];
  const id = targetId(req);
  await ledger.record({
    actor: req.principal ? `operator:${req.principal.operatorId}` : 'anonymous',
    action,
    target: id ? `${kind}:${id}` : null,
    source: req.ip,
    result,
    details: { code: problem.code, status: problem.status, requestId: req.id },
  });
}

/** The id the attempt was about: from the path, or from a create body when it is a well-formed id. */
function targetId(req: FastifyRequest): string | undefined {
  const fromParams = (req.params as Record<string, unknown> | undefined)?.id;
  const fromBody = (req.body as Record<string, unknown> | undefined)?.id;
  const candidate = typeof fromParams === 'string' ? fromParams : fromBody;
  return typeof candidate === 'string' && ID_RE.test(candidate) ? candidate : undefined;
}
