import { z } from 'zod';
import { FleetwardError } from '../../protocol/errors.ts';
import type { FleetwardApp } from '../http/app.types.ts';
import { type ArtifactFiles, parseRange } from './artifacts.ts';
import type { UpdatesErrorCode } from './model.ts';
import type { TufRepository } from './tuf-repository.ts';

const notFound = () => new FleetwardError<UpdatesErrorCode>('TUF_FILE_NOT_FOUND', 'no such TUF file');
const FILE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/;

/**
 * What devices fetch: TUF metadata and artifacts. Public on purpose: TUF's guarantees come from the
 * signatures, not from the transport (spec §1.5.2), so a mirror or CDN can serve the same bytes.
 * Firmware confidentiality is not a goal here.
 */
export function registerTufRoutes(app: FleetwardApp, repo: TufRepository, artifacts: ArtifactFiles): void {
  const tags = ['tuf'];
  app.get(
    '/device/v1/tuf/:file',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'TUF metadata: N.root.json, timestamp.json, N.snapshot.json, N.targets.json, N.<product>.json',
        params: z.strictObject({ file: z.string().regex(FILE_RE) }),
      },
    },
    async (req, reply) => {
      const body = await repo.metadataFile(req.params.file);
      if (body === null) throw notFound();
      // Clients must see a new timestamp at once; versioned files never change and may be cached.
      const cache = req.params.file === 'timestamp.json' ? 'no-store' : 'public, max-age=300';
      return reply.type('application/json').header('cache-control', cache).send(body);
    },
  );
  app.get(
    '/device/v1/tuf/targets/:product/:file',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'An artifact by consistent-snapshot name `<sha256>.<name>`; supports Range for resumed downloads',
        params: z.strictObject({ product: z.string().regex(FILE_RE), file: z.string().regex(FILE_RE) }),
      },
    },
    async (req, reply) => {
      const m = /^([0-9a-f]{64})\./.exec(req.params.file);
      if (!m) throw notFound();
      const sha256 = m[1]!;
      const size = await artifacts.size(sha256);
      if (size === null) throw notFound();
      const range = parseRange(req.headers.range, size);
      reply.header('accept-ranges', 'bytes').type('application/octet-stream');
      if (range === 'unsatisfiable') {
        return reply.status(416).header('content-range', `bytes */${size}`).send();
      }
      if (range === null) return reply.header('content-length', size).send(artifacts.open(sha256));
      return reply
        .status(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
        .header('content-length', range.end - range.start + 1)
        .send(artifacts.open(sha256, range));
    },
  );
}
