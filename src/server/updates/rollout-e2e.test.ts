import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { FLEETWARD_BIN } from '../../cli/testing/run-fleetward.ts';
import { ManualClock } from '../../protocol/clock.ts';
import { eventually } from '../testing/mqtt-clients.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { startVirtualFleet } from './testing/virtual-fleet.ts';

const MIN = 60_000;

async function cli(server: TestServer, args: string[]) {
  try {
    const r = await promisify(execFile)(process.execPath, [FLEETWARD_BIN, ...args], {
      env: { PATH: process.env.PATH, FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken },
    });
    return { code: 0, ...r };
  } catch (err) {
    return err as { code: number; stdout: string; stderr: string };
  }
}

async function release(server: TestServer, version: string, securityVersion: number) {
  const up = await fetch(`${server.url}/api/v1/artifacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/octet-stream' },
    body: Buffer.from(`lock firmware ${version} `.repeat(2000)),
  });
  const a = (await up.json()) as { sha256: string };
  const r = await server.call('POST', '/api/v1/releases', {
    token: server.adminToken,
    body: {
      productId: 'lock',
      version,
      securityVersion,
      sha256: a.sha256,
      advisory: { cves: ['CVE-2025-1111'], severity: 'high' },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body as { id: string };
}

/** A mirror between some devices and the server that alters every artifact it passes on. */
async function tamperingMirror(t: { after: (fn: () => unknown) => void }, upstream: string): Promise<string> {
  const mirror = createServer(async (req, res) => {
    const r = await fetch(`${upstream}${req.url}`, { headers: req.headers.range ? { range: req.headers.range } : {} });
    const body = Buffer.from(await r.arrayBuffer());
    if (req.url?.includes('/targets/') && body.length > 0) body[body.length >> 1] ^= 0xff;
    res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => mirror.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        mirror.close(() => resolve());
        mirror.closeAllConnections();
      }),
  );
  return `http://127.0.0.1:${(mirror.address() as AddressInfo).port}/device/v1/tuf/`;
}

test('end to end: a staged rollout reaches 50 devices phase by phase; a bad release aborts itself at the threshold', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer(t, { clock });
  const product = { id: 'lock', name: 'Lock', model: 'L1', manufacturer: 'Acme', supportEnd: '2099-12-31' };
  await server.call('POST', '/api/v1/products', { token: server.adminToken, body: product });
  const fleet = await startVirtualFleet(t, server, { productId: 'lock', count: 50, prefix: 'lock' });
  const updates = server.services.updates;

  // 1. A good release, phase by phase: 2 % → 10 % → 50 % → 100 %, 10 minutes of soak each.
  const r1 = await release(server, '1.0.0', 1);
  const created = await cli(server, [
    'rollout',
    'create',
    '--release',
    r1.id,
    '--phases',
    '2,10,50,100',
    '--soak',
    '10m',
    '--max-failure-pct',
    '20',
    '--min-finished',
    '5',
    '--json',
  ]);
  assert.equal(created.code, 0, created.stderr);
  const rolloutId = JSON.parse(created.stdout).id as string;
  const expectedDevices = [1, 4, 20, 25];
  for (let phase = 0; phase < 4; phase++) {
    const p = await eventually(async () => {
      const q = await updates.rollouts.progress(rolloutId);
      return q.phases[phase]!.finished === expectedDevices[phase] && q;
    }, 60_000);
    assert.equal(p.phases[phase]!.succeeded, expectedDevices[phase], `phase ${phase + 1} all succeeded`);
    assert.equal(
      p.phases.slice(phase + 1).reduce((n, x) => n + x.finished, 0),
      0,
      'later phases untouched',
    );
    if (phase === 3) break;
    await updates.tick();
    assert.equal((await updates.rollouts.get(rolloutId)).phase, phase, 'the soak holds the next phase');
    clock.advance(10 * MIN);
    await updates.tick();
    assert.equal((await updates.rollouts.get(rolloutId)).phase, phase + 1);
  }
  assert.equal((await updates.rollouts.get(rolloutId)).status, 'succeeded');
  for (const d of fleet.values()) assert.equal((await d.updater.installed()).securityVersion, 1, d.id);
  const status = await cli(server, ['rollout', 'status', rolloutId]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /succeeded, phase 4\/4/);
  assert.match(status.stdout, /50 devices: succeeded 50/);

  // 2. A bad release: most devices fail their health check, two sit behind a tampering mirror.
  const ids = [...fleet.keys()].sort();
  const mirror = await tamperingMirror(t, server.url);
  ids.forEach((id, i) => {
    const d = fleet.get(id)!;
    if (i < 2) d.fault = { mirror };
    else if (i % 5 !== 0) d.fault = { unhealthy: true };
  });
  const r2 = await release(server, '2.0.0', 2);
  const bad = await cli(server, [
    'rollout',
    'create',
    '--release',
    r2.id,
    '--phases',
    '20,100',
    '--soak',
    '1m',
    '--max-failure-pct',
    '20',
    '--min-finished',
    '5',
    '--json',
  ]);
  assert.equal(bad.code, 0, bad.stderr);
  const badId = JSON.parse(bad.stdout).id as string;
  const aborted = await eventually(async () => {
    const r = await updates.rollouts.get(badId);
    return r.status === 'aborted' && r;
  }, 60_000);
  assert.match(
    aborted.reason!,
    /failure rate .* exceeded 20% after at least 5 finished; reasons: .*UPDATE_HEALTH_CHECK_FAILED/,
  );
  clock.advance(10 * MIN);
  await updates.tick();
  const p2 = await updates.rollouts.progress(badId);
  assert.equal(
    p2.devices.filter((d) => d.phase === 1 && d.state !== 'pending').length,
    0,
    'no command went to phase 2',
  );
  // Devices that fell back still run release 1; the floor did not move (once every update in flight ended).
  await Promise.all([...fleet.values()].map((d) => d.updater.idle()));
  for (const d of fleet.values()) {
    if (d.fault.unhealthy) assert.equal((await d.updater.installed()).content?.version ?? '1.0.0', '1.0.0');
  }
  const watch = await cli(server, ['rollout', 'status', badId, '--watch']);
  assert.equal(watch.code, 8, 'an aborted rollout is a failed check');
  assert.match(watch.stdout, /aborted/);
  assert.match(watch.stdout, /reason: failure rate/);
  // Every refusal and fallback is in the ledger, with the device's reason code.
  const ledger = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
  const results = ledger.body.items.filter(
    (e: { action: string; target: string }) => e.action === 'update.result' && e.target === `rollout:${badId}`,
  );
  assert.ok(results.some((e: { details: { code: string } }) => e.details.code === 'UPDATE_HEALTH_CHECK_FAILED'));
  const abortEntry = ledger.body.items.find(
    (e: { action: string; target: string }) => e.action === 'rollout.abort' && e.target === `rollout:${badId}`,
  );
  assert.equal(abortEntry.details.reason, aborted.reason);
  await Promise.all([...fleet.values()].map((d) => d.updater.idle()));
});

test('end to end: devices behind a tampering mirror refuse the artifact and the refusal is recorded', async (t) => {
  const server = await startTestServer(t);
  await server.call('POST', '/api/v1/products', {
    token: server.adminToken,
    body: { id: 'lock', name: 'Lock', model: 'L1', manufacturer: 'Acme', supportEnd: '2099-12-31' },
  });
  const fleet = await startVirtualFleet(t, server, { productId: 'lock', count: 3, prefix: 'lock' });
  const mirror = await tamperingMirror(t, server.url);
  for (const d of fleet.values()) d.fault = { mirror };
  const r = await release(server, '1.0.0', 1);
  const ro = await server.call('POST', '/api/v1/rollouts', {
    token: server.adminToken,
    body: { releaseId: r.id, phases: [100], maxFailurePct: 50, minFinished: 3 },
  });
  assert.equal(ro.status, 201, JSON.stringify(ro.body));
  const p = await eventually(async () => {
    const q = await server.call('GET', `/api/v1/rollouts/${ro.body.id}`, { token: server.adminToken });
    return q.body.rollout.status === 'aborted' && q.body;
  }, 30_000);
  assert.deepEqual(
    p.failures.map((f: { reason: string }) => f.reason),
    ['UPDATE_ARTIFACT_MISMATCH', 'UPDATE_ARTIFACT_MISMATCH', 'UPDATE_ARTIFACT_MISMATCH'],
  );
  for (const d of fleet.values()) assert.equal((await d.updater.installed()).content, null, 'nothing installed');
  const ledger = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
  const refusals = ledger.body.items.filter(
    (e: { action: string; details: { code?: string } }) =>
      e.action === 'update.result' && e.details.code === 'UPDATE_ARTIFACT_MISMATCH',
  );
  assert.equal(refusals.length, 3);
  assert.equal(refusals[0].actor.startsWith('device:lock-'), true);
});
