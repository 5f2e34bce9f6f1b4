import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { SIGNATURE_HEADER, verifySignature } from './webhook.ts';

const SECRET = 'whsec-routes-test';

async function receiver(t: TestContext) {
  const got: Array<{ signature: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ signature: String(req.headers[SIGNATURE_HEADER]), body });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

/** Reads SSE `alarm` events from the stream until `count` arrived (bounded by the fetch timeout). */
async function openStream(server: TestServer, token: string) {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/v1/alarms/stream`, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const events: Array<{ type: string; alarm: { id: string; deviceId: string } }> = [];
  const next = async (count: number) => {
    const deadline = setTimeout(() => controller.abort(), 10_000);
    try {
      while (events.length < count) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const data = buffer
            .slice(0, cut)
            .split('\n')
            .find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
        }
      }
    } finally {
      clearTimeout(deadline);
    }
    return events;
  };
  return { next, close: () => controller.abort() };
}

async function fleet(server: TestServer, n: number) {
  const token = server.adminToken;
  await server.call('POST', '/api/v1/products', {
    token,
    body: { id: 'cam', name: 'Camera', model: 'C1', manufacturer: 'Acme', supportEnd: '2031-12-31' },
  });
  for (let i = 0; i < n; i++) {
    const r = await server.call('POST', '/api/v1/devices', {
      token,
      body: { id: `cam-${i}`, productId: 'cam', serial: `S${i}` },
    });
    assert.equal(r.status, 201);
  }
}

test('detection → alarm → automatic quarantine and signed webhook; SSE stream; lifecycle over HTTP', async (t) => {
  const server = await startTestServer(t, { config: { webhookSecret: SECRET } });
  const hook = await receiver(t);
  const token = server.adminToken;
  await fleet(server, 2);
  const bad = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: { id: 'p', name: 'x', targets: [{ kind: 'all' }], behaviours: [], mitigations: ['notify'] },
  });
  assert.deepEqual([bad.status, bad.body.code], [400, 'PROFILE_INVALID'], 'notify without a URL');
  const dup = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: {
      id: 'p',
      name: 'x',
      targets: [{ kind: 'all' }],
      behaviours: [{ name: 'a', kind: 'set-membership', metric: 'listening-ports', allowed: ['tcp/99999'] }],
    },
  });
  assert.deepEqual([dup.status, dup.body.code], [400, 'PROFILE_INVALID'], 'an impossible port');
  const created = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: {
      id: 'cams',
      name: 'Cameras',
      targets: [{ kind: 'product', value: 'cam' }],
      behaviours: [
        { name: 'brute-force', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5, severity: 'high' },
      ],
      mitigations: ['quarantine', 'notify'],
      notifyUrl: hook.url,
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.behaviours[0].toAlarm, 1, 'defaults applied');

  const plain = await server.call('GET', '/api/v1/alarms/stream', { token });
  assert.deepEqual([plain.status, plain.body.code], [406, 'STREAM_NOT_ACCEPTABLE']);
  const stream = await openStream(server, await server.tokenFor('auditor'));
  t.after(() => stream.close());

  const { detect, respond } = server.services;
  await detect.observe({ deviceId: 'cam-0', at: Date.now(), numbers: { 'auth-failures': 2 }, sets: {} });
  await detect.observe({ deviceId: 'cam-1', at: Date.now(), numbers: { 'auth-failures': 40 }, sets: {} });
  const [ev] = await stream.next(1);
  assert.deepEqual([ev!.type, ev!.alarm.deviceId], ['raised', 'cam-1']);
  await respond.settled();

  const device = await server.call('GET', '/api/v1/devices/cam-1', { token });
  assert.deepEqual([device.body.status, device.body.zone], ['quarantined', 'quarantine']);
  assert.equal(
    (await server.call('GET', '/api/v1/devices/cam-0', { token })).body.status,
    'registered',
    'benign device untouched',
  );
  assert.equal(hook.got.length, 1);
  assert.ok(verifySignature(SECRET, hook.got[0]!.signature, hook.got[0]!.body, Date.now()));
  assert.equal(JSON.parse(hook.got[0]!.body).alarm.deviceId, 'cam-1');
  const mitigations = await server.call('GET', '/api/v1/devices/cam-1/mitigations', { token });
  assert.deepEqual(mitigations.body.items.map((m: { action: string }) => m.action).sort(), ['notify', 'quarantine']);

  const list = await server.call('GET', '/api/v1/alarms?state=active', { token });
  assert.equal(list.body.items.length, 1);
  const id = list.body.items[0].id;
  assert.equal(list.body.items[0].evidence.threshold, '> 5');
  const auditor = await server.tokenFor('auditor');
  assert.equal((await server.call('POST', `/api/v1/alarms/${id}/acknowledge`, { token: auditor })).status, 403);
  assert.equal((await server.call('POST', `/api/v1/alarms/${id}/acknowledge`, { token })).body.state, 'acknowledged');
  const sup = await server.call('POST', `/api/v1/alarms/${id}/suppress`, {
    token,
    body: { reason: 'pen test', durationMs: 3_600_000 },
  });
  assert.equal(sup.body.suppressionReason, 'pen test');
  const cleared = await server.call('POST', `/api/v1/alarms/${id}/clear`, { token, body: { reason: 'fixed' } });
  assert.equal(cleared.body.state, 'cleared');
  const again = await server.call('POST', `/api/v1/alarms/${id}/clear`, { token, body: { reason: 'fixed' } });
  assert.deepEqual([again.status, again.body.code], [409, 'ALARM_STATE_CONFLICT']);
  const types = (await stream.next(4)).map((e) => e.type);
  assert.deepEqual(types, ['raised', 'acknowledged', 'suppressed', 'cleared']);

  const released = await server.call('POST', '/api/v1/devices/cam-1/release-quarantine', {
    token,
    body: { reason: 'reimaged' },
  });
  assert.equal(released.status, 200);
  const after = await server.call('GET', '/api/v1/devices/cam-1', { token });
  assert.deepEqual([after.body.status, after.body.zone], ['registered', 'default']);
  const twice = await server.call('POST', '/api/v1/devices/cam-1/release-quarantine', { token, body: { reason: 'x' } });
  assert.equal(twice.body.code, 'MITIGATION_FAILED');
});

test('emergency actions need a second admin: the requester cannot approve; a different admin can', async (t) => {
  const server = await startTestServer(t);
  await fleet(server, 3);
  const first = server.adminToken;
  const second = await server.tokenFor('admin');
  const operator = await server.tokenFor('operator');
  const body = { kind: 'quarantine-product', target: 'cam', reason: 'botnet outbreak' };
  assert.equal((await server.call('POST', '/api/v1/emergency-actions', { token: operator, body })).status, 403);
  const missing = await server.call('POST', '/api/v1/emergency-actions', {
    token: first,
    body: { ...body, target: 'nope' },
  });
  assert.equal(missing.body.code, 'PRODUCT_NOT_FOUND');
  const req = await server.call('POST', '/api/v1/emergency-actions', { token: first, body });
  assert.deepEqual([req.status, req.body.state], [201, 'pending']);
  const id = req.body.id;

  const self = await server.call('POST', `/api/v1/emergency-actions/${id}/approve`, { token: first });
  assert.deepEqual([self.status, self.body.code], [403, 'EMERGENCY_SAME_ADMIN']);
  assert.equal(
    (await server.call('GET', '/api/v1/devices/cam-0', { token: first })).body.status,
    'registered',
    'nothing ran',
  );
  assert.equal((await server.call('POST', `/api/v1/emergency-actions/${id}/approve`, { token: operator })).status, 403);

  const ok = await server.call('POST', `/api/v1/emergency-actions/${id}/approve`, { token: second });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual([ok.body.state, ok.body.result], ['executed', { devices: 3, failed: 0 }]);
  for (let i = 0; i < 3; i++) {
    assert.equal((await server.call('GET', `/api/v1/devices/cam-${i}`, { token: first })).body.status, 'quarantined');
  }
  const replay = await server.call('POST', `/api/v1/emergency-actions/${id}/approve`, { token: second });
  assert.deepEqual([replay.status, replay.body.code], [409, 'EMERGENCY_NOT_PENDING']);

  const ledger = await server.call('GET', '/api/v1/ledger?limit=1000', { token: first });
  const rows = ledger.body.items.filter((e: { action: string }) => e.action.startsWith('emergency.'));
  const seen = rows.map((e: { action: string; result: string }) => `${e.action}:${e.result}`).sort();
  assert.deepEqual(seen, [
    'emergency.approve:denied',
    'emergency.approve:denied',
    'emergency.approve:ok',
    'emergency.approve:rejected',
    'emergency.execute:ok',
    'emergency.request:denied',
    'emergency.request:ok',
    'emergency.request:rejected',
  ]);
});

test('alarm stream: revoking the token ends a stream that is already open', async (t) => {
  const server = await startTestServer(t, { streamHeartbeatMs: 50 });
  const auditor = await server.tokenFor('auditor');
  const res = await fetch(`${server.url}/api/v1/alarms/stream`, {
    headers: { authorization: `Bearer ${auditor}`, accept: 'text/event-stream' },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.match(first, /fleetward alarm stream/);
  const mine = await server.call('GET', '/api/v1/tokens', { token: auditor });
  assert.equal(
    (await server.call('DELETE', `/api/v1/tokens/${mine.body.items[0].id}`, { token: auditor })).status,
    204,
  );
  // The next heartbeats find the token revoked and end the stream (bounded by the 10 s fetch timeout).
  for (;;) {
    const { done } = await reader.read();
    if (done) break;
  }
});
