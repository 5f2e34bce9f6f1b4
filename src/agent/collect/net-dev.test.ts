import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deltaCounters, parseNetDev, readNetDev } from './net-dev.ts';
import { REAL_PROC } from './proc-files.ts';

const FIXTURE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 2963238    6627    0    0    0     0          0         0  2963238    6627    0    0    0     0       0          0
  eth0: 1000 10 0 0 0 0 0 0 500 5 0 0 0 0 0 0
 wlan0:2000 20 0 0 0 0 0 0 700 7 0 0 0 0 0 0
  bad0: x y z
`;

test('sums every interface but loopback; malformed lines skipped (including no space after the colon)', () => {
  assert.deepEqual(parseNetDev(FIXTURE), { bytesIn: 3000, packetsIn: 30, bytesOut: 1200, packetsOut: 12 });
});

test('deltas: never negative; a counter that went down was reset', () => {
  const a = { bytesIn: 100, bytesOut: 100, packetsIn: 10, packetsOut: 10 };
  const b = { bytesIn: 150, bytesOut: 40, packetsIn: 12, packetsOut: 3 };
  assert.deepEqual(deltaCounters(a, b), { bytesIn: 50, bytesOut: 40, packetsIn: 2, packetsOut: 3 });
  assert.deepEqual(deltaCounters(null, b), { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 });
});

test('the real /proc/net/dev parses', async () => {
  const c = await readNetDev(REAL_PROC);
  for (const v of Object.values(c)) assert.ok(Number.isSafeInteger(v) && v >= 0);
});
