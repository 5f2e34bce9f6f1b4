import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileAllowList, isValidAllowEntry } from './allow-list.ts';
import { addSample, DEVICE_SAMPLES, deviationLimit, estimate, hourOfDay, newBaseline } from './baseline.ts';
import { mad, median, percentile } from './robust-stats.ts';

test('median, MAD and percentiles', () => {
  assert.ok(Number.isNaN(median([])));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  // One huge outlier barely moves the median and MAD (the point of robust statistics).
  assert.equal(median([10, 11, 12, 13, 1e9]), 12);
  assert.equal(mad([10, 11, 12, 13, 1e9]), 1);
  assert.equal(percentile([1, 2, 3, 4, 5], 50), 3);
  assert.equal(percentile([1, 2, 3, 4, 5], 100), 5);
  assert.equal(percentile([0, 10], 99), 9.9);
  assert.equal(percentile([7], 99.9), 7);
});

test('allow-lists: ports, ranges, addresses, CIDRs, host names', () => {
  const ports = compileAllowList('listening-ports', ['tcp/22', '443', 'udp/5000-5010']);
  assert.ok(ports.allows('tcp/22'));
  assert.ok(!ports.allows('udp/22'));
  assert.ok(ports.allows('udp/443') && ports.allows('tcp/443'));
  assert.ok(ports.allows('udp/5005') && !ports.allows('tcp/5005'));
  const dst = compileAllowList('destinations', ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7', 'ntp.example'], (h) =>
    h === 'ntp.example' ? ['198.51.100.1'] : [],
  );
  assert.ok(dst.allows('10.200.3.4'));
  assert.ok(!dst.allows('11.0.0.1'));
  assert.ok(dst.allows('2001:db8::1'));
  assert.ok(dst.allows('192.0.2.7') && !dst.allows('192.0.2.8'));
  assert.ok(dst.allows('198.51.100.1'), 'resolved host name');
  assert.ok(!dst.allows('not-an-ip'));
  for (const bad of ['tcp/0', 'tcp/70000', 'sctp/1', '22-10', 'x'])
    assert.ok(!isValidAllowEntry('listening-ports', bad), bad);
  for (const bad of ['10.0.0.0/33', '::/129', '1.2.3.4/8/1', 'bad host', '-x.example'])
    assert.ok(!isValidAllowEntry('destinations', bad), bad);
  for (const ok of ['10.0.0.0/8', 'fe80::1', 'api.example.com']) assert.ok(isValidAllowEntry('destinations', ok), ok);
});

test('baseline: hour-of-day estimate, fallbacks and confidence', () => {
  const day = 86_400_000;
  const t0 = Date.UTC(2026, 0, 1);
  const b = newBaseline(t0);
  assert.equal(estimate(b, undefined, t0, 1, 0), null, 'nothing learned: training');
  // Busy 08:00–10:00 (≈1000), quiet otherwise (≈100), one sample per 5 minutes for one day.
  for (let t = t0; t < t0 + day; t += 300_000) {
    const h = hourOfDay(t);
    addSample(b, t, (h >= 8 && h <= 10 ? 1000 : 100) + (t % 7), DEVICE_SAMPLES);
  }
  const busy = estimate(b, undefined, t0 + day + 9 * 3_600_000, 1, 0)!;
  const quiet = estimate(b, undefined, t0 + day + 3 * 3_600_000, 1, 0)!;
  assert.equal(busy.source, 'own-hour');
  assert.ok(busy.median > 900, `busy median ${busy.median}`);
  assert.ok(quiet.median < 200, `quiet median ${quiet.median}`);
  assert.equal(quiet.confidence, 'medium', 'one day of history');
  // Young device: few samples per hour → pooled over all its hours, low confidence.
  const young = newBaseline(t0);
  for (let i = 0; i < 10; i++) addSample(young, t0 + i * 7 * 3_600_000, 50, DEVICE_SAMPLES);
  const e = estimate(young, undefined, t0 + 5 * 3_600_000, 1, 0)!;
  assert.deepEqual([e.source, e.confidence, e.median], ['own-all', 'low', 50]);
  // A device with nothing yet borrows its cohort's hour.
  const c = estimate(undefined, b, t0 + 9 * 3_600_000, 1, 0)!;
  assert.equal(estimate(young, undefined, t0 + 3_600_000, 1, day), null, 'still training');
  assert.equal(c.source, 'cohort');
  assert.ok(deviationLimit('medium', 'low') > deviationLimit('medium', 'medium'));
});
