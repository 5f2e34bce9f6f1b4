import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestServer } from '../server/testing/test-server.ts';
import { FLEETWARD_BIN, fleetward } from './testing/run-fleetward.ts';

test('cli: profile create from a file, alarms watch prints live lines, list/ack/suppress/clear, emergency', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const token = server.adminToken;
  await server.call('POST', '/api/v1/products', {
    token,
    body: { id: 'lock', name: 'Lock', model: 'L', manufacturer: 'Acme', supportEnd: '2031-01-01' },
  });
  await server.call('POST', '/api/v1/devices', { token, body: { id: 'lock-1', productId: 'lock', serial: 'A' } });
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-profile-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'locks.json');
  writeFileSync(
    file,
    JSON.stringify({
      id: 'locks',
      name: 'Locks',
      targets: [{ kind: 'product', value: 'lock' }],
      behaviours: [{ name: 'open-port', kind: 'set-membership', metric: 'listening-ports', allowed: ['tcp/443'] }],
    }),
  );
  const created = await fleetward(['profile', 'create', '--file', file], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(
    (await fleetward(['profile', 'list'], env)).stdout,
    /locks\s+Locks\s+true\s+product:lock\s+open-port\(set-membership\)/,
  );
  assert.equal((await fleetward(['profile', 'create', '--file', '/nonexistent.json'], env)).code, 9);

  // `alarms watch` as a real child process: it prints the line when the alarm is raised, then exits (--count 1).
  const watcher = spawn(process.execPath, [FLEETWARD_BIN, 'alarms', 'watch', '--count', '1'], {
    env: { PATH: process.env.PATH, ...env },
  });
  let out = '';
  watcher.stdout.on('data', (c) => {
    out += c;
  });
  const exited = new Promise<number>((r) => watcher.on('exit', (c) => r(c ?? -1)));
  // Raise once the watcher is connected (its subscription is visible on the feed), never by sleeping.
  const deadline = Date.now() + 10_000;
  while (server.services.respond.feed.subscribers === 0 && Date.now() < deadline)
    await new Promise((r) => setImmediate(r));
  await server.services.detect.observe({
    deviceId: 'lock-1',
    at: Date.now(),
    numbers: {},
    sets: { 'listening-ports': ['tcp/443', 'tcp/23'] },
  });
  assert.equal(await exited, 0);
  assert.match(out, /raised\s+medium\s+lock-1 locks\/open-port al-\S+ listening-ports=\["tcp\/23"\] only tcp\/443/);

  const list = await fleetward(['alarms', 'list', '--state', 'open', '--json'], env);
  const id = JSON.parse(list.stdout).items[0].id as string;
  assert.match((await fleetward(['alarms', 'list'], env)).stdout, /lock-1\s+locks\s+open-port/);
  assert.equal((await fleetward(['alarms', 'ack', id], env)).stdout.trim(), `acknowledged ${id}`);
  assert.equal((await fleetward(['alarms', 'ack', id], env)).code, 6, 'conflict: already acknowledged');
  assert.equal((await fleetward(['alarms', 'suppress', id, '--reason', 'x', '--for', 'soon'], env)).code, 2);
  assert.match(
    (await fleetward(['alarms', 'suppress', id, '--reason', 'pen test', '--for', '2h'], env)).stdout,
    /suppressed/,
  );
  assert.equal(
    (await fleetward(['alarms', 'clear', id, '--reason', 'closed the port'], env)).stdout.trim(),
    `cleared ${id}`,
  );
  assert.equal((await fleetward(['alarms', 'get', 'al-nope'], env)).code, 5);

  const q = await fleetward(['mitigate', 'quarantine', 'lock-1', '--reason', 'suspicious'], env);
  assert.equal(q.stdout.trim(), 'quarantine lock-1: applied');
  const req = await fleetward(
    ['emergency', 'request', '--kind', 'quarantine-product', '--target', 'lock', '--reason', 'r', '--json'],
    env,
  );
  const eid = JSON.parse(req.stdout).id as string;
  const self = await fleetward(['emergency', 'approve', eid], env);
  assert.equal(self.code, 4, 'the requester may not approve');
  assert.match(self.stderr, /different admin/);
});
