import { z } from 'zod';
import type { FleetwardApp } from './app.types.ts';
import type { Metrics } from './metrics.ts';

/** Liveness, readiness, Prometheus metrics and the OpenAPI document: unauthenticated by design. */
export function registerHealthRoutes(
  app: FleetwardApp,
  deps: { ready: () => Promise<boolean>; metrics: Metrics },
): void {
  const pub = { access: 'public' as const };
  app.get('/healthz', { config: pub, schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get(
    '/readyz',
    {
      config: pub,
      schema: {
        hide: true,
        response: { 200: z.object({ status: z.string() }), 503: z.object({ status: z.string() }) },
      },
    },
    async (_req, reply) =>
      (await deps.ready()) ? { status: 'ready' } : reply.status(503).send({ status: 'not ready' }),
  );
  app.get('/metrics', { config: pub, schema: { hide: true } }, async (_req, reply) =>
    reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()),
  );
  app.get('/api/openapi.json', { config: pub, schema: { hide: true } }, async () => app.swagger());
}
