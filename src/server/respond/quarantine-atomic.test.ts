import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { RegistryService } from '../registry/index.ts';
import { FailingLedger } from '../testing/failing-ledger.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { RespondService } from './service.ts';

const alice = { actor: 'operator:alice', source: null };

class MemoryOutbox implements DeviceOutbox {
  readonly sent: unknown[] = [];
  async sendCommand(_deviceId: string, command: unknown): Promise<void> {
    this.sent.push(command);
  }
  async disconnect(): Promise<void> {}
}

async function setup(t: Parameters<typeof freshStore>[0], dialect: 'sqlite' | 'postgres') {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new FailingLedger(store, clock);
  const bus = new InProcessBus(() => {});
  t.after(() => bus.close());
  const registry = new RegistryService(store, ledger, bus, clock);
  const outbox = new MemoryOutbox();
  const respond = new RespondService({ store, ledger, bus, clock, registry, outbox });
  await registry.createProduct(
    { id: 'lock', name: 'L', model: 'M', manufacturer: 'A', description: '', supportEnd: '2031-01-01' },
    alice,
  );
  await registry.createDevice({ id: 'l1', productId: 'lock', serial: 'l1' }, alice);
  await registry.setDeviceStatus('l1', 'active', 'enrolled', alice);
  const events: string[] = [];
  for (const topic of ['device.updated', 'device.quarantined', 'device.quarantine.released'] as const) {
    bus.subscribe(topic, () => void events.push(topic));
  }
  const state = async () => {
    const d = await registry.getDevice('l1');
    return { status: d.status, zone: d.zone, records: (await respond.mitigations.list('l1')).length };
  };
  return { respond, ledger, bus, outbox, events, state };
}

test('quarantine is one transaction: a failure in the middle leaves status, zone and records untouched, nothing sent', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const fx = await setup(t, dialect);
    const before = await fx.state();
    fx.events.length = 0;
    // The mitigation record fails after status and zone were written in the same transaction.
    fx.ledger.failOn = 'mitigation.quarantine';
    await assert.rejects(fx.respond.mitigations.quarantine('l1', 'suspicious', alice), /injected failure/);
    await fx.bus.close();
    assert.deepEqual(await fx.state(), before, 'still active in its zone, no record');
    assert.equal(fx.events.length, 0, 'nothing announced');
    assert.deepEqual(fx.outbox.sent, [], 'no notice sent for a change that did not happen');

    fx.ledger.failOn = null;
    const rec = await fx.respond.mitigations.quarantine('l1', 'suspicious', alice);
    assert.equal(rec.details.notice, 'sent');
    assert.deepEqual(await fx.state(), { status: 'quarantined', zone: 'quarantine', records: 1 });
    assert.equal(
      (await fx.respond.mitigations.list('l1'))[0]!.details.notice,
      'sent',
      'the notice outcome is on record',
    );
    assert.ok((await fx.ledger.verify()).ok);
  });
});

test('release is one transaction: a failure in the middle keeps the device quarantined, nothing sent', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const fx = await setup(t, dialect);
    await fx.respond.mitigations.quarantine('l1', 'suspicious', alice);
    await fx.bus.close();
    const before = await fx.state();
    const sent = fx.outbox.sent.length;
    fx.events.length = 0;
    fx.ledger.failOn = 'mitigation.release-quarantine';
    await assert.rejects(fx.respond.mitigations.releaseQuarantine('l1', 'clean', alice), /injected failure/);
    await fx.bus.close();
    assert.deepEqual(await fx.state(), before, 'still quarantined, no release record');
    assert.equal(fx.events.length, 0, 'nothing announced');
    assert.equal(fx.outbox.sent.length, sent, 'no release notice');

    fx.ledger.failOn = null;
    await fx.respond.mitigations.releaseQuarantine('l1', 'clean', alice);
    await fx.bus.close();
    assert.deepEqual(await fx.state(), { status: 'active', zone: 'default', records: 2 });
    assert.deepEqual(fx.events, ['device.updated', 'device.quarantine.released']);
    assert.ok((await fx.ledger.verify()).ok);
  });
});
