import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock, systemClock } from '../protocol/clock.ts';
import { type CommandResult, parseCommandResultPayload } from '../protocol/commands.ts';
import { countResets, type Report } from '../protocol/report.ts';
import type { RunningServer } from '../server/main.ts';
import { eventually } from '../server/testing/mqtt-clients.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { parseScenarioSpec, validateOptions } from '../simulator/options.ts';
import { EXFIL_ENDPOINT, SCENARIOS, type ScenarioName } from '../simulator/scenarios.ts';
import { type Label, runSimulation, startSimulation } from '../simulator/simulate.ts';
import type { ApiClient } from './api-client.ts';
import { runCli } from './main.ts';
import { simulateOptions } from './simulate.ts';

async function reportsOf(server: RunningServer, deviceId: string): Promise<Report[]> {
  const page = await server.services.telemetry.listReports(deviceId, { limit: 1000 });
  return page.items.map((i) => i.report);
}

/** What each attack must look like in the stored telemetry, per report inside its labelled window. */
const SIGNATURE: Record<ScenarioName, (r: Report) => boolean> = {
  'botnet-ddos': (r) => r.totals.remotes >= 100 && r.traffic.bytesOut > 50_000_000,
  'port-open': (r) => r.listening.some((l) => l.proto === 'tcp' && l.port === 23),
  exfiltration: (r) => r.connections.some((c) => c.addr === EXFIL_ENDPOINT.addr && c.port === EXFIL_ENDPOINT.port),
  'reset-storm': (r) => countResets(r).unexpected >= 3,
  'brute-force': (r) => r.authFailures >= 50,
  scanner: (r) => r.connections.filter((c) => /^(192\.168\.|10\.)/.test(c.addr)).length >= 50,
};

test('simulate: 50 enrolled devices over mTLS, every scenario has its labelled signature in the stored telemetry', async (t) => {
  const server = await startTestServer(t);
  const operator = await server.tokenFor('operator');
  const dir = mkdtempSync(join(tmpdir(), 'fw-sim-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const labelsFile = join(dir, 'labels.jsonl');
  const start = Date.UTC(2026, 2, 1, 6, 0, 0);
  const options = validateOptions({
    server: server.url,
    token: operator,
    product: 'mixed-fleet',
    profile: 'mixed',
    devices: 50,
    speed: 1800, // 2 simulated hours in 4 real seconds
    durationMs: 2 * 3_600_000,
    intervalMs: 300_000,
    scenarios: SCENARIOS.map((s, i) => parseScenarioSpec(`${s}@${i * 7}:40m-80m`)),
    labels: labelsFile,
    seed: 42,
    idPrefix: 'simt',
    concurrency: 16,
    startAt: start,
  });
  const result = await runSimulation(options, { clock: systemClock, log: (l) => t.diagnostic(l) });
  assert.equal(result.devices, 50);
  assert.equal(result.publishFailures, 0);
  assert.equal(result.reportsAcked, result.reportsSent);
  const stats = await server.services.telemetry.stats();
  assert.equal(stats.storedReports, result.reportsAcked, 'every acknowledged report is stored');
  const devices = await server.call('GET', '/api/v1/devices?product=mixed-fleet&limit=1000', { token: operator });
  assert.equal(devices.body.items.length, 50, '50 distinct enrolled identities');

  const labels = readFileSync(labelsFile, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Label);
  assert.equal(labels.length, SCENARIOS.length);
  for (const label of labels) {
    const reports = await reportsOf(server, label.device);
    const inside = reports.filter((r) => r.at >= label.start && r.at < label.end);
    const outside = reports.filter((r) => r.at < label.start || r.at >= label.end);
    assert.ok(inside.length >= 7, `${label.scenario}: ${inside.length} reports in its window`);
    assert.ok(
      inside.every(SIGNATURE[label.scenario]),
      `${label.scenario} on ${label.device}: every report in the window shows it`,
    );
    assert.ok(!outside.some(SIGNATURE[label.scenario]), `${label.scenario}: no report outside the window shows it`);
    assert.ok(
      reports.every((r) => r.at >= start && r.at < start + 2 * 3_600_000),
      'device time is simulated time',
    );
  }
  // A device nobody attacked shows none of the signatures.
  const calm = await reportsOf(server, 'simt-0001');
  assert.ok(calm.length >= 20 && !calm.some((r) => Object.values(SIGNATURE).some((sig) => sig(r))));
});

test('fleetward simulate refuses impossible parameters with one clear line (exit 9)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--devices', '0'], /--devices/],
    [['--devices', '5', '--scenario', 'scanner@7:1m-20m'], /device index must be below --devices 5/],
    [['--devices', '5', '--speed=-3'], /--speed/],
    [['--devices', '5', '--duration', '1h', '--scenario', 'port-open@1:30m-2h'], /ends after/],
    [['--devices', '5', '--scenario', 'teleport@1:1m-20m'], /unknown scenario/],
    [['--speed', '10'], /--devices N is required/],
    [['--devices', '5', '--fail-update', '2,5'], /--fail-update 5: device index must be below --devices 5/],
    [['--devices', '5', '--fail-update', 'two'], /--fail-update two: expected INDEX/],
    [['--devices', '5', '--update-failure-rate', '2'], /--update-failure-rate must be a number from 0 to 1/],
    [['--devices', '5', '--update-failure-rate', 'half'], /--update-failure-rate/],
    [['--devices', '5', '--update-mirror', 'http://m/tuf/'], /expected URL@INDEX/],
    [['--devices', '5', '--update-mirror', 'file:///etc@1'], /not an http\(s\) URL/],
    [['--devices', '5', '--fault-version', '2.0.0'], /--fault-version needs a fault/],
  ];
  for (const [args, re] of cases) {
    const err: string[] = [];
    const code = await runCli(['simulate', ...args], {
      out: () => {},
      err: (s) => err.push(s),
      env: { FLEETWARD_TOKEN: 'fwt_x' },
    });
    assert.equal(code, 9, args.join(' '));
    assert.equal(err.length, 1, 'one line');
    assert.match(err[0]!, re);
  }
  const out: string[] = [];
  assert.equal(await runCli(['simulate', '--help'], { out: (s) => out.push(s), err: () => {}, env: {} }), 0);
  assert.match(out.join('\n'), /botnet-ddos/);
  for (const flag of ['--fail-update', '--update-failure-rate', '--update-mirror', '--fault-version'])
    assert.match(out.join('\n'), new RegExp(`${flag} [A-Z]`), `--help explains ${flag}`);
});

test('fleetward simulate: the update failure flags become the fault options', () => {
  const ctx = {
    out: () => {},
    err: () => {},
    env: {},
    api: () => ({ baseUrl: 'http://127.0.0.1:1', credential: 'fwt_x' }) as unknown as ApiClient,
  };
  const o = simulateOptions(
    {
      devices: '10',
      'fail-update': ['1,2', '7'],
      'update-failure-rate': '0.25',
      'update-mirror': ['http://127.0.0.1:9/device/v1/tuf@0,9'],
      'fault-version': '2.0.0',
    },
    ctx,
  );
  assert.deepEqual(o.updateFaults, {
    failUpdate: [1, 2, 7],
    failureRate: 0.25,
    mirrors: [{ url: 'http://127.0.0.1:9/device/v1/tuf/', deviceIndexes: [0, 9] }],
    onlyVersion: '2.0.0',
  });
  assert.equal(simulateOptions({ devices: '10' }, ctx).updateFaults, undefined, 'no flag, no fault');
});

test('simulated devices answer commands as the agent does: report-now, quarantine-notice, rotate-credentials, unknown and stale ones', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer(t, { clock });
  const operator = await server.tokenFor('operator');
  const answers: CommandResult[] = [];
  // What reached the server on command-results (no module consumes that channel yet).
  server.services.gateway.onDeviceMessage('command-results', async (m) => {
    answers.push(parseCommandResultPayload(m.payload));
  });
  const options = validateOptions({
    server: server.url,
    token: operator,
    product: 'cmd-fleet',
    profile: 'meter',
    devices: 3,
    speed: 1, // the hourly report stays away: every report below was asked for
    durationMs: 86_400_000,
    intervalMs: 3_600_000,
    scenarios: [],
    labels: null,
    seed: 11,
    idPrefix: 'cmd',
    concurrency: 3,
    startAt: Date.now(),
  });
  const sim = await startSimulation(options, { clock: systemClock, log: (l) => t.diagnostic(l) });
  const [a, b, c] = sim.devices as [(typeof sim.devices)[0], (typeof sim.devices)[0], (typeof sim.devices)[0]];
  const send = (deviceId: string, cmd: Record<string, unknown>) =>
    server.services.gateway.sendCommand(deviceId, { v: 1, issuedAt: clock.now(), ...cmd });
  const answer = (id: string) => eventually(() => answers.find((r) => r.id === id), 15_000);
  const reports = async (deviceId: string) =>
    (await server.services.telemetry.listReports(deviceId, { limit: 100 })).items.length;
  try {
    await send(a.id, { id: 'now-1', type: 'report-now' });
    assert.equal((await answer('now-1')).status, 'ok');
    await eventually(async () => (await reports(a.id)) === 1, 10_000);
    await send(a.id, { id: 'now-1', type: 'report-now' }); // QoS 1 may deliver twice: acted on once
    await send(a.id, { id: 'now-2', type: 'report-now' });
    assert.deepEqual(await answer('now-2'), { ...(await answer('now-2')), status: 'rejected', code: 'RATE_LIMITED' });
    assert.equal(answers.filter((r) => r.id === 'now-1').length, 1);

    await send(b.id, { id: 'q-1', type: 'quarantine-notice', state: 'quarantined', reason: 'port-open alarm' });
    assert.equal((await answer('q-1')).status, 'ok');
    assert.deepEqual([b.quarantine?.state, b.quarantine?.reason], ['quarantined', 'port-open alarm']);

    await send(c.id, { id: 'x-1', type: 'self-destruct' });
    assert.deepEqual(
      [(await answer('x-1')).status, (await answer('x-1')).code],
      ['unsupported', 'COMMAND_UNSUPPORTED'],
    );
    await send(c.id, { id: 'old-1', type: 'report-now', expiresAt: Date.now() - 60_000 });
    assert.equal((await answer('old-1')).status, 'expired');
    await server.services.gateway.sendCommand(c.id, '{"not":"a command"');
    await send(c.id, { id: 'bad-1', type: 'update', release: 'r', version: '1', metadataUrl: 'not a url' });

    // Rotation: the device enrolls a fresh key with the one-time token and reconnects with it; once
    // the old certificate is revoked (grace period over), the device still answers and reports.
    const rotate = await server.call('POST', `/api/v1/devices/${c.id}/certificates/rotate`, { token: operator });
    assert.equal(rotate.status, 202, JSON.stringify(rotate.body));
    const rotated = await eventually(() => answers.find((r) => r.type === 'rotate-credentials'), 15_000);
    assert.equal(rotated.status, 'ok');
    await eventually(() => c.sessions === 2, 15_000);
    clock.advance(25 * 3_600_000);
    assert.equal(await server.services.identity.retireDue(), 1);
    await send(c.id, { id: 'now-3', type: 'report-now' });
    assert.equal((await answer('now-3')).status, 'ok');
    await eventually(async () => (await reports(c.id)) === 1, 10_000);
    const certs = await server.call('GET', `/api/v1/devices/${c.id}/certificates`, { token: operator });
    assert.deepEqual(certs.body.items.map((x: { status: string }) => x.status).sort(), ['active', 'revoked']);
  } finally {
    await sim.stop();
  }
  const result = await sim.stop();
  assert.equal(result.publishFailures, 0);
  assert.deepEqual(result.commands, {
    'report-now': 4,
    'quarantine-notice': 1,
    'self-destruct': 1,
    'rotate-credentials': 1,
  });
  assert.ok(!answers.some((r) => r.id === 'bad-1'), 'a malformed command gets no answer and harms nothing');
});
