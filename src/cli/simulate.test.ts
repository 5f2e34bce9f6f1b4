import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { systemClock } from '../protocol/clock.ts';
import { countResets, type Report } from '../protocol/report.ts';
import type { RunningServer } from '../server/main.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { parseScenarioSpec, validateOptions } from '../simulator/options.ts';
import { EXFIL_ENDPOINT, SCENARIOS, type ScenarioName } from '../simulator/scenarios.ts';
import { type Label, runSimulation } from '../simulator/simulate.ts';
import { runCli } from './main.ts';

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
});
