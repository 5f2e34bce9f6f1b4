import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../../protocol/clock.ts';
import type { Behaviour, Datapoint, DetectionSignal, SecurityProfile } from '../model.ts';
import { Detector, type DeviceState } from './detector.ts';

const MIN = 60_000;
const common = { severity: 'high' as const, toAlarm: 1, toClear: 1 };

function profile(behaviours: Behaviour[]): SecurityProfile {
  return {
    id: 'p1',
    name: 'test',
    description: '',
    enabled: true,
    targets: [{ kind: 'all', value: '' }],
    behaviours,
    mitigations: ['notify'],
    notifyUrl: null,
    createdAt: 0,
    updatedAt: 0,
  };
}

function dp(deviceId: string, at: number, numbers: Datapoint['numbers'], sets: Datapoint['sets'] = {}): Datapoint {
  return { deviceId, at, numbers, sets };
}

const types = (signals: DetectionSignal[]) => signals.map((s) => `${s.type}:${s.deviceId}:${s.behaviour}`);

test('static threshold with consecutive datapoints to alarm and to clear', () => {
  const clock = new ManualClock();
  const p = profile([
    { ...common, name: 'auth', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5, toAlarm: 3, toClear: 2 },
  ]);
  const d = new Detector();
  const feed = (v: number) => {
    clock.advance(MIN);
    return types(d.observe([p], dp('a', clock.now(), { 'auth-failures': v })));
  };
  assert.deepEqual([feed(9), feed(9), feed(1), feed(9), feed(9)].flat(), [], 'a clean datapoint resets the count');
  const raised = d.observe([p], dp('a', clock.now() + MIN, { 'auth-failures': 12 }));
  assert.deepEqual(types(raised), ['raise:a:auth']);
  const ev = raised[0]!.type === 'raise' ? raised[0]!.evidence : undefined;
  assert.deepEqual(ev?.recent, [9, 9, 12], 'evidence carries the consecutive values');
  assert.equal(ev?.threshold, '> 5');
  clock.advance(MIN);
  assert.deepEqual(feed(20), [], 'already alarmed: no duplicate raise');
  assert.deepEqual(feed(0), [], 'one clean datapoint is not enough to clear');
  assert.deepEqual(feed(0), ['clear:a:auth']);
  assert.deepEqual(types(d.observe([p], dp('a', clock.now() + MIN, {}))), [], 'metric absent: no verdict');
});

test('set membership: a listening port or destination outside the allow-list', () => {
  const p = profile([
    { ...common, name: 'ports', kind: 'set-membership', metric: 'listening-ports', allowed: ['tcp/22', 'tcp/443'] },
    { ...common, name: 'dst', kind: 'set-membership', metric: 'destinations', allowed: ['10.0.0.0/8'] },
  ]);
  const d = new Detector();
  assert.deepEqual(
    types(d.observe([p], dp('a', 1, {}, { 'listening-ports': ['tcp/22'], destinations: ['10.1.1.1'] }))),
    [],
  );
  const s = d.observe([p], dp('a', 2, {}, { 'listening-ports': ['tcp/22', 'tcp/23'], destinations: ['203.0.113.9'] }));
  assert.deepEqual(types(s), ['raise:a:ports', 'raise:a:dst']);
  assert.deepEqual(s[0]!.type === 'raise' && s[0]!.evidence.value, ['tcp/23']);
  assert.deepEqual(types(d.observe([p], dp('a', 3, {}, { 'listening-ports': ['tcp/22'], destinations: [] }))), [
    'clear:a:ports',
    'clear:a:dst',
  ]);
});

test('fleet percentile: one device far above its cohort', () => {
  const p = profile([
    {
      ...common,
      name: 'out',
      kind: 'percentile',
      metric: 'bytes-out',
      percentile: 90,
      windowMs: 30 * MIN,
      factor: 3,
      margin: 0,
      minCohort: 10,
    },
  ]);
  const d = new Detector();
  let t = 0;
  const round = (outlier: number | null) => {
    const out: DetectionSignal[] = [];
    t += MIN;
    for (let i = 0; i < 20; i++) {
      const v = i === 7 && outlier !== null ? outlier : 1000 + i * 10;
      out.push(...d.observe([p], dp(`dev-${i}`, t + i, { 'bytes-out': v })));
    }
    return types(out);
  };
  assert.deepEqual(round(null), [], 'first round: the cohort is still filling, no verdicts');
  assert.deepEqual(round(null), []);
  assert.deepEqual(round(2500), [], 'within 3 × p90');
  assert.deepEqual(round(50_000), ['raise:dev-7:out']);
  assert.deepEqual(round(null), ['clear:dev-7:out']);
});

test('new value: a port never seen while learning', () => {
  const p = profile([
    { ...common, name: 'new-port', kind: 'new-value', metric: 'listening-ports', learningMs: 60 * MIN },
  ]);
  const d = new Detector();
  let t = 0;
  const feed = (ports: string[]) => {
    t += 10 * MIN;
    return types(d.observe([p], dp('a', t, {}, { 'listening-ports': ports })));
  };
  assert.deepEqual([feed(['tcp/80']), feed(['tcp/80', 'udp/53']), feed(['tcp/80'])].flat(), [], 'learning');
  for (let i = 0; i < 4; i++) assert.deepEqual(feed(['tcp/80', 'udp/53']), [], 'learned values are normal');
  t += 10 * MIN;
  const s = d.observe([p], dp('a', t, {}, { 'listening-ports': ['tcp/80', 'tcp/4444'] }));
  assert.deepEqual(types(s), ['raise:a:new-port']);
  assert.deepEqual(s[0]!.type === 'raise' && s[0]!.evidence.value, ['tcp/4444']);
  assert.deepEqual(feed(['tcp/80']), ['clear:a:new-port']);
  assert.deepEqual(feed(['tcp/80', 'tcp/4444']), ['raise:a:new-port'], 'not learned after the window');
});

test('learned baseline: useful after one simulated day of a diurnal device', () => {
  const p = profile([
    {
      ...common,
      name: 'burst',
      kind: 'baseline',
      metric: 'bytes-out',
      sensitivity: 'medium',
      direction: 'above',
      minConfidence: 'low',
      toAlarm: 2,
      trainingMs: 86_400_000,
    },
  ]);
  const d = new Detector();
  const t0 = Date.UTC(2026, 0, 1);
  // Busy at 09:00–11:00 UTC (≈200 KiB/min), quiet otherwise (≈20 KiB/min), with noise; every 5 minutes.
  const normal = (t: number) => {
    const h = new Date(t).getUTCHours();
    return (h >= 9 && h <= 11 ? 200_000 : 20_000) * (0.85 + ((t / 300_000) % 7) * 0.05);
  };
  const signals: DetectionSignal[] = [];
  for (let t = t0; t < t0 + 86_400_000; t += 5 * MIN)
    signals.push(...d.observe([p], dp('a', t, { 'bytes-out': normal(t) })));
  // Day two: the busy hours are normal again, although 10× the quiet hours.
  const day2 = t0 + 86_400_000;
  for (let t = day2; t < day2 + 12 * 3_600_000; t += 5 * MIN)
    signals.push(...d.observe([p], dp('a', t, { 'bytes-out': normal(t) })));
  assert.deepEqual(types(signals), [], 'no false alarm on its own rhythm');
  // Day two, 14:00: a burst that would be normal at 10:00 is anomalous in a quiet hour.
  const night = day2 + 14 * 3_600_000;
  const burst = [0, 1].flatMap((i) => d.observe([p], dp('a', night + i * 5 * MIN, { 'bytes-out': 180_000 })));
  assert.deepEqual(types(burst), ['raise:a:burst']);
  const ev = burst[0]!.type === 'raise' ? burst[0]!.evidence : undefined;
  assert.equal(ev?.baseline?.source, 'own-hour');
  assert.equal(ev?.baseline?.confidence, 'medium');
  assert.ok(ev!.baseline!.median < 30_000);
});

test('baseline: a brand-new device is judged against its cohort', () => {
  const p = profile([
    {
      ...common,
      name: 'burst',
      kind: 'baseline',
      metric: 'connections',
      sensitivity: 'high',
      direction: 'above',
      minConfidence: 'low',
      trainingMs: 3_600_000,
    },
  ]);
  const d = new Detector();
  for (let t = 0; t < 2 * 3_600_000; t += 5 * MIN)
    for (let i = 0; i < 5; i++) d.observe([p], dp(`old-${i}`, t, { connections: 3 + (i % 2) }));
  const s = d.observe([p], dp('new', 2 * 3_600_000, { connections: 400 }));
  assert.deepEqual(types(s), ['raise:new:burst']);
  assert.equal(s[0]!.type === 'raise' && s[0]!.evidence.baseline?.source, 'cohort');
});

test('silent device: missed N intervals raises; the next datapoint clears', () => {
  const clock = new ManualClock();
  const p = profile([{ ...common, name: 'silent', kind: 'silent', intervalMs: MIN, missed: 3 }]);
  const d = new Detector();
  d.observe([p], dp('a', clock.now(), {}));
  d.observe([p], dp('b', clock.now(), {}));
  const profilesOf = () => [p];
  clock.advance(3 * MIN);
  d.observe([p], dp('b', clock.now(), {}));
  assert.deepEqual(types(d.tick(clock.now(), profilesOf)), [], 'exactly three intervals: not yet');
  clock.advance(1);
  const s = d.tick(clock.now(), profilesOf);
  assert.deepEqual(types(s), ['raise:a:silent']);
  assert.equal(s[0]!.type === 'raise' && s[0]!.evidence.lastSeenAt, clock.now() - 3 * MIN - 1);
  assert.deepEqual(types(d.tick(clock.now() + MIN, profilesOf)), [], 'raised once');
  assert.deepEqual(types(d.observe([p], dp('a', clock.now() + 2 * MIN, {}))), ['clear:a:silent']);
});

test('limits: a scanner cannot make a device learn unbounded values', () => {
  const p = profile([{ ...common, name: 'nv', kind: 'new-value', metric: 'destinations', learningMs: 3_600_000 }]);
  const d = new Detector();
  const many = Array.from({ length: 5000 }, (_, i) => `10.${(i >> 8) & 255}.${i & 255}.1`);
  d.observe([p], dp('a', 0, {}, { destinations: many }));
  const [[, state]] = d.takeDirty() as [[string, DeviceState]];
  assert.equal(Object.keys(state.learned.destinations!.values).length, 256);
});
