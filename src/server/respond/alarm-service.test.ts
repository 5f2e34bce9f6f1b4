import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { BusEvents } from '../bus/bus.types.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { LedgerService } from '../ledger/index.ts';
import { RegistryService } from '../registry/index.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import type { AlarmEvent } from './model.ts';
import { RespondService } from './service.ts';

const ctx = { actor: 'operator:alice', source: '127.0.0.1' };
const code = (c: string) => (err: unknown) => isFleetwardError(err, c);

function raised(deviceId: string, behaviour: string, at: number, value = 10): BusEvents['alarm.raised'] {
  return {
    deviceId,
    profileId: 'baseline',
    behaviour,
    kind: 'static',
    severity: 'high',
    at,
    evidence: {
      metric: 'auth-failures',
      threshold: '> 5',
      value,
      recent: [value],
    } as BusEvents['alarm.raised']['evidence'],
    mitigations: [],
    notifyUrl: null,
  };
}

async function setup(t: Parameters<typeof freshStore>[0], dialect: 'sqlite' | 'postgres') {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus((_t, err) => {
    throw err;
  });
  const registry = new RegistryService(store, ledger, bus, clock);
  const respond = new RespondService({ store, ledger, bus, clock, registry });
  respond.start();
  t.after(() => respond.stop());
  const events: AlarmEvent[] = [];
  respond.feed.subscribe({ send: (e) => events.push(e), end: () => {}, backlog: () => 0 }, null);
  return { store, clock, ledger, bus, respond, events };
}

test('alarms: raise, de-duplicate, acknowledge, clear; every change ledgered and streamed', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { respond, bus, clock, ledger, events } = await setup(t, dialect);
    await bus.publish('alarm.raised', raised('d1', 'auth', clock.now(), 9));
    await bus.publish('alarm.raised', raised('d1', 'auth', clock.now() + 60_000, 12));
    await bus.publish('alarm.raised', raised('d2', 'auth', clock.now()));
    await respond.idle();
    const open = await respond.alarms.list({ state: 'open' }, undefined, 10);
    assert.equal(open.items.length, 2, 'one open alarm per device and behaviour');
    const a = open.items.find((x) => x.deviceId === 'd1')!;
    assert.equal(a.raiseCount, 2);
    assert.equal(a.evidence.value, 12, 'evidence of the latest firing');
    assert.deepEqual(
      events.map((e) => e.type),
      ['raised', 'repeated', 'raised'],
    );

    const acked = await respond.alarms.acknowledge(a.id, ctx);
    assert.deepEqual([acked.state, acked.acknowledgedBy], ['acknowledged', 'operator:alice']);
    await assert.rejects(respond.alarms.acknowledge(a.id, ctx), code('ALARM_STATE_CONFLICT'));
    // The condition ends on its own: detection clears it.
    await bus.publish('alarm.cleared', { deviceId: 'd1', profileId: 'baseline', behaviour: 'auth', at: clock.now() });
    await respond.idle();
    const cleared = await respond.alarms.get(a.id);
    assert.deepEqual([cleared.state, cleared.clearedBy], ['cleared', 'system']);
    await assert.rejects(respond.alarms.clear(a.id, 'again', ctx), code('ALARM_STATE_CONFLICT'));
    // A new firing after the clear is a new alarm.
    await bus.publish('alarm.raised', raised('d1', 'auth', clock.now() + 120_000));
    await respond.idle();
    assert.equal((await respond.alarms.list({ deviceId: 'd1' }, undefined, 10)).items.length, 2);

    const other = (await respond.alarms.list({ deviceId: 'd2' }, undefined, 10)).items[0]!;
    const closed: string[] = [];
    bus.subscribe('alarm.closed', (e) => void closed.push(e.deviceId));
    await respond.alarms.clear(other.id, 'false positive: pen test', ctx);
    await respond.idle();
    assert.deepEqual(closed, ['d2'], 'detection is told to forget its state');
    await assert.rejects(respond.alarms.get('al-nope'), code('ALARM_NOT_FOUND'));
    const actions = (await ledger.list({ limit: 100 })).map((e) => e.action);
    for (const act of ['alarm.raise', 'alarm.acknowledge', 'alarm.clear']) assert.ok(actions.includes(act), act);
    assert.ok((await ledger.verify()).ok);
  });
});

test('alarms: suppression with a reason and an expiry covers re-raises of the same key', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { respond, bus, clock } = await setup(t, dialect);
    await bus.publish('alarm.raised', raised('d1', 'ports', clock.now()));
    await respond.idle();
    const [a] = (await respond.alarms.list({}, undefined, 10)).items;
    const s = await respond.alarms.suppress(a!.id, 'maintenance window', 3_600_000, ctx);
    assert.deepEqual([s.suppressionReason, s.suppressedUntil], ['maintenance window', clock.now() + 3_600_000]);
    await respond.alarms.clear(a!.id, 'done', ctx);
    // Raised again within the hour: recorded, but suppressed (no mitigation, no notification).
    clock.advance(600_000);
    const inside = await respond.alarms.raise(raised('d1', 'ports', clock.now()));
    assert.equal(inside.suppressed, true);
    assert.equal(inside.alarm.suppressionReason, 'maintenance window');
    await respond.alarms.clear(inside.alarm.id, 'done', ctx);
    // After the expiry: a normal alarm again.
    clock.advance(3_600_000);
    const after = await respond.alarms.raise(raised('d1', 'ports', clock.now()));
    assert.deepEqual([after.created, after.suppressed, after.alarm.suppressedUntil], [true, false, null]);
    // Another device's same behaviour was never suppressed.
    assert.equal((await respond.alarms.raise(raised('d2', 'ports', clock.now()))).suppressed, false);
  });
});

test('alarms: list filters and keyset pagination, newest first', async (t) => {
  const { respond, clock } = await setup(t, 'sqlite');
  for (let i = 0; i < 5; i++) {
    clock.advance(1000);
    await respond.alarms.raise(raised(`d${i}`, 'auth', clock.now()));
  }
  const p1 = await respond.alarms.list({}, undefined, 2);
  const p2 = await respond.alarms.list({}, p1.next!, 2);
  const p3 = await respond.alarms.list({}, p2.next!, 2);
  assert.deepEqual(
    [...p1.items, ...p2.items, ...p3.items].map((a) => a.deviceId),
    ['d4', 'd3', 'd2', 'd1', 'd0'],
  );
  assert.equal(p3.next, null);
  assert.equal((await respond.alarms.list({ severity: 'low' }, undefined, 10)).items.length, 0);
});
