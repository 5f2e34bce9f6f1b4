import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { LedgerService } from '../ledger/index.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { RegistryService } from './service.ts';

const ctx = { actor: 'operator:test', source: null };
const code = (c: string) => (err: unknown) => isFleetwardError(err, c);
const product = {
  id: 'lock',
  name: 'Smart Lock',
  model: 'SL-1',
  manufacturer: 'Acme',
  description: '',
  supportEnd: '2030-12-31',
};

async function setup(t: Parameters<typeof freshStore>[0], dialect: 'sqlite' | 'postgres') {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus((_topic, err) => {
    throw err;
  });
  return { store, ledger, bus, registry: new RegistryService(store, ledger, bus, clock) };
}

test('registry: products and devices round-trip, with events and ledger entries', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { registry, ledger, bus } = await setup(t, dialect);
    const seen: string[] = [];
    bus.subscribe('device.created', (e) => {
      seen.push(e.deviceId);
    });
    await registry.createProduct(product, ctx);
    await assert.rejects(registry.createProduct(product, ctx), code('PRODUCT_EXISTS'));
    const d = await registry.createDevice(
      { id: 'lock-001', productId: 'lock', serial: 'A1', tags: ['site:b', 'site:a', 'site:a'] },
      ctx,
    );
    assert.deepEqual(d.tags, ['site:a', 'site:b']);
    assert.equal(d.status, 'registered');
    assert.equal(d.zone, 'default');
    await assert.rejects(
      registry.createDevice({ id: 'lock-002', productId: 'lock', serial: 'A1' }, ctx),
      code('DEVICE_EXISTS'),
    );
    await assert.rejects(
      registry.createDevice({ id: 'x', productId: 'nope', serial: 'Z' }, ctx),
      code('PRODUCT_NOT_FOUND'),
    );
    const updated = await registry.updateDevice('lock-001', { group: 'floor-1', tags: ['site:c'] }, ctx);
    assert.deepEqual([updated.group, updated.tags], ['floor-1', ['site:c']]);
    await assert.rejects(registry.deleteProduct('lock', ctx), code('PRODUCT_IN_USE'));
    await registry.deleteDevice('lock-001', ctx);
    await registry.deleteProduct('lock', ctx);
    await assert.rejects(registry.getProduct('lock'), code('PRODUCT_NOT_FOUND'));
    await bus.close();
    assert.deepEqual(seen, ['lock-001']);
    const actions = (await ledger.list({ limit: 100 })).map((e) => e.action).reverse();
    assert.deepEqual(actions, ['product.create', 'device.create', 'device.update', 'device.delete', 'product.delete']);
    assert.equal((await ledger.verify()).ok, true);
  });
});

test('registry: filters combine and pagination visits every device exactly once', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { registry } = await setup(t, dialect);
    await registry.createProduct(product, ctx);
    await registry.createProduct({ ...product, id: 'meter' }, ctx);
    for (let i = 0; i < 25; i++) {
      await registry.createDevice(
        {
          id: `dev-${String(i).padStart(3, '0')}`,
          productId: i % 2 ? 'meter' : 'lock',
          serial: `S${i}`,
          tags: i % 3 === 0 ? ['site:a', 'batch:1'] : ['site:b'],
          group: i < 10 ? 'early' : null,
        },
        ctx,
      );
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await registry.listDevices({}, after, 7);
      seen.push(...page.items.map((d) => d.id));
      if (!page.next) break;
      after = page.next;
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    const meters = await registry.listDevices({ productId: 'meter', tags: ['site:a', 'batch:1'] }, undefined, 100);
    assert.deepEqual(
      meters.items.map((d) => d.id),
      ['dev-003', 'dev-009', 'dev-015', 'dev-021'],
    );
    const early = await registry.listDevices({ group: 'early', idPrefix: 'dev-00' }, undefined, 100);
    assert.equal(early.items.length, 10);
    const none = await registry.listDevices({ tags: ['site:a', 'site:b'] }, undefined, 100);
    assert.deepEqual(none, { items: [], next: null });
  });
});

test('registry: a status change is recorded with its reason', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { registry, ledger } = await setup(t, dialect);
    await registry.createProduct(product, ctx);
    await registry.createDevice({ id: 'd1', productId: 'lock', serial: 'S' }, ctx);
    const d = await registry.setDeviceStatus('d1', 'quarantined', 'new listening port 23', ctx);
    assert.equal(d.status, 'quarantined');
    const [e] = await ledger.list({ limit: 1 });
    assert.deepEqual(e!.details, { from: 'registered', to: 'quarantined', reason: 'new listening port 23' });
  });
});
