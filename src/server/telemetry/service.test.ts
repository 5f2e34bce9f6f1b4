import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { Report } from '../../protocol/report.ts';
import { sampleReport } from '../../protocol/testing/sample-report.ts';
import type { BusEvents } from '../bus/bus.types.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { LedgerService } from '../ledger/index.ts';
import { RegistryService } from '../registry/index.ts';
import type { SqlDialect } from '../store/store.types.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import type { IngestOptions } from './model.ts';
import { TelemetryService } from './service.ts';

const ctx = { actor: 'operator:test', source: null };
const DEVICES = ['dev-a', 'dev-b', 'dev-c'];

async function setup(t: Parameters<typeof freshStore>[0], dialect: SqlDialect, opts: Partial<IngestOptions> = {}) {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus((_topic, err) => {
    throw err;
  });
  const registry = new RegistryService(store, ledger, bus, clock);
  await registry.createProduct(
    { id: 'meter', name: 'Meter', model: 'M1', manufacturer: 'Acme', description: '', supportEnd: '2031-01-01' },
    ctx,
  );
  for (const [i, id] of DEVICES.entries())
    await registry.createDevice({ id, productId: 'meter', serial: `S${i}` }, ctx);
  const telemetry = new TelemetryService(store, bus, registry, clock, opts);
  t.after(() => telemetry.flush());
  return { store, bus, registry, telemetry };
}

const wire = (r: Partial<Report>) => new TextEncoder().encode(JSON.stringify(sampleReport(r)));
const msg = (deviceId: string, r: Partial<Report>, receivedAt = 1_000) => ({
  deviceId,
  payload: wire(r),
  receivedAt,
});

test('ingest: reports are stored once per (device, boot, seq); re-sends are acknowledged as duplicates', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { telemetry, bus } = await setup(t, dialect);
    const accepted: BusEvents['telemetry.accepted'][] = [];
    bus.subscribe('telemetry.accepted', (e) => {
      accepted.push(e);
    });
    // Same report twice in one batch, and the same seq from two devices (distinct reports).
    const outcomes = await Promise.all([
      telemetry.ingest(msg('dev-a', { seq: 1 })),
      telemetry.ingest(msg('dev-a', { seq: 1 })),
      telemetry.ingest(msg('dev-b', { seq: 1 })),
      telemetry.ingest(msg('dev-a', { seq: 1, boot: 'another-boot' })),
    ]);
    assert.deepEqual(outcomes, ['stored', 'duplicate', 'stored', 'stored']);
    // A re-send after the PUBACK was lost: a later batch.
    assert.equal(await telemetry.ingest(msg('dev-a', { seq: 1 })), 'duplicate');
    const page = await telemetry.listReports('dev-a', { limit: 10 });
    assert.equal(page.items.length, 2);
    assert.deepEqual(
      page.items.map((i) => [i.report.boot === 'another-boot', i.report.seq]),
      [
        [false, 1],
        [true, 1],
      ],
    );
    const stats = await telemetry.stats();
    assert.equal(stats.storedReports, 3);
    assert.deepEqual([stats.sinceStart.stored, stats.sinceStart.duplicates], [3, 2]);
    await bus.close();
    assert.equal(accepted.flatMap((e) => e.reports).length, 3, 'the bus hears each stored report once');
  });
});

test('ingest: group commit gathers concurrent reports into few transactions', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { telemetry } = await setup(t, dialect, { maxBatch: 100, maxDelayMs: 5 });
    const n = 300;
    const all = await Promise.all(
      Array.from({ length: n }, (_, i) => telemetry.ingest(msg(DEVICES[i % 3]!, { seq: i }, 1_000 + i))),
    );
    assert.ok(all.every((o) => o === 'stored'));
    const stats = await telemetry.stats();
    assert.equal(stats.storedReports, n);
    assert.ok(stats.sinceStart.batches <= 10, `${stats.sinceStart.batches} transactions for ${n} reports`);
    assert.equal(stats.sinceStart.largestBatch, 100);
  });
});

test("ingest: one device's garbage never drops another's report, and is counted against it", async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { telemetry, registry, bus } = await setup(t, dialect);
    const rejected: string[] = [];
    bus.subscribe('telemetry.rejected', (e) => {
      rejected.push(...e.rejections.map((r) => `${r.deviceId}:${r.code}`));
    });
    const garbage = [
      new TextEncoder().encode('{"v":1,'),
      new TextEncoder().encode(JSON.stringify({ ...sampleReport(), seq: -5 })),
      new Uint8Array(20_000),
      new TextEncoder().encode(JSON.stringify(sampleReport({ firmware: 'evil\u0000' }))),
    ];
    const results = await Promise.allSettled([
      ...garbage.map((payload) => telemetry.ingest({ deviceId: 'dev-c', payload, receivedAt: 5_000 })),
      telemetry.ingest(msg('dev-a', { seq: 10 }, 5_000)),
      telemetry.ingest(msg('dev-b', { seq: 10 }, 5_000)),
    ]);
    const codes = results
      .slice(0, 4)
      .map((r) => (r.status === 'rejected' && isFleetwardError(r.reason) ? r.reason.code : r.status));
    assert.deepEqual(codes, ['REPORT_NOT_JSON', 'REPORT_INVALID', 'REPORT_TOO_LARGE', 'REPORT_INVALID']);
    assert.deepEqual(
      results.slice(4).map((r) => r.status === 'fulfilled' && r.value),
      ['stored', 'stored'],
    );
    const stats = await telemetry.stats();
    assert.deepEqual(
      stats.malformed.map((m) => [m.deviceId, m.count, m.lastCode]),
      [['dev-c', 4, 'REPORT_INVALID']],
    );
    assert.equal((await registry.getDevice('dev-a')).lastSeen, 5_000, 'contact recorded with the report');
    assert.equal((await registry.getDevice('dev-c')).lastSeen, 5_000, 'a device sending garbage was still seen');
    await bus.close();
    assert.equal(rejected.length, 4);
  });
});

test('ingest: a report the database refuses fails alone; the rest of its batch is stored', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { telemetry, store } = await setup(t, dialect);
    // A stand-in for any row the database refuses (constraint, encoding): a trigger rejecting one firmware.
    if (dialect === 'sqlite') {
      await sql`create trigger poison before insert on telemetry_reports when new.firmware = '6.6.6'
        begin select raise(abort, 'poison'); end`.execute(store.db);
    } else {
      await sql`create function poison() returns trigger language plpgsql as $$
        begin if new.firmware = '6.6.6' then raise exception 'poison'; end if; return new; end $$`.execute(store.db);
      await sql`create trigger poison before insert on telemetry_reports for each row execute function poison()`.execute(
        store.db,
      );
    }
    const results = await Promise.allSettled([
      telemetry.ingest(msg('dev-a', { seq: 1 })),
      telemetry.ingest(msg('dev-c', { seq: 1, firmware: '6.6.6' })),
      telemetry.ingest(msg('dev-b', { seq: 1 })),
    ]);
    assert.equal(results[0]!.status, 'fulfilled');
    assert.equal(results[2]!.status, 'fulfilled');
    assert.ok(results[1]!.status === 'rejected' && isFleetwardError(results[1]!.reason, 'TELEMETRY_STORE_FAILED'));
    assert.equal((await telemetry.stats()).storedReports, 2);
  });
});

test('ingest: beyond maxPending, reports are refused with TELEMETRY_OVERLOADED (the device retries)', async (t) => {
  const { telemetry } = await setup(t, 'sqlite', { maxPending: 5, maxBatch: 1000, maxDelayMs: 50 });
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => telemetry.ingest(msg('dev-a', { seq: i }))),
  );
  const refused = results.filter((r) => r.status === 'rejected' && isFleetwardError(r.reason, 'TELEMETRY_OVERLOADED'));
  assert.equal(refused.length, 3);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 5);
});

test('listReports: since and cursor paging in arrival order; unknown device is DEVICE_NOT_FOUND', async (t) => {
  const { telemetry } = await setup(t, 'sqlite');
  for (let i = 1; i <= 5; i++) await telemetry.ingest(msg('dev-a', { seq: i }, i * 1_000));
  const p1 = await telemetry.listReports('dev-a', { since: 2_000, limit: 2 });
  assert.deepEqual(
    p1.items.map((i) => i.report.seq),
    [2, 3],
  );
  const p2 = await telemetry.listReports('dev-a', { since: 2_000, after: Number(p1.next), limit: 2 });
  assert.deepEqual(
    p2.items.map((i) => [i.report.seq, i.receivedAt]),
    [
      [4, 4_000],
      [5, 5_000],
    ],
  );
  assert.equal(p2.next, null);
  await assert.rejects(telemetry.listReports('nope', { limit: 1 }), (e) => isFleetwardError(e, 'DEVICE_NOT_FOUND'));
});
