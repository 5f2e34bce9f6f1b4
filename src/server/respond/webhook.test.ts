import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { SIGNATURE_HEADER, signPayload, verifySignature, WebhookNotifier } from './webhook.ts';

const SECRET = 'whsec-test-0123456789';

/** A real receiver on a free port answering with the scripted statuses in turn; records what it got. */
async function receiver(t: TestContext, statuses: number[]) {
  const got: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.statusCode = statuses[Math.min(got.length - 1, statuses.length - 1)]!;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=abc`, got };
}

test('webhook: HMAC-SHA256 signature a receiver can verify; tampering and replays fail', async (t) => {
  const clock = new ManualClock();
  const { url, got } = await receiver(t, [204]);
  const notifier = new WebhookNotifier({ secret: SECRET }, clock);
  const result = await notifier.deliver(url, { type: 'alarm.raised', alarm: { id: 'al-1', deviceId: 'd1' } });
  assert.deepEqual([result.ok, result.attempts, result.status], [true, 1, 204]);
  const [req] = got;
  const sig = req!.headers[SIGNATURE_HEADER] as string;
  assert.match(sig, /^t=\d+,v1=[0-9a-f]{64}$/);
  assert.equal(req!.headers['fleetward-delivery'], result.deliveryId);
  assert.ok(verifySignature(SECRET, sig, req!.body, clock.now()));
  assert.ok(!verifySignature(SECRET, sig, req!.body.replace('d1', 'd2'), clock.now()), 'altered body');
  assert.ok(!verifySignature('other-secret', sig, req!.body, clock.now()), 'wrong key');
  assert.ok(!verifySignature(SECRET, sig, req!.body, clock.now() + 600_000), 'replayed 10 minutes later');
  assert.ok(!verifySignature(SECRET, 'garbage', req!.body, clock.now()));
  assert.equal(signPayload(SECRET, 1, '{}'), signPayload(SECRET, 1, '{}'));
});

test('webhook: transient failures are retried with exponential backoff and full jitter', async (t) => {
  const { url, got } = await receiver(t, [503, 500, 429, 200]);
  const waits: number[] = [];
  const notifier = new WebhookNotifier(
    { secret: SECRET, baseDelayMs: 100, maxDelayMs: 1000 },
    new ManualClock(),
    async (ms) => void waits.push(ms),
    () => 0.999,
  );
  const result = await notifier.deliver(url, { n: 1 });
  assert.deepEqual([result.ok, result.attempts, got.length], [true, 4, 4]);
  assert.deepEqual(waits, [99, 199, 399], 'random × min(max, base × 2^(n-1))');
  assert.equal(new Set(got.map((g) => g.headers['fleetward-delivery'])).size, 1, 'one delivery id across retries');
  assert.equal(notifier.backoff(10), 999, 'capped at maxDelayMs');
});

test('webhook: a 4xx is not retried; exhaustion and an unreachable receiver are reported, never thrown', async (t) => {
  const waits: number[] = [];
  const sleep = async (ms: number) => void waits.push(ms);
  const bad = await receiver(t, [401]);
  const rejected = await new WebhookNotifier({ secret: SECRET }, new ManualClock(), sleep).deliver(bad.url, {});
  assert.deepEqual([rejected.ok, rejected.attempts, rejected.failure, waits.length], [false, 1, 'rejected', 0]);
  const down = await receiver(t, [502]);
  const exhausted = await new WebhookNotifier({ secret: SECRET, maxAttempts: 3 }, new ManualClock(), sleep).deliver(
    down.url,
    {},
  );
  assert.deepEqual([exhausted.ok, exhausted.attempts, exhausted.failure, down.got.length], [false, 3, 'exhausted', 3]);
  const nowhere = await new WebhookNotifier({ secret: SECRET, maxAttempts: 2 }, new ManualClock(), sleep).deliver(
    'http://127.0.0.1:1/none',
    {},
  );
  assert.deepEqual([nowhere.ok, nowhere.status, nowhere.failure], [false, null, 'exhausted']);
  const unsigned = await new WebhookNotifier({ secret: null }, new ManualClock(), sleep).deliver(bad.url, {});
  assert.deepEqual(
    [unsigned.ok, unsigned.failure, unsigned.attempts],
    [false, 'not-configured', 0],
    'never sends unsigned',
  );
});
