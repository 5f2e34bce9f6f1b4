import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { parseCommand } from '../../protocol/commands.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { LedgerService } from '../ledger/index.ts';
import { RegistryService } from '../registry/index.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { CommandUpdatePort } from './command-update-port.ts';
import { RespondService } from './service.ts';

const alice = { actor: 'operator:alice', source: null };
const bob = { actor: 'operator:bob', source: null };
const code = (c: string) => (err: unknown) => isFleetwardError(err, c);

/** A real in-memory outbox: what a connected device would receive. */
class MemoryOutbox implements DeviceOutbox {
  readonly sent: Array<{ deviceId: string; command: unknown }> = [];
  offline = new Set<string>();
  async sendCommand(deviceId: string, command: unknown): Promise<void> {
    if (this.offline.has(deviceId)) throw new Error('offline');
    this.sent.push({ deviceId, command });
  }
  async disconnect(): Promise<void> {}
}

async function setup(t: Parameters<typeof freshStore>[0], dialect: 'sqlite' | 'postgres', withRelease = true) {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const bus = new InProcessBus(() => {});
  const registry = new RegistryService(store, ledger, bus, clock);
  const outbox = new MemoryOutbox();
  const release = { id: 'rel-9', version: '9.0.0', targetPath: 'lock/lock-9.0.0.fw', securityVersion: 9 };
  const updates = new CommandUpdatePort({
    outbox,
    registry,
    clock,
    latestRelease: async () => (withRelease ? release : null),
    metadataUrl: () => 'https://fleet.example/device/v1/tuf/',
  });
  const respond = new RespondService({ store, ledger, bus, clock, registry, outbox, updates });
  await registry.createProduct(
    { id: 'lock', name: 'L', model: 'M', manufacturer: 'A', description: '', supportEnd: '2031-01-01' },
    alice,
  );
  for (const id of ['l1', 'l2']) await registry.createDevice({ id, productId: 'lock', serial: id }, alice);
  return { respond, registry, outbox, clock, ledger };
}

test('mitigations: quarantine is idempotent and reversible; the device is told; failures are recorded', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { respond, registry, outbox, ledger } = await setup(t, dialect);
    const m = respond.mitigations;
    const first = await m.quarantine('l1', 'suspicious', alice);
    const again = await m.quarantine('l1', 'again', alice);
    assert.equal(again.id, first.id, 'already quarantined: the same record, no second change');
    assert.equal(first.details.notice, 'sent');
    assert.deepEqual(
      outbox.sent.map((s) => parseCommand(s.command)).map((c) => (c.type === 'quarantine-notice' ? c.state : c.type)),
      ['quarantined'],
      'a valid quarantine-notice command',
    );
    assert.deepEqual(
      [(await registry.getDevice('l1')).status, (await registry.getDevice('l1')).zone],
      ['quarantined', 'quarantine'],
    );
    await m.releaseQuarantine('l1', 'clean', bob);
    assert.deepEqual(
      [(await registry.getDevice('l1')).status, (await registry.getDevice('l1')).zone],
      ['registered', 'default'],
    );
    await assert.rejects(m.releaseQuarantine('l1', 'x', bob), code('MITIGATION_FAILED'));
    await assert.rejects(m.quarantine('nope', 'x', alice), code('DEVICE_NOT_FOUND'));
    outbox.offline.add('l2');
    assert.equal(
      (await m.quarantine('l2', 'offline device', alice)).details.notice,
      'failed',
      'quarantined even if unreachable',
    );
    await assert.rejects(m.revoke('l2', 'x', alice), code('MITIGATION_UNAVAILABLE'), 'no identity port: says so');
    assert.ok((await ledger.verify()).ok);
  });
});

test('force update sends the newest published release as a valid update command; none published is a coded failure', async (t) => {
  const ok = await setup(t, 'sqlite');
  const rec = await ok.respond.mitigations.forceUpdate('l1', 'CVE fix', alice);
  assert.equal(rec.state, 'applied');
  const cmd = parseCommand(ok.outbox.sent.at(-1)!.command);
  assert.equal(cmd.type, 'update');
  if (cmd.type === 'update') assert.deepEqual([cmd.release, cmd.version, cmd.securityVersion], ['rel-9', '9.0.0', 9]);
  const none = await setup(t, 'sqlite', false);
  await assert.rejects(none.respond.mitigations.forceUpdate('l1', 'x', alice), code('MITIGATION_FAILED'));
  const [failed] = await none.respond.mitigations.list('l1');
  assert.deepEqual(
    [failed!.action, failed!.state, failed!.details.code],
    ['force-update', 'failed', 'MITIGATION_FAILED'],
  );
});

test('emergency actions lapse after an hour; the requester cannot approve; a rejection is final', async (t) => {
  const { respond, clock } = await setup(t, 'sqlite');
  const e = respond.emergencies;
  const a = await e.request('quarantine-product', 'lock', 'outbreak', alice);
  await assert.rejects(e.approve(a.id, alice), code('EMERGENCY_SAME_ADMIN'));
  clock.advance(60 * 60_000 + 1);
  await assert.rejects(e.approve(a.id, bob), code('EMERGENCY_EXPIRED'));
  assert.equal((await e.get(a.id)).state, 'expired', 'the lapse is recorded');
  const b = await e.request('rotate-product-credentials', 'lock', 'key leak', alice);
  const done = await e.approve(b.id, bob);
  assert.deepEqual([done.state, done.result], ['failed', { code: 'MITIGATION_UNAVAILABLE' }], 'no identity port wired');
  const c = await e.request('quarantine-product', 'lock', 'x', alice);
  assert.equal((await e.reject(c.id, alice)).state, 'rejected');
  await assert.rejects(e.approve(c.id, bob), code('EMERGENCY_NOT_PENDING'));
  await assert.rejects(e.request('quarantine-product', 'nope', 'x', alice), code('PRODUCT_NOT_FOUND'));
});
