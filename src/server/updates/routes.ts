import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { idParams, idSchema, pageOf, pageQuery } from '../http/schemas.ts';
import type { RegistryService } from '../registry/index.ts';
import type { ReleaseService } from './releases.ts';
import { isSupportExpired } from './releases.ts';
import { publicKeySchema, publishResultSchema, releaseBody, releaseSchema } from './schemas.ts';
import type { TufService } from './tuf-service.ts';

export interface UpdatesRouteOptions {
  /** Largest artifact upload, bytes. */
  maxArtifactBytes: number;
  now: () => number;
}

export function registerReleaseRoutes(
  app: FleetwardApp,
  releases: ReleaseService,
  registry: RegistryService,
  opts: UpdatesRouteOptions,
): void {
  const tags = ['releases'];
  // Artifacts arrive as raw bytes, streamed to disk; the parser is scoped to this plugin.
  app.register(async (scope: FleetwardApp) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    scope.post(
      '/api/v1/artifacts',
      {
        config: { access: 'write', action: 'artifact.upload' },
        schema: {
          tags,
          summary: 'Upload a firmware artifact (application/octet-stream); answers its SHA-256 and length',
          response: { 201: z.object({ sha256: z.string(), length: z.number().int() }) },
        },
      },
      async (req, reply) =>
        reply
          .status(201)
          .send(await releases.uploadArtifact(req.body as Readable, opts.maxArtifactBytes, actionContext(req))),
    );
  });
  app.post(
    '/api/v1/releases',
    {
      config: { access: 'write', action: 'release.create' },
      schema: {
        tags,
        body: releaseBody,
        response: { 201: releaseSchema.extend({ warnings: z.array(z.string()) }) },
      },
    },
    async (req, reply) => {
      const { release, warnings } = await releases.createRelease(req.body, actionContext(req));
      return reply.status(201).send({ ...release, warnings });
    },
  );
  app.get(
    '/api/v1/releases',
    {
      config: { access: 'read' },
      schema: {
        tags,
        querystring: z.strictObject({ ...pageQuery, product: idSchema.optional() }),
        response: { 200: pageOf(releaseSchema) },
      },
    },
    async (req) => releases.listReleases({ productId: req.query.product }, req.query.after, req.query.limit),
  );
  app.get(
    '/api/v1/releases/:id',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'A release with its advisory, and whether its product is past its support period',
        params: idParams,
        response: { 200: releaseSchema.extend({ supportExpired: z.boolean(), warnings: z.array(z.string()) }) },
      },
    },
    async (req) => {
      const r = await releases.getRelease(req.params.id);
      const product = await registry.getProduct(r.productId);
      const expired = isSupportExpired(product, opts.now());
      return {
        ...r,
        supportExpired: expired,
        warnings: expired ? [`product past its support period (${product.supportEnd})`] : [],
      };
    },
  );
  app.get(
    '/api/v1/support-status',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Products and whether each is past its published support period (fleet view)',
        response: {
          200: z.object({
            items: z.array(z.object({ productId: z.string(), supportEnd: z.string(), supportExpired: z.boolean() })),
          }),
        },
      },
    },
    async () => {
      const items: Array<{ productId: string; supportEnd: string; supportExpired: boolean }> = [];
      let after: string | undefined;
      do {
        const page = await registry.listProducts(after, 1000);
        for (const p of page.items) {
          items.push({ productId: p.id, supportEnd: p.supportEnd, supportExpired: isSupportExpired(p, opts.now()) });
        }
        after = page.next ?? undefined;
      } while (after);
      return { items };
    },
  );
}

export function registerTufAdminRoutes(app: FleetwardApp, tuf: TufService, releases: ReleaseService): void {
  const tags = ['tuf'];
  app.get(
    '/api/v1/tuf/status',
    { config: { access: 'read' }, schema: { tags, summary: 'Every TUF role: version, expiry, threshold, keys' } },
    async () => ({ roles: await tuf.repo.status(), keys: await tuf.repo.listKeys() }),
  );
  app.post(
    '/api/v1/tuf/delegations',
    {
      config: { access: 'admin', action: 'tuf.delegate' },
      schema: {
        tags,
        summary: "Create a product's delegated targets role; without keys the server holds one (weaker)",
        body: z.strictObject({
          productId: idSchema,
          keys: z.array(publicKeySchema).max(16).optional(),
          threshold: z.number().int().min(1).max(16).optional(),
        }),
        response: { 200: publishResultSchema },
      },
    },
    async (req) =>
      tuf.ensureDelegation(
        req.body.productId,
        { keys: req.body.keys, threshold: req.body.threshold },
        actionContext(req),
      ),
  );
  app.post(
    '/api/v1/tuf/root',
    {
      config: { access: 'admin', action: 'tuf.root-draft' },
      schema: {
        tags,
        summary: 'Draft a new root (key rotation); it publishes once the old and new thresholds signed it',
        body: z.strictObject({
          rootKeys: z.array(publicKeySchema).min(1).max(16),
          rootThreshold: z.number().int().min(1).max(16),
          targetsKeys: z.array(publicKeySchema).min(1).max(16).optional(),
          targetsThreshold: z.number().int().min(1).max(16).optional(),
          rotateOnline: z.boolean().optional(),
        }),
        response: { 200: publishResultSchema },
      },
    },
    async (req) => tuf.draftRoot(req.body, actionContext(req)),
  );
  app.get(
    '/api/v1/tuf/drafts/:role',
    {
      config: { access: 'read' },
      schema: {
        tags,
        summary: 'Unsigned (or partly signed) metadata to sign offline',
        params: z.strictObject({ role: idSchema }),
      },
    },
    async (req) => tuf.exportDraft(req.params.role),
  );
  app.post(
    '/api/v1/tuf/signed',
    {
      bodyLimit: 16 * 1024 * 1024,
      config: { access: 'admin', action: 'tuf.import' },
      schema: {
        tags,
        summary: 'Import offline signatures; drafts whose thresholds are met are published',
        body: z.strictObject({
          items: z
            .array(z.strictObject({ role: idSchema, metadata: z.record(z.string(), z.unknown()) }))
            .min(1)
            .max(64),
        }),
        response: { 200: publishResultSchema },
      },
    },
    async (req) => {
      const result = await tuf.importSigned(req.body.items, actionContext(req));
      await releases.syncPublished();
      return result;
    },
  );
}
