import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIndexList, parseMirrorSpec, type SimulateOptions, validateOptions } from './options.ts';
import { PROFILES } from './profiles.ts';
import { deriveSeed, seededRng } from './random.ts';
import { describeFaults, faultApplies, updateFaultFor } from './update-faults.ts';
import { VirtualDevice } from './virtual-device.ts';

const base: SimulateOptions = {
  server: 'http://x',
  token: 't',
  product: 'p',
  profile: 'mixed',
  devices: 200,
  speed: 60,
  durationMs: 3_600_000,
  intervalMs: 300_000,
  scenarios: [],
  labels: null,
  seed: 1,
  idPrefix: 'sim',
  concurrency: 8,
  startAt: 0,
};
const faults = (over: Partial<NonNullable<SimulateOptions['updateFaults']>> = {}) => ({
  failUpdate: [],
  failureRate: 0,
  mirrors: [],
  onlyVersion: null,
  ...over,
});
const id = (i: number) => `sim-${String(i).padStart(4, '0')}`;
const fleet = (o: SimulateOptions) => Array.from({ length: o.devices }, (_, i) => updateFaultFor(o, i, id(i)));

test('fail-update and mirrors name devices by index; without faults no device is touched', () => {
  const o = validateOptions({
    ...base,
    updateFaults: faults({
      failUpdate: [3, 7],
      mirrors: [
        { url: 'http://m1/', deviceIndexes: [1, 3] },
        { url: 'http://m2/', deviceIndexes: [3] },
      ],
    }),
  });
  const f = fleet(o);
  assert.deepEqual(
    f.flatMap((x, i) => (x.unhealthy ? [i] : [])),
    [3, 7],
  );
  assert.equal(f[1]!.mirror, 'http://m1/');
  assert.equal(f[3]!.mirror, 'http://m2/', 'the later flag wins');
  assert.equal(f[0]!.mirror, null);
  assert.ok(fleet(base).every((x) => !x.unhealthy && x.mirror === null));
  assert.equal(describeFaults(fleet(base)), null);
  assert.match(describeFaults(f)!, /2 devices fail their health check \[3,7\]; 2 fetch through a mirror \[1,3\]/);
});

test('--update-failure-rate is drawn from the seed: reproducible, about the share asked, another seed differs', () => {
  const o = { ...base, updateFaults: faults({ failureRate: 0.25 }) };
  const chosen = (x: SimulateOptions) => fleet(x).flatMap((f, i) => (f.unhealthy ? [i] : []));
  assert.deepEqual(chosen(o), chosen(o));
  const n = chosen(o).length;
  assert.ok(n > 30 && n < 70, `${n} of 200`);
  assert.notDeepEqual(chosen(o), chosen({ ...o, seed: 2 }));
  assert.equal(chosen({ ...o, updateFaults: faults({ failureRate: 1 }) }).length, 200);
});

test('a failure drawn for updates does not change what a device reports', () => {
  const reports = (o: SimulateOptions) => {
    updateFaultFor(o, 0, id(0));
    const d = new VirtualDevice(id(0), PROFILES.lock!, seededRng(deriveSeed(o.seed, id(0))), 0);
    return [d.reportAt(300_000, []), d.reportAt(600_000, [])];
  };
  assert.deepEqual(reports(base), reports({ ...base, updateFaults: faults({ failureRate: 0.5 }) }));
});

test('--fault-version scopes every fault to one release version', () => {
  const [f] = fleet({ ...base, devices: 1, updateFaults: faults({ failUpdate: [0], onlyVersion: '2.0.0' }) });
  assert.equal(faultApplies(f!, '2.0.0'), true);
  assert.equal(faultApplies(f!, '1.0.0'), false);
  assert.equal(faultApplies(f!, undefined), false);
  assert.equal(faultApplies({ ...f!, onlyVersion: null }, '1.0.0'), true);
});

test('malformed or impossible fault flags are refused with one clear line', () => {
  const refuse = (fn: () => unknown, re: RegExp) =>
    assert.throws(fn, (e: Error & { code?: string }) => e.code === 'SIM_INVALID' && re.test(e.message));
  refuse(() => parseIndexList('--fail-update', '1,,2'), /--fail-update 1,,2: expected INDEX/);
  refuse(() => parseIndexList('--fail-update', '-1'), /expected INDEX/);
  refuse(() => parseMirrorSpec('http://m/'), /expected URL@INDEX/);
  refuse(() => parseMirrorSpec('ftp://m/@1'), /not an http\(s\) URL/);
  refuse(() => parseMirrorSpec('not a url@1'), /not an http\(s\) URL/);
  refuse(() => parseMirrorSpec(`http://m/${'a'.repeat(2100)}@1`), /not an http\(s\) URL/);
  const check = (over: Partial<NonNullable<SimulateOptions['updateFaults']>>, re: RegExp) =>
    refuse(() => validateOptions({ ...base, devices: 10, updateFaults: faults(over) }), re);
  check({ failUpdate: [10] }, /--fail-update 10: device index must be below --devices 10/);
  check({ mirrors: [{ url: 'http://m/', deviceIndexes: [0, 12] }] }, /--update-mirror 12: device index/);
  check({ failureRate: 1.5 }, /--update-failure-rate/);
  check({ failureRate: Number.NaN }, /--update-failure-rate/);
  check({ onlyVersion: '2.0.0' }, /--fault-version needs a fault/);
  check({ failUpdate: [1], onlyVersion: 'two words' }, /--fault-version/);
  check({ failUpdate: [1], onlyVersion: 'v'.repeat(65) }, /--fault-version/);
  // The user-info part of a URL may hold an @: the last one separates the devices.
  assert.deepEqual(parseMirrorSpec('http://u@m:8/tuf@0,4'), { url: 'http://u@m:8/tuf/', deviceIndexes: [0, 4] });
});
