import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { sampleReport } from '../../protocol/testing/sample-report.ts';
import type { BusEvents } from '../bus/bus.types.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { LedgerService } from '../ledger/index.ts';
import { RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { CloudMetrics } from './cloud-metrics.ts';
import type { NewProfile } from './profile-service.ts';
import { ProfileService } from './profile-service.ts';
import { DetectService } from './service.ts';

const ctx = { actor: 'operator:test', source: null };
const HOUR = 3_600_000;

const profile: NewProfile = {
  id: 'locks',
  name: 'Locks',
  description: '',
  enabled: true,
  targets: [{ kind: 'tag', value: 'site:berlin' }],
  behaviours: [
    {
      name: 'new-port',
      kind: 'new-value',
      metric: 'listening-ports',
      learningMs: HOUR,
      severity: 'high',
      toAlarm: 1,
      toClear: 1,
    },
    { name: 'silent', kind: 'silent', intervalMs: 60_000, missed: 5, severity: 'low', toAlarm: 1, toClear: 1 },
  ],
  mitigations: [],
  notifyUrl: null,
};

async function boot(store: Store, clock: ManualClock) {
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus((_t, err) => {
    throw err;
  });
  const registry = new RegistryService(store, ledger, bus, clock);
  const profiles = new ProfileService(store, ledger, clock);
  const detect = new DetectService(
    { store, bus, clock, profiles, registry },
    { tickMs: 3_600_000, flushMs: 3_600_000 },
  );
  const raised: Array<BusEvents['alarm.raised']> = [];
  bus.subscribe('alarm.raised', (e) => void raised.push(e));
  await detect.start();
  return { registry, profiles, detect, bus, raised, ledger };
}

test('detect service: profiles by target, learned state survives a restart, silence on the clock', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const clock = new ManualClock();
    const first = await boot(store, clock);
    await first.registry.createProduct(
      { id: 'lock', name: 'L', model: 'M', manufacturer: 'A', description: '', supportEnd: '2031-01-01' },
      ctx,
    );
    await first.registry.createDevice({ id: 'in-berlin', productId: 'lock', serial: '1', tags: ['site:berlin'] }, ctx);
    await first.registry.createDevice({ id: 'in-paris', productId: 'lock', serial: '2', tags: ['site:paris'] }, ctx);
    await first.profiles.create(profile, ctx);
    await assert.rejects(first.profiles.create(profile, ctx), (e) => isFleetwardError(e, 'PROFILE_EXISTS'));
    const report = (seq: number, ports: number[]) =>
      sampleReport({ seq, listening: ports.map((port) => ({ proto: 'tcp' as const, port, addr: '0.0.0.0' })) });
    const publish = (deviceId: string, seq: number, ports: number[]) =>
      first.bus.publish('telemetry.accepted', {
        reports: [{ deviceId, receivedAt: clock.now(), report: report(seq, ports) }],
      });

    // Learning for an hour: port 22 is normal for both devices.
    for (let i = 0; i < 7; i++) {
      await publish('in-berlin', i, [22]);
      await publish('in-paris', i, [22]);
      clock.advance(10 * 60_000);
    }
    await first.detect.idle();
    assert.deepEqual(first.raised, []);
    await first.detect.stop();

    // A restart: the learned values and the last-seen times come back from the database.
    const second = await boot(store, clock);
    await second.bus.publish('telemetry.accepted', {
      reports: [
        { deviceId: 'in-berlin', receivedAt: clock.now(), report: report(8, [22, 4444]) },
        { deviceId: 'in-paris', receivedAt: clock.now(), report: report(8, [22, 4444]) },
        { deviceId: 'unknown-device', receivedAt: clock.now(), report: report(1, [4444]) },
      ],
    });
    await second.detect.idle();
    assert.deepEqual(
      second.raised.map((r) => `${r.deviceId}/${r.behaviour}`),
      ['in-berlin/new-port'],
      'only the device the profile targets (by tag); unknown devices are ignored',
    );
    assert.deepEqual(second.raised[0]!.evidence, {
      metric: 'listening-ports',
      value: ['tcp/4444'],
      threshold: 'seen while learning: 1 values',
      recent: [['tcp/4444']],
    });

    // Silence: five missed minutes is not yet, six is.
    clock.advance(5 * 60_000);
    await second.detect.tick();
    assert.equal(second.raised.length, 1);
    clock.advance(60_001);
    await second.detect.tick();
    assert.deepEqual(
      second.raised.slice(1).map((r) => `${r.deviceId}/${r.behaviour}`),
      ['in-berlin/silent'],
    );

    // Disabling the profile stops detection at once.
    await second.profiles.update('locks', { enabled: false }, ctx);
    await second.detect.idle();
    await second.bus.publish('telemetry.accepted', {
      reports: [{ deviceId: 'in-berlin', receivedAt: clock.now(), report: report(9, [22, 5555]) }],
    });
    await second.detect.idle();
    assert.equal(second.raised.length, 2);
    await second.detect.stop();
    const actions = (await second.ledger.list({ limit: 50 })).map((e) => e.action);
    assert.ok(actions.includes('security-profile.create') && actions.includes('security-profile.update'));
  });
});

test('cloud metrics: broker counters become per-minute rates; refusals and malformed reports count over a minute', () => {
  let snap = { messages: 10, bytes: 5000, connects: 1, disconnects: 0, authzFailures: 0, source: '192.0.2.5' };
  const cloud = new CloudMetrics({ snapshot: () => snap });
  const dp = (at: number) => cloud.enrich({ deviceId: 'd', at, numbers: {}, sets: {} });
  const first = dp(0);
  assert.equal(first.numbers['mqtt-messages'], undefined, 'no rate from a single sample');
  assert.deepEqual(first.sets['source-addresses'], ['192.0.2.5']);
  snap = { ...snap, messages: 40, bytes: 11_000, connects: 4, disconnects: 3, authzFailures: 2 };
  cloud.note('d', 'malformed', 100_000);
  cloud.note('d', 'malformed', 110_000);
  cloud.note('d', 'refused', 115_000);
  const second = dp(120_000);
  assert.deepEqual(
    [
      second.numbers['mqtt-messages'],
      second.numbers['mqtt-bytes'],
      second.numbers['mqtt-connects'],
      second.numbers['mqtt-disconnects'],
    ],
    [15, 3000, 1.5, 1.5],
  );
  assert.equal(second.numbers['malformed-reports'], 2);
  assert.equal(second.numbers['mqtt-authz-failures'], 1, 'max of the refusal count and the counter rate (1/min)');
  assert.equal(dp(300_000).numbers['malformed-reports'], 0, 'older than a minute: forgotten');
});

test('allow-lists by host name: matched through the addresses the name resolved to, refreshed with the profiles', async (t) => {
  const store = await freshStore(t, 'sqlite');
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus(() => {});
  const registry = new RegistryService(store, ledger, bus, clock);
  const profiles = new ProfileService(store, ledger, clock);
  const dns: Record<string, string[]> = { 'api.vendor.example': ['198.51.100.10'] };
  const detect = new DetectService({
    store,
    bus,
    clock,
    profiles,
    registry,
    resolveHost: async (h) => dns[h] ?? Promise.reject(new Error('NXDOMAIN')),
  });
  const raised: string[] = [];
  bus.subscribe('alarm.raised', (e) => void raised.push(JSON.stringify(e.evidence)));
  await detect.start();
  await registry.createProduct(
    { id: 'p', name: 'P', model: 'M', manufacturer: 'A', description: '', supportEnd: '2031-01-01' },
    ctx,
  );
  await registry.createDevice({ id: 'd', productId: 'p', serial: '1' }, ctx);
  await profiles.create(
    {
      ...profile,
      id: 'dst',
      targets: [{ kind: 'all', value: '' }],
      behaviours: [
        {
          name: 'dst',
          kind: 'set-membership',
          metric: 'destinations',
          allowed: ['api.vendor.example', '10.0.0.0/8', 'gone.example'],
          severity: 'high',
          toAlarm: 1,
          toClear: 1,
        },
      ],
    },
    ctx,
  );
  await detect.idle();
  const observe = (destinations: string[]) =>
    detect.observe({ deviceId: 'd', at: clock.now(), numbers: {}, sets: { destinations } });
  await observe(['198.51.100.10', '10.1.2.3']);
  assert.deepEqual(raised, []);
  await observe(['198.51.100.10', '203.0.113.99']);
  await detect.idle();
  assert.equal(raised.length, 1);
  assert.match(raised[0]!, /203\.0\.113\.99/);
  await detect.stop();
});
