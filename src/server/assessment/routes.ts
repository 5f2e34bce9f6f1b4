import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams } from '../http/schemas.ts';
import type { AssessmentService } from './service.ts';

const summarySchema = z.object({
  id: z.string(),
  sha256: z.string(),
  name: z.string(),
  size: z.number().int(),
  score: z.number().int().min(1).max(100),
  feedSize: z.number().int(),
  createdAt: epochMs,
  binaries: z.number().int(),
  findings: z.number().int(),
  vulnerabilities: z.number().int(),
});
/** Vulnerability feeds are bigger than ordinary API bodies; still bounded. */
const FEED_BODY_LIMIT = 64 * 1024 * 1024;

export function registerAssessmentRoutes(
  app: FleetwardApp,
  service: AssessmentService,
  opts: { maxArtifactBytes: number },
): void {
  const tags = ['firmware'];
  // Artifacts arrive as raw bytes and are streamed to disk, never buffered whole; scoped to this plugin.
  app.register(async (scope: FleetwardApp) => {
    scope.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));
    scope.post(
      '/api/v1/firmware/analyses',
      {
        config: { access: 'write', action: 'firmware.analyze' },
        schema: {
          tags,
          summary: 'Upload a firmware file, archive or image (application/octet-stream) and analyze it',
          querystring: z.strictObject({ name: z.string().min(1).max(200) }),
          response: { 201: summarySchema },
        },
      },
      async (req, reply) => {
        const a = await service.analyzeUpload(
          req.body as Readable,
          req.query.name,
          opts.maxArtifactBytes,
          actionContext(req),
        );
        const { report: _report, ...summary } = a;
        return reply.status(201).send(summary);
      },
    );
  });
  app.get(
    '/api/v1/firmware/analyses',
    {
      config: { access: 'read' },
      schema: {
        tags,
        querystring: z.strictObject({
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().optional(),
        }),
        response: { 200: z.object({ items: z.array(summarySchema) }) },
      },
    },
    async (req) => ({ items: await service.listAnalyses(req.query.before, req.query.limit) }),
  );
  app.get(
    '/api/v1/firmware/analyses/:id',
    {
      config: { access: 'read' },
      schema: { tags, summary: 'The full report (README-FIRMWARE.md)', params: idParams },
    },
    async (req) => service.getAnalysis(req.params.id),
  );
  app.get(
    '/api/v1/firmware/analyses/:id/sbom',
    { config: { access: 'read' }, schema: { tags, summary: 'CycloneDX 1.5 JSON SBOM', params: idParams } },
    async (req, reply) => reply.type('application/vnd.cyclonedx+json').send(await service.sbom(req.params.id)),
  );
  app.post(
    '/api/v1/vulns',
    {
      bodyLimit: FEED_BODY_LIMIT,
      config: { access: 'write', action: 'vulns.import' },
      schema: {
        tags,
        summary: 'Import OSV records (an offline vulnerability feed)',
        body: z.strictObject({
          files: z
            .array(z.strictObject({ name: z.string().min(1).max(300), text: z.string().max(FEED_BODY_LIMIT) }))
            .min(1)
            .max(100_000),
        }),
        response: { 200: z.object({ imported: z.number().int(), total: z.number().int() }) },
      },
    },
    async (req) => service.importFeed(req.body.files, actionContext(req)),
  );
  app.get(
    '/api/v1/vulns',
    { config: { access: 'read' }, schema: { tags, response: { 200: z.object({ ids: z.array(z.string()) }) } } },
    async () => ({ ids: await service.listVulnIds() }),
  );
}
