import type { TestContext } from 'node:test';
import pino from 'pino';
import { type Clock, systemClock } from '../../protocol/clock.ts';
import type { ServeConfig } from '../config.ts';
import { type RunningServer, startServer } from '../main.ts';
import type { SqlDialect } from '../store/store.types.ts';
import { freshDatabase } from './test-stores.ts';

export interface TestServer extends RunningServer {
  adminToken: string;
  /** The server's data directory (removed after the test). */
  dataDir: string;
  /** fetch against the server with a token (or none) and JSON in/out. */
  call(
    method: string,
    path: string,
    opts?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Creates an operator with `role` and returns a token for it. */
  tokenFor(role: 'admin' | 'operator' | 'auditor'): Promise<string>;
}

/** A real server on a free port over a fresh database, with a bootstrapped admin; closed when the test ends. */
export async function startTestServer(
  t: TestContext,
  options: { dialect?: SqlDialect; clock?: Clock; config?: Partial<ServeConfig>; streamHeartbeatMs?: number } = {},
): Promise<TestServer> {
  const { url, dataDir } = await freshDatabase(t, options.dialect ?? 'sqlite');
  const config: ServeConfig = {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    databaseUrl: url,
    logLevel: 'silent',
    bodyLimit: 64 * 1024,
    bootstrapToken: undefined,
    tokenTtlDays: 30,
    // Tests run in parallel: the broker takes a free port; identity keys live in the temp data dir.
    mqttHost: '127.0.0.1',
    mqttPort: 0,
    mqttMaxPacketBytes: 64 * 1024,
    tls: false,
    publicHost: undefined,
    masterKey: undefined,
    broker: 'builtin',
    externalBrokerUrl: '',
    deviceCertDays: 365,
    maxArtifactBytes: 8 * 1024 * 1024,
    ...options.config,
  };
  const server = await startServer(config, {
    clock: options.clock ?? systemClock,
    logger: pino({ level: 'silent' }),
    streamHeartbeatMs: options.streamHeartbeatMs,
  });
  t.after(() => server.close());
  const call: TestServer['call'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(server.url + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const boot = await call('POST', '/api/v1/bootstrap', {
    body: { bootstrapToken: server.bootstrapToken, name: 'root' },
  });
  if (boot.status !== 201) throw new Error(`bootstrap failed: ${JSON.stringify(boot.body)}`);
  const adminToken = boot.body.token.token as string;
  let n = 0;
  const tokenFor: TestServer['tokenFor'] = async (role) => {
    const op = await call('POST', '/api/v1/operators', { token: adminToken, body: { name: `${role}-${++n}`, role } });
    const tok = await call('POST', `/api/v1/operators/${op.body.id}/tokens`, {
      token: adminToken,
      body: { name: 'test' },
    });
    return tok.body.token as string;
  };
  return { ...server, adminToken, dataDir, call, tokenFor };
}
