import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { LedgerService } from '../ledger/index.ts';
import { openStore } from '../store/open-store.ts';
import type { SqlDialect, Store } from '../store/store.types.ts';
import { forEachDialect, freshDatabase, postgresUnavailable } from '../testing/test-stores.ts';
import { claimDue } from './delivery-store.ts';
import { type OutboxOptions, WebhookOutbox } from './delivery-worker.ts';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifySignature } from './webhook.ts';

const SECRET = 'whsec-outbox-test-0123456789';

type Answer = number | 'drop';

/** A real receiver answering the scripted answers in turn (`drop`: connection reset, as if down). */
async function receiver(t: TestContext, answers: Answer[]) {
  const got: Array<{ headers: IncomingMessage['headers']; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      const a = answers[Math.min(got.length - 1, answers.length - 1)]!;
      if (a === 'drop') req.socket.destroy();
      else {
        res.statusCode = a;
        res.end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=receiver-secret-token`;
  return { url, got, ids: () => got.map((g) => g.headers[DELIVERY_HEADER] as string) };
}

function outboxOn(store: Store, clock: ManualClock, options: Partial<OutboxOptions> = {}) {
  const ledger = new LedgerService(store, clock);
  const outbox = new WebhookOutbox({
    store,
    ledger,
    clock,
    // random 0.999: each wait is just under its cap, so the schedule is known.
    options: { secret: SECRET, baseDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 4, timeoutMs: 2000, ...options },
    random: () => 0.999,
  });
  const enqueue = (url: string, n = 1) =>
    store.transaction((tx) =>
      outbox.enqueueIn(tx, url, { type: 'alarm.raised', n }, { alarmId: 'al-1', deviceId: 'd1' }),
    );
  const ledgered = async () =>
    (await ledger.list({ limit: 100, actor: 'system:webhook' })).map((e) => [e.action, e.result, e.details]);
  return { outbox, ledger, enqueue, ledgered };
}

async function setup(t: TestContext, dialect: SqlDialect, options: Partial<OutboxOptions> = {}) {
  const { url, dataDir } = await freshDatabase(t, dialect);
  const store = await openStore({ databaseUrl: url, dataDir });
  t.after(() => store.close());
  const clock = new ManualClock();
  return { store, clock, ...outboxOn(store, clock, options) };
}

test('outbox: delivered once, signed, with the delivery id; the final outcome is ledgered without secrets', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { clock, outbox, enqueue, ledgered } = await setup(t, dialect);
    const hook = await receiver(t, [204]);
    const id = await enqueue(hook.url);
    assert.equal(await outbox.tick(), 1);
    const [req] = hook.got;
    assert.equal(req!.headers[DELIVERY_HEADER], id);
    assert.ok(verifySignature(SECRET, req!.headers[SIGNATURE_HEADER] as string, req!.body, clock.now()));
    assert.ok(!verifySignature('another-key', req!.headers[SIGNATURE_HEADER] as string, req!.body, clock.now()));
    assert.equal(await outbox.tick(), 0, 'a delivered notification is not sent again');
    clock.advance(3_600_000);
    assert.equal(await outbox.tick(), 0);
    assert.equal(hook.got.length, 1);
    assert.deepEqual(JSON.parse(req!.body), { type: 'alarm.raised', n: 1 });
    const [d] = await outbox.list({ limit: 10 });
    assert.deepEqual(
      [d!.status, d!.attempts, d!.lastStatus, d!.origin],
      ['delivered', 1, 204, new URL(hook.url).origin],
    );
    const entries = await ledgered();
    assert.deepEqual(
      entries.map((e) => e.slice(0, 2)),
      [['webhook.delivered', 'ok']],
    );
    const text = JSON.stringify(entries) + JSON.stringify(await outbox.list({ limit: 10 }));
    assert.ok(!text.includes('receiver-secret-token'), 'the URL token is never listed or ledgered');
    assert.ok(!text.includes(SECRET));
  });
});

test('outbox: a receiver down for a while is retried on the backoff schedule, then delivered', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { clock, outbox, enqueue, ledgered } = await setup(t, dialect);
    const hook = await receiver(t, ['drop', 'drop', 503, 200]);
    await enqueue(hook.url);
    assert.equal(await outbox.tick(), 1);
    // Full jitter with random 0.999: waits of 999, 1998, 3996 ms after attempts 1, 2, 3.
    for (const wait of [999, 1998, 3996]) {
      const [d] = await outbox.list({ limit: 1 });
      assert.deepEqual([d!.status, d!.nextAttemptAt - clock.now()], ['pending', wait]);
      clock.advance(wait - 1);
      assert.equal(await outbox.tick(), 0, 'not due before its time');
      clock.advance(1);
      assert.equal(await outbox.tick(), 1);
    }
    const [d] = await outbox.list({ limit: 1 });
    assert.deepEqual([d!.status, d!.attempts, d!.lastStatus], ['delivered', 4, 200]);
    assert.equal(new Set(hook.ids()).size, 1, 'one delivery id across retries');
    assert.equal(hook.got.length, 4);
    assert.deepEqual(
      (await ledgered()).map((e) => e[0]),
      ['webhook.delivered'],
    );
  });
});

test('outbox: a 4xx is rejected and never retried; a failing receiver ends exhausted after maxAttempts', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { clock, outbox, enqueue, ledgered } = await setup(t, dialect, { maxAttempts: 3 });
    const bad = await receiver(t, [401]);
    const down = await receiver(t, [502]);
    const rejected = await enqueue(bad.url);
    const exhausted = await enqueue(down.url);
    for (let i = 0; i < 6; i++) {
      await outbox.tick();
      clock.advance(60_000);
    }
    assert.equal(bad.got.length, 1, '401 is not retried');
    assert.equal(down.got.length, 3, 'maxAttempts');
    const byId = new Map((await outbox.list({ limit: 10 })).map((d) => [d.id, d]));
    assert.deepEqual([byId.get(rejected)!.status, byId.get(rejected)!.lastError], ['rejected', 'http-401']);
    assert.deepEqual([byId.get(exhausted)!.status, byId.get(exhausted)!.attempts], ['exhausted', 3]);
    assert.deepEqual(
      (await outbox.list({ status: 'exhausted', limit: 10 })).map((d) => d.id),
      [exhausted],
      'operators filter failed notifications',
    );
    const entries = (await ledgered()).map((e) => [e[0], e[1], (e[2] as { deliveryId: string }).deliveryId]);
    assert.deepEqual(entries.sort(), [
      ['webhook.failed', 'failed', exhausted],
      ['webhook.failed', 'rejected', rejected],
    ]);
  });
});

test('outbox: a rolled-back change leaves no notification; without a secret nothing is sent unsigned', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { store, clock, outbox } = await setup(t, dialect);
    const hook = await receiver(t, [200]);
    await assert.rejects(
      store.transaction(async (tx) => {
        await outbox.enqueueIn(tx, hook.url, { n: 1 });
        throw new Error('the alarm change failed');
      }),
    );
    assert.deepEqual(await outbox.list({ limit: 10 }), []);
    const unsigned = outboxOn(store, clock, { secret: null });
    await unsigned.enqueue(hook.url);
    assert.equal(await unsigned.outbox.tick(), 0);
    assert.equal(hook.got.length, 0);
    assert.equal((await outbox.list({ limit: 10 }))[0]!.status, 'pending', 'kept for when a secret is set');
  });
});

test('outbox: a worker that dies mid-send loses its lease and the delivery is sent again (at least once)', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { store, clock, outbox, enqueue } = await setup(t, dialect);
    const hook = await receiver(t, [200]);
    const id = await enqueue(hook.url);
    const [claimed] = await claimDue(store, clock.now(), clock.now() + 9000, 10); // then "crashes"
    assert.equal(claimed!.id, id);
    assert.equal(await outbox.tick(), 0, 'held by the lease');
    clock.advance(9000);
    assert.equal(await outbox.tick(), 1);
    const [d] = await outbox.list({ limit: 1 });
    assert.deepEqual([d!.status, d!.attempts, hook.ids()], ['delivered', 2, [id]]);
  });
});

test('outbox: two workers on one PostgreSQL database never deliver the same notification twice', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const { url, dataDir } = await freshDatabase(t, 'postgres');
  const stores = [await openStore({ databaseUrl: url, dataDir }), await openStore({ databaseUrl: url, dataDir })];
  t.after(() => Promise.all(stores.map((s) => s.close())));
  const clock = new ManualClock();
  const [a, b] = stores.map((s) => outboxOn(s, clock, { batch: 4 }));
  const hook = await receiver(t, [200]);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push(await a!.enqueue(hook.url, i));
  let sent = 0;
  for (let round = 0; round < 20 && sent < 40; round++) {
    const [x, y] = await Promise.all([a!.outbox.tick(), b!.outbox.tick()]);
    sent += x + y;
  }
  assert.equal(sent, 40);
  assert.deepEqual(hook.ids().sort(), ids.sort(), 'each delivery exactly once');
  assert.equal((await a!.outbox.list({ status: 'delivered', limit: 100 })).length, 40);
});
