import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../../protocol/clock.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { LedgerService } from './service.ts';

const event = (i: number) => ({
  actor: 'operator:a',
  action: 'device.create',
  target: `device:d${i}`,
  source: '10.0.0.1',
  result: 'ok' as const,
  details: { i },
});

test('ledger: an untouched chain verifies', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    for (let i = 1; i <= 5; i++) await ledger.record(event(i));
    assert.deepEqual(await ledger.verify(), { ok: true, checked: 5 });
    const [newest] = await ledger.list({ limit: 1 });
    assert.equal(newest!.seq, 5);
    assert.deepEqual(newest!.details, { i: 5 });
  });
});

test('ledger: an entry edited in the database is named', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    for (let i = 1; i <= 6; i++) await ledger.record(event(i));
    await sql`update ledger set result = 'denied' where seq = 3`.execute(store.db);
    assert.deepEqual(await ledger.verify(), { ok: false, checked: 2, firstBad: { seq: 3, problem: 'altered' } });
  });
});

test('ledger: an entry rewritten with a recomputed hash is still caught by the next link', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    for (let i = 1; i <= 4; i++) await ledger.record(event(i));
    // An attacker who knows the hash scheme rewrites entry 2 consistently with itself.
    const { createHash } = await import('node:crypto');
    const { canonicalJson } = await import('./canonical-json.ts');
    const rows = await sql<Record<string, unknown>>`select * from ledger where seq = 2`.execute(store.db);
    const row = { ...rows.rows[0]!, actor: 'operator:mallory' } as Record<string, unknown>;
    const { hash: _old, ...content } = row;
    content.seq = Number(content.seq);
    content.at = Number(content.at);
    const forged = createHash('sha256').update(canonicalJson(content)).digest('hex');
    await sql`update ledger set actor = 'operator:mallory', hash = ${forged} where seq = 2`.execute(store.db);
    assert.deepEqual(await ledger.verify(), { ok: false, checked: 2, firstBad: { seq: 2, problem: 'altered' } });
  });
});

test('ledger: a removed entry, in the middle or at the end, is named', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    for (let i = 1; i <= 5; i++) await ledger.record(event(i));
    await sql`delete from ledger where seq = 5`.execute(store.db);
    assert.deepEqual(await ledger.verify(), { ok: false, checked: 4, firstBad: { seq: 5, problem: 'removed' } });
    await sql`delete from ledger where seq = 2`.execute(store.db);
    assert.deepEqual(await ledger.verify(), { ok: false, checked: 1, firstBad: { seq: 2, problem: 'removed' } });
  });
});

test('ledger: concurrent appends keep one unbroken chain', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    await Promise.all(Array.from({ length: 40 }, (_, i) => ledger.record(event(i))));
    assert.deepEqual(await ledger.verify(), { ok: true, checked: 40 });
  });
});

test('ledger: an append inside a failed transaction leaves no entry', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const ledger = new LedgerService(store, new ManualClock());
    await ledger.record(event(1));
    await assert.rejects(
      store.transaction(async (tx) => {
        await ledger.appendIn(tx, event(2));
        throw new Error('the change failed');
      }),
      /the change failed/,
    );
    assert.deepEqual(await ledger.verify(), { ok: true, checked: 1 });
  });
});
