import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startTestServer } from '../server/testing/test-server.ts';
import { fleetward } from './testing/run-fleetward.ts';

test('cli: alarms deliveries lists webhook notifications; --status filters the failed ones', async (t) => {
  // A receiver that refuses (410): the notification ends rejected, without retries.
  let hits = 0;
  const receiver = createServer((_req, res) => {
    hits++;
    res.statusCode = 410;
    res.end();
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => receiver.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=s3cret-query`;

  const server = await startTestServer(t, { config: { webhookSecret: 'whsec-cli-test' } });
  const token = server.adminToken;
  const product = { id: 'cam', name: 'Camera', model: 'C1', manufacturer: 'Acme', supportEnd: '2031-12-31' };
  await server.call('POST', '/api/v1/products', { token, body: product });
  await server.call('POST', '/api/v1/devices', { token, body: { id: 'cam-1', productId: 'cam', serial: 'S1' } });
  const profile = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: {
      id: 'cams',
      name: 'Cameras',
      targets: [{ kind: 'product', value: 'cam' }],
      behaviours: [{ name: 'bf', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5, severity: 'high' }],
      mitigations: ['notify'],
      notifyUrl: hookUrl,
    },
  });
  assert.equal(profile.status, 201);
  const { detect, respond } = server.services;
  await detect.observe({ deviceId: 'cam-1', at: Date.now(), numbers: { 'auth-failures': 40 }, sets: {} });
  await respond.settled();
  assert.equal(hits, 1);

  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: await server.tokenFor('auditor') };
  const table = await fleetward(['alarms', 'deliveries', '--status', 'rejected'], env);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /rejected\s+1\s+http-410\s+http:\/\/127\.0\.0\.1:\d+\s+al-\S+\s+cam-1/);
  assert.ok(!table.stdout.includes('s3cret-query'), 'the receiver token is never shown');
  const json = await fleetward(['alarms', 'deliveries', '--json'], env);
  assert.deepEqual(
    JSON.parse(json.stdout).items.map((d: { status: string }) => d.status),
    ['rejected'],
  );
  assert.equal(
    JSON.parse((await fleetward(['alarms', 'deliveries', '--status', 'pending', '--json'], env)).stdout).items.length,
    0,
  );
  assert.notEqual((await fleetward(['alarms', 'deliveries', '--status', 'lost'], env)).code, 0);
});
