import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, backoffWindow, DEFAULT_BACKOFF } from './backoff.ts';

/** A seeded generator (mulberry32) so the distribution test is deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('the window doubles from the base up to the cap, and stays there', () => {
  assert.equal(backoffWindow(0), 1_000);
  assert.equal(backoffWindow(3), 8_000);
  assert.equal(backoffWindow(6), 60_000);
  assert.equal(backoffWindow(5000), DEFAULT_BACKOFF.capMs, 'no overflow to Infinity or NaN');
});

test('full jitter: delays are uniform over the window, so 1,000 devices do not reconnect together', () => {
  const random = seeded(42);
  const attempt = 4; // window 16 s
  const delays = Array.from({ length: 1000 }, () => backoffDelay(attempt, random));
  assert.ok(delays.every((d) => d >= 0 && d < 16_000));
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assert.ok(Math.abs(mean - 8_000) < 800, `mean ${mean} near half the window`);
  // No second of the window holds more than 2.5x its fair share: the storm is spread out.
  const buckets = new Array(16).fill(0);
  for (const d of delays) buckets[Math.floor(d / 1000)]++;
  assert.ok(Math.max(...buckets) < 2.5 * (1000 / 16), `buckets ${buckets}`);
  assert.ok(Math.min(...buckets) > 0.4 * (1000 / 16), `buckets ${buckets}`);
});
