import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../protocol/clock.ts';
import type { ServeConfig } from '../config.ts';
import { type RunningServer, startServer } from '../main.ts';
import { forEachDialect, freshDatabase } from '../testing/test-stores.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifySignature } from './webhook.ts';

const SECRET = 'whsec-restart-test';

/** A real receiver that answers 503 until `up` is set, then 200. */
async function receiver(t: TestContext) {
  const state = { up: false, got: [] as Array<{ headers: IncomingMessage['headers']; body: string }> };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      state.got.push({ headers: req.headers, body });
      res.statusCode = state.up ? 200 : 503;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`, state };
}

function configFor(db: { url: string; dataDir: string }): ServeConfig {
  return {
    ...{ host: '127.0.0.1', port: 0, dataDir: db.dataDir, databaseUrl: db.url, logLevel: 'silent' },
    ...{ bodyLimit: 64 * 1024, bootstrapToken: undefined, tokenTtlDays: 30, mqttHost: '127.0.0.1', mqttPort: 0 },
    ...{ mqttMaxPacketBytes: 64 * 1024, tls: false, publicHost: undefined, masterKey: undefined },
    ...{ broker: 'builtin', externalBrokerUrl: '', deviceCertDays: 365, maxArtifactBytes: 8 * 1024 * 1024 },
    webhookSecret: SECRET,
  };
}

async function call(server: RunningServer, token: string | null, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(server.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** A camera, a profile that notifies on brute force, and an alarm raised on it. */
async function raiseAlarm(server: RunningServer, token: string, clock: ManualClock, hookUrl: string) {
  const product = { id: 'cam', name: 'Camera', model: 'C1', manufacturer: 'Acme', supportEnd: '2031-12-31' };
  assert.equal((await call(server, token, 'POST', '/api/v1/products', product)).status, 201);
  const device = { id: 'cam-1', productId: 'cam', serial: 'S1' };
  assert.equal((await call(server, token, 'POST', '/api/v1/devices', device)).status, 201);
  const profile = await call(server, token, 'POST', '/api/v1/security-profiles', {
    id: 'cams',
    name: 'Cameras',
    targets: [{ kind: 'product', value: 'cam' }],
    behaviours: [
      { name: 'brute-force', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5, severity: 'high' },
    ],
    mitigations: ['notify'],
    notifyUrl: hookUrl,
  });
  assert.equal(profile.status, 201, JSON.stringify(profile.body));
  const { detect, respond } = server.services;
  await detect.observe({ deviceId: 'cam-1', at: clock.now(), numbers: { 'auth-failures': 40 }, sets: {} });
  await respond.settled();
}

test('webhook outbox: a notification pending when the server stops is delivered by the next server', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const db = await freshDatabase(t, dialect);
    const hook = await receiver(t);
    const clock = new ManualClock(Date.now());
    const options = { clock, logger: pino({ level: 'silent' }) };

    const first = await startServer(configFor(db), options);
    t.after(() => first.close());
    const boot = await call(first, null, 'POST', '/api/v1/bootstrap', {
      bootstrapToken: first.bootstrapToken,
      name: 'root',
    });
    const token = boot.body.token.token as string;
    await raiseAlarm(first, token, clock, hook.url);
    assert.equal(hook.state.got.length, 1, 'tried once; the receiver is down');
    const pending = await call(first, token, 'GET', '/api/v1/webhook-deliveries?status=pending');
    assert.equal(pending.status, 200);
    assert.deepEqual(
      pending.body.items.map((d: any) => [d.deviceId, d.attempts, d.lastStatus, d.lastError]),
      [['cam-1', 1, 503, 'http-503']],
    );
    assert.ok(!JSON.stringify(pending.body).includes('token=abc'), 'only the origin is shown');
    await first.close();

    hook.state.up = true;
    clock.advance(120_000);
    const second = await startServer(configFor(db), options);
    t.after(() => second.close());
    await second.services.respond.settled();
    assert.equal(hook.state.got.length, 2, 'delivered after the restart, once');
    const [a, b] = hook.state.got;
    assert.equal(a!.headers[DELIVERY_HEADER], b!.headers[DELIVERY_HEADER], 'same delivery id: receivers dedupe');
    assert.ok(verifySignature(SECRET, b!.headers[SIGNATURE_HEADER] as string, b!.body, clock.now()));
    assert.equal(JSON.parse(b!.body).alarm.deviceId, 'cam-1');
    const done = await call(second, token, 'GET', '/api/v1/webhook-deliveries?status=delivered');
    assert.deepEqual(
      done.body.items.map((d: any) => [d.status, d.attempts]),
      [['delivered', 2]],
    );
    const ledger = await second.services.ledger.list({ limit: 10, action: 'webhook.delivered' });
    assert.equal(ledger.length, 1);
    clock.advance(3_600_000);
    await second.services.respond.settled();
    assert.equal(hook.state.got.length, 2, 'never sent again');
  });
});

test('webhook deliveries route: needs a token; the query is validated (role access: role-matrix.test.ts)', async (t) => {
  const db = await freshDatabase(t, 'sqlite');
  const server = await startServer(configFor(db), { logger: pino({ level: 'silent' }) });
  t.after(() => server.close());
  const boot = await call(server, null, 'POST', '/api/v1/bootstrap', {
    bootstrapToken: server.bootstrapToken,
    name: 'root',
  });
  const token = boot.body.token.token as string;
  assert.equal((await call(server, null, 'GET', '/api/v1/webhook-deliveries')).status, 401);
  assert.deepEqual((await call(server, token, 'GET', '/api/v1/webhook-deliveries')).body, { items: [] });
  for (const q of ['status=lost', 'limit=0', 'limit=100000', 'other=1']) {
    assert.equal((await call(server, token, 'GET', `/api/v1/webhook-deliveries?${q}`)).status, 400, q);
  }
});
