import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { FLEETWARD_BIN } from '../../cli/testing/run-fleetward.ts';
import { ManualClock, systemClock } from '../../protocol/clock.ts';
import { type UpdateFaultOptions, validateOptions } from '../../simulator/options.ts';
import { type Simulation, startSimulation } from '../../simulator/simulate.ts';
import { eventually } from '../testing/mqtt-clients.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';

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

/**
 * The fleet simulator's devices (`fleetward simulate`): each enrolled with its own key, its TUF root
 * pinned from the enrollment answer, connected over mTLS MQTT, answering `update` with the agent's real
 * updater. Simulated time runs slowly: these tests are about updates, a few reports are enough.
 */
async function simulate(
  t: TestContext,
  server: TestServer,
  devices: number,
  updateFaults?: UpdateFaultOptions,
): Promise<Simulation> {
  const options = validateOptions({
    server: server.url,
    token: server.adminToken,
    product: 'lock',
    profile: 'lock',
    devices,
    speed: 60,
    durationMs: 86_400_000,
    intervalMs: 300_000,
    scenarios: [],
    labels: null,
    seed: 6,
    idPrefix: 'lock',
    concurrency: 16,
    startAt: Date.now(),
    updateFaults,
  });
  return startSimulation(options, { clock: systemClock, log: (l) => t.diagnostic(l) });
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

test('end to end: a staged rollout reaches 50 simulated devices phase by phase; a bad release aborts itself at the threshold', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer(t, { clock });
  const product = { id: 'lock', name: 'Lock', model: 'L1', manufacturer: 'Acme', supportEnd: '2099-12-31' };
  await server.call('POST', '/api/v1/products', { token: server.adminToken, body: product });
  // Release 2.0.0 is bad: most devices' new slot fails its health check, and two devices fetch through
  // a tampering mirror. The simulator injects these faults for that version only: 1.0.0 reaches all 50.
  const mirror = await tamperingMirror(t, server.url);
  const sim = await simulate(t, server, 50, {
    failUpdate: Array.from({ length: 50 }, (_, i) => i).filter((i) => i >= 2 && i % 5 !== 0),
    failureRate: 0,
    mirrors: [{ url: mirror, deviceIndexes: [0, 1] }],
    onlyVersion: '2.0.0',
  });
  try {
    await goodReleasePhaseByPhase(server, clock, sim);
    await badReleaseAborts(server, clock, sim);
  } finally {
    await sim.stop();
  }
  const result = await sim.stop();
  assert.equal(result.publishFailures, 0);
  assert.ok((result.updates.succeeded ?? 0) >= 50, JSON.stringify(result.updates));
  assert.ok((result.updates['rolled-back'] ?? 0) >= 1, JSON.stringify(result.updates));
});

/** 1. A good release, phase by phase: 2 % → 10 % → 50 % → 100 %, 10 minutes of soak each. */
async function goodReleasePhaseByPhase(server: TestServer, clock: ManualClock, sim: Simulation) {
  const updates = server.services.updates;
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
  for (const d of sim.devices) assert.equal((await d.updater.installed()).securityVersion, 1, d.id);
  const status = await cli(server, ['rollout', 'status', rolloutId]);
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, /succeeded, phase 4\/4/);
  assert.match(status.stdout, /50 devices: succeeded 50/);
  // What the devices report now names the firmware their active slot runs.
  const reports = await eventually(async () => {
    const page = await server.services.telemetry.listReports(sim.devices[7]!.id, { limit: 1000 });
    return page.items.some((i) => i.report.firmware === '1.0.0') && page.items.map((i) => i.report);
  }, 30_000);
  assert.ok(
    reports.some((r) => r.resets.some((x) => x.reason === 'firmware-update')),
    'restarted into the new slot',
  );
}

/** 2. A bad release: the rollout aborts itself at the threshold, says why, and phase 2 never starts. */
async function badReleaseAborts(server: TestServer, clock: ManualClock, sim: Simulation) {
  const updates = server.services.updates;
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
  await Promise.all(sim.devices.map((d) => d.updater.idle()));
  for (const d of sim.devices.filter((x) => x.fault.unhealthy || x.fault.mirror)) {
    const installed = await d.updater.installed();
    assert.equal(installed.content?.version, '1.0.0', d.id);
    assert.equal(installed.securityVersion, 1, d.id);
  }
  const rolledBack = sim.devices.filter((d) => d.updateStatuses.some((s) => s.state === 'rolled-back'));
  assert.ok(rolledBack.length >= 1 && rolledBack.every((d) => d.fault.unhealthy), 'only unhealthy devices fell back');
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
}

test('end to end: simulated devices behind a tampering mirror refuse the artifact and the refusal is recorded', async (t) => {
  const server = await startTestServer(t);
  await server.call('POST', '/api/v1/products', {
    token: server.adminToken,
    body: { id: 'lock', name: 'Lock', model: 'L1', manufacturer: 'Acme', supportEnd: '2099-12-31' },
  });
  const mirror = await tamperingMirror(t, server.url);
  const sim = await simulate(t, server, 3, {
    failUpdate: [],
    failureRate: 0,
    mirrors: [{ url: mirror, deviceIndexes: [0, 1, 2] }],
    onlyVersion: null,
  });
  try {
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
    await Promise.all(sim.devices.map((d) => d.updater.idle()));
    for (const d of sim.devices) assert.equal((await d.updater.installed()).content, null, 'nothing installed');
    const ledger = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
    const refusals = ledger.body.items.filter(
      (e: { action: string; details: { code?: string } }) =>
        e.action === 'update.result' && e.details.code === 'UPDATE_ARTIFACT_MISMATCH',
    );
    assert.equal(refusals.length, 3);
    assert.equal(refusals[0].actor.startsWith('device:lock-'), true);
  } finally {
    const result = await sim.stop();
    assert.deepEqual(result.updates, { 'failed:UPDATE_ARTIFACT_MISMATCH': 3 });
  }
});
