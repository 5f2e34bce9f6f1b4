import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countResets, parseReport } from '../protocol/report.ts';
import { parseDuration } from './durations.ts';
import { parseScenarioSpec, type SimulateOptions, validateOptions } from './options.ts';
import { PROFILES } from './profiles.ts';
import { deriveSeed, seededRng } from './random.ts';
import { EXFIL_ENDPOINT, SCENARIOS, type ScenarioName } from './scenarios.ts';
import { VirtualDevice } from './virtual-device.ts';

const START = Date.UTC(2026, 0, 5, 0, 0, 0);
const device = (seed = 7, profile = PROFILES.camera!) =>
  new VirtualDevice('d-1', profile, seededRng(deriveSeed(seed, 'd-1')), START);
const day = (d: VirtualDevice, active: (i: number) => ScenarioName[] = () => []) =>
  Array.from({ length: 288 }, (_, i) => d.reportAt(START + i * 300_000, active(i)));

test('deterministic: the same seed gives the same reports; another seed does not', () => {
  assert.deepEqual(day(device(7)), day(device(7)));
  assert.notDeepEqual(day(device(7)), day(device(8)));
});

test('every simulated report is a valid protocol report, attacks included, and seqs increase', () => {
  const reports = day(device(), (i) => (i % 2 ? [...SCENARIOS] : []));
  reports.forEach((r, i) => {
    assert.deepEqual(parseReport(r).seq, i + 1);
  });
});

test('benign background: diurnal traffic, a fixed set of endpoints and ports, rare resets, few auth failures', () => {
  const reports = day(device());
  const byHour = (h: number) =>
    reports.filter((r) => new Date(r.at).getUTCHours() === h).reduce((a, r) => a + r.traffic.bytesOut, 0);
  const busiest = Math.max(...Array.from({ length: 24 }, (_, h) => byHour(h)));
  const quietest = Math.min(...Array.from({ length: 24 }, (_, h) => byHour(h)));
  assert.ok(busiest > 3 * quietest, `diurnal: ${busiest} vs ${quietest}`);
  const endpoints = new Set(reports.flatMap((r) => r.connections.map((c) => `${c.addr}:${c.port}`)));
  assert.deepEqual([...endpoints].sort(), ['203.0.113.40:443', '203.0.113.41:443']);
  const ports = new Set(reports.flatMap((r) => r.listening.map((l) => l.port)));
  assert.deepEqual([...ports].sort(), [554, 80]);
  assert.ok(reports.reduce((a, r) => a + countResets(r).unexpected, 0) === 0);
  assert.ok(reports.reduce((a, r) => a + r.authFailures, 0) < 10);
});

test('each scenario leaves its signature while active, and only then', () => {
  const during = (name: ScenarioName) => day(device(3, PROFILES.lock!), (i) => (i >= 100 && i < 120 ? [name] : []));
  const split = (rs: ReturnType<typeof day>) => ({
    before: rs.slice(0, 100),
    in: rs.slice(100, 120),
    after: rs.slice(120),
  });
  const maxOf = (rs: ReturnType<typeof day>, f: (r: ReturnType<typeof day>[number]) => number) =>
    Math.max(...rs.map(f));
  const minOf = (rs: ReturnType<typeof day>, f: (r: ReturnType<typeof day>[number]) => number) =>
    Math.min(...rs.map(f));

  let s = split(during('botnet-ddos'));
  assert.ok(minOf(s.in, (r) => r.traffic.bytesOut) > 100 * maxOf(s.before, (r) => r.traffic.bytesOut));
  assert.ok(minOf(s.in, (r) => r.totals.remotes) >= 100 && maxOf(s.after, (r) => r.totals.remotes) <= 2);

  s = split(during('port-open'));
  assert.ok(s.in.every((r) => r.listening.some((l) => l.port === 23)));
  assert.ok([...s.before, ...s.after].every((r) => !r.listening.some((l) => l.port === 23)));

  s = split(during('exfiltration'));
  const exfil = (r: ReturnType<typeof day>[number]) => r.connections.some((c) => c.addr === EXFIL_ENDPOINT.addr);
  assert.ok(s.in.every(exfil) && !s.before.some(exfil) && !s.after.some(exfil));
  assert.ok(minOf(s.in, (r) => r.traffic.bytesOut) > 20 * maxOf(s.before, (r) => r.traffic.bytesOut));

  s = split(during('reset-storm'));
  assert.ok(s.in.every((r) => countResets(r).unexpected >= 3));
  assert.equal(new Set(s.in.map((r) => r.boot)).size, 20, 'every storm report is a new boot');
  assert.ok(s.before.every((r) => countResets(r).unexpected === 0));

  s = split(during('brute-force'));
  assert.ok(minOf(s.in, (r) => r.authFailures) >= 50 && maxOf(s.before, (r) => r.authFailures) <= 2);

  s = split(during('scanner'));
  const local = (r: ReturnType<typeof day>[number]) =>
    new Set(r.connections.filter((c) => /^(192\.168|10\.)/.test(c.addr)).map((c) => c.addr)).size;
  assert.ok(minOf(s.in, local) >= 50 && maxOf(s.before, local) === 0);
});

test('a restart into a new slot shows once, as an expected reset with a new boot; the firmware follows the slot', () => {
  const d = device();
  const before = d.reportAt(START, []);
  d.noteReboot('firmware-update');
  d.firmware = '2.0.0';
  const after = d.reportAt(START + 300_000, []);
  const later = d.reportAt(START + 600_000, []);
  assert.deepEqual(after.resets, [{ reason: 'firmware-update', count: 1 }]);
  assert.equal(countResets(after).unexpected, 0);
  assert.notEqual(after.boot, before.boot);
  assert.ok(after.uptime < 300, 'up since the restart');
  assert.deepEqual(later.resets, []);
  assert.equal(later.boot, after.boot);
  assert.deepEqual([before.firmware, after.firmware], [PROFILES.camera!.firmware, '2.0.0']);
  assert.equal(parseReport(after).firmware, '2.0.0');
});

test('impossible parameters are refused with one clear line', () => {
  const base: SimulateOptions = {
    server: 'http://x',
    token: 't',
    product: 'p',
    profile: 'mixed',
    devices: 10,
    speed: 60,
    durationMs: 3_600_000,
    intervalMs: 300_000,
    scenarios: [],
    labels: null,
    seed: 1,
    idPrefix: 'sim',
    concurrency: 8,
    startAt: START,
  };
  const refuse = (over: Partial<SimulateOptions>, re: RegExp) =>
    assert.throws(
      () => validateOptions({ ...base, ...over }),
      (e: Error & { code?: string }) => e.code === 'SIM_INVALID' && re.test(e.message) && !e.message.includes('\n'),
    );
  refuse({ devices: 0 }, /--devices/);
  refuse({ devices: 1.5 }, /--devices/);
  refuse({ speed: 0 }, /--speed/);
  refuse({ speed: Number.NaN }, /--speed/);
  refuse({ durationMs: 0 }, /--duration/);
  refuse({ intervalMs: 1000 }, /--interval/);
  refuse({ intervalMs: 7_200_000 }, /longer than --duration/);
  refuse({ profile: 'toaster' }, /--profile/);
  refuse({ scenarios: [parseScenarioSpec('scanner@10:10m-20m')] }, /below --devices 10/);
  refuse({ scenarios: [parseScenarioSpec('scanner@1:10m-2h')] }, /ends after/);
  refuse({ scenarios: [parseScenarioSpec('scanner@1:10m-12m')] }, /shorter than one report interval/);
  assert.throws(() => parseScenarioSpec('ddos@1:1h-2h'), /unknown scenario/);
  assert.throws(() => parseScenarioSpec('scanner@1:2h-1h'), /before END/);
  assert.throws(() => parseScenarioSpec('scanner 1'), /NAME@DEVICE-INDEX:START-END/);
  assert.doesNotThrow(() => validateOptions({ ...base, scenarios: [parseScenarioSpec('port-open@9:0-1h')] }));
});

test('durations', () => {
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1d'), 86_400_000);
  assert.equal(parseDuration('h'), null);
  assert.equal(parseDuration('1x'), null);
  assert.equal(parseDuration('1h 2m'), null);
});
