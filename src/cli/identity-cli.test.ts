import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hasTrustedRoot, updateStateDir } from '../agent/update/index.ts';
import { mosquittoPub } from '../server/testing/mqtt-clients.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { fleetward } from './testing/run-fleetward.ts';

test('cli: enroll-token create, agent enroll leaves key.pem cert.pem ca.pem, the device connects, device revoke', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const p = await fleetward(
    [
      'product',
      'create',
      'lock',
      '--name',
      'Lock',
      '--model',
      'L1',
      '--manufacturer',
      'Acme',
      '--support-end',
      '2031-01-01',
    ],
    env,
  );
  assert.equal(p.code, 0, p.stderr);
  const created = await fleetward(['enroll-token', 'create', '--product', 'lock', '--count', '2', '--json'], env);
  assert.equal(created.code, 0, created.stderr);
  const tokens = JSON.parse(created.stdout) as Array<{ token: string }>;
  assert.equal(tokens.length, 2);
  const out = mkdtempSync(join(tmpdir(), 'fleetward-agent-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  // On the device: only the server URL, the token and a directory.
  const enrolled = await fleetward([
    'agent',
    'enroll',
    '--server',
    server.url,
    '--token',
    tokens[0]!.token,
    '--out',
    out,
    '--id',
    'lock-0001',
    '--json',
  ]);
  assert.equal(enrolled.code, 0, enrolled.stderr);
  for (const f of ['key.pem', 'cert.pem', 'ca.pem']) assert.ok(existsSync(join(out, f)), f);
  assert.ok(hasTrustedRoot(updateStateDir(out)), 'the TUF root is pinned where `agent run` looks');
  assert.deepEqual(JSON.parse(enrolled.stdout).mqtt, server.mqtt);
  // `agent run --dir` needs nothing more: enroll remembered where to connect.
  assert.deepEqual(JSON.parse(readFileSync(join(out, 'agent.json'), 'utf8')), {
    broker: server.mqtt,
    server: server.url,
  });
  const files = {
    deviceId: 'lock-0001',
    dir: out,
    key: join(out, 'key.pem'),
    cert: join(out, 'cert.pem'),
    ca: join(out, 'ca.pem'),
  };
  assert.equal((await mosquittoPub(files, server.mqtt.port, 'devices/lock-0001/events', 'hi')).code, 0);
  const reused = await fleetward([
    'agent',
    'enroll',
    '--server',
    server.url,
    '--token',
    tokens[0]!.token,
    '--out',
    out,
    '--id',
    'x2',
  ]);
  assert.equal(reused.code, 1);
  assert.match(reused.stderr, /already used/);
  const list = await fleetward(['enroll-token', 'list', '--product', 'lock', '--json'], env);
  assert.equal(JSON.parse(list.stdout).filter((x: { usedBy: string | null }) => x.usedBy === 'lock-0001').length, 1);
  assert.doesNotMatch(list.stdout, /fwe_/, 'listing never shows secrets');
  const certs = await fleetward(['device', 'certificates', 'lock-0001', '--json'], env);
  assert.equal(JSON.parse(certs.stdout)[0].status, 'active');
  const revoked = await fleetward(['device', 'revoke', 'lock-0001', '--reason', 'lost'], env);
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.notEqual((await mosquittoPub(files, server.mqtt.port, 'devices/lock-0001/events', 'hi')).code, 0);
  const ca = await fleetward(['ca', 'show', '--pem'], env);
  assert.equal(ca.stdout.trim(), server.caCertificate.trim());
});
