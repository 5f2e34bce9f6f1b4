import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { type Clock, systemClock } from '../../../protocol/clock.ts';
import { seal, unseal } from '../../identity/index.ts';
import { type ActionContext, LedgerService } from '../../ledger/index.ts';
import type { Store } from '../../store/store.types.ts';
import { freshStore } from '../../testing/test-stores.ts';
import { ArtifactFiles, parseRange } from '../artifacts.ts';
import type { ExpiryPolicy, KeySealer } from '../model.ts';
import { type InitOptions, TufRepository } from '../tuf-repository.ts';
import { TufService } from '../tuf-service.ts';

export const TEST_CTX: ActionContext = { actor: 'operator:test', source: '127.0.0.1' };

/** What a mirror under the attacker's control answers instead of the repository, by file name under /tuf/. */
export type Override = Buffer | string | ((req: IncomingMessage, res: ServerResponse) => void);

export interface TufFixture {
  store: Store;
  repo: TufRepository;
  tuf: TufService;
  artifacts: ArtifactFiles;
  sealer: KeySealer;
  /** Base URL of the mirror: metadata at `<url>`, artifacts at `<url>targets/`. */
  url: string;
  overrides: Map<string, Override>;
  /** Requests the mirror saw, e.g. `GET 3.snapshot.json range=bytes=10-`. */
  requests: string[];
  /** Uploads bytes and lists them as a target of the product (creating its delegation with a server-held key). */
  publish(
    productId: string,
    version: string,
    securityVersion: number,
    bytes: Buffer,
  ): Promise<{ path: string; sha256: string }>;
  /** A fresh agent state directory with the repository's root v1 pinned. */
  newClientDir(): string;
}

/** A real TUF repository (SQLite, sealed keys) behind a plain HTTP mirror whose answers a test can replace. */
export async function tufFixture(
  t: TestContext,
  opts: { clock?: Clock; init?: InitOptions; expiry?: ExpiryPolicy } = {},
): Promise<TufFixture> {
  const clock = opts.clock ?? systemClock;
  const store = await freshStore(t, 'sqlite');
  const masterKey = randomBytes(32);
  const sealer: KeySealer = { seal: (p, d) => seal(masterKey, p, d), unseal: (p, s) => unseal(masterKey, p, s) };
  const repo = new TufRepository(store, sealer, clock, opts.expiry);
  await repo.initialize(opts.init ?? { rootKeys: 3, rootThreshold: 2 });
  const tuf = new TufService(repo, new LedgerService(store, clock));
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-tuf-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const artifacts = new ArtifactFiles(join(dir, 'artifacts'));
  const overrides = new Map<string, Override>();
  const requests: string[] = [];
  const server = createServer((req, res) => {
    serve(req, res, { repo, artifacts, overrides, requests }).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/tuf/`;
  const productTargets = new Map<string, Record<string, unknown>>();
  let clients = 0;
  const rootV1 = (await repo.metadataFile('1.root.json'))!;
  return {
    store,
    repo,
    tuf,
    artifacts,
    sealer,
    url,
    overrides,
    requests,
    async publish(productId, version, securityVersion, bytes) {
      const a = await artifacts.receive(Readable.from([bytes]), 1 << 30);
      await tuf.ensureDelegation(productId, {}, TEST_CTX);
      const path = `${productId}/${productId}-${version}.fw`;
      const targets = productTargets.get(productId) ?? {};
      targets[path] = {
        length: a.length,
        hashes: { sha256: a.sha256 },
        custom: { version, securityVersion, releaseId: `rel-${version}` },
      };
      productTargets.set(productId, targets);
      await tuf.setProductTargets(productId, targets, TEST_CTX);
      return { path, sha256: a.sha256 };
    },
    newClientDir() {
      const d = join(dir, `client-${++clients}`);
      mkdirSync(join(d, 'tuf'), { recursive: true });
      writeFileSync(join(d, 'tuf', 'root.json'), rootV1);
      return d;
    },
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { repo: TufRepository; artifacts: ArtifactFiles; overrides: Map<string, Override>; requests: string[] },
): Promise<void> {
  const name = decodeURIComponent((req.url ?? '').replace(/^\/tuf\//, ''));
  ctx.requests.push(`GET ${name}${req.headers.range ? ` range=${req.headers.range}` : ''}`);
  const o = ctx.overrides.get(name);
  if (typeof o === 'function') return o(req, res);
  if (o !== undefined) {
    res.writeHead(200).end(o);
    return;
  }
  const m = /^targets\/[^/]+\/([0-9a-f]{64})\./.exec(name);
  if (m) return serveArtifact(req, res, ctx.artifacts, m[1]!);
  const body = await ctx.repo.metadataFile(name);
  if (body === null) res.writeHead(404).end();
  else res.writeHead(200, { 'content-type': 'application/json' }).end(body);
}

async function serveArtifact(req: IncomingMessage, res: ServerResponse, artifacts: ArtifactFiles, sha256: string) {
  const size = await artifacts.size(sha256);
  if (size === null) return void res.writeHead(404).end();
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') return void res.writeHead(416).end();
  if (range === null) {
    res.writeHead(200, { 'content-length': size });
    artifacts.open(sha256).pipe(res);
    return;
  }
  res.writeHead(206, {
    'content-range': `bytes ${range.start}-${range.end}/${size}`,
    'content-length': range.end - range.start + 1,
  });
  artifacts.open(sha256, range).pipe(res);
}
