import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import { RegistryService } from '../registry/index.ts';
import { opensslKeyAndCsr } from '../testing/device-keys.ts';
import { FailingLedger } from '../testing/failing-ledger.ts';
import { forEachDialect, freshDatabase, freshStore } from '../testing/test-stores.ts';
import { CertificateAuthority } from './ca.ts';
import { DEFAULT_IDENTITY_OPTIONS } from './model.ts';
import { IdentityService } from './service.ts';

const alice = { actor: 'operator:alice', source: null };

class CountingOutbox implements DeviceOutbox {
  readonly disconnected: string[] = [];
  async sendCommand(): Promise<void> {}
  async disconnect(deviceId: string): Promise<void> {
    this.disconnected.push(deviceId);
  }
}

test('revocation is one transaction: a failure in the middle leaves certificates, status and events untouched', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const store = await freshStore(t, dialect);
    const { dataDir } = await freshDatabase(t, 'sqlite');
    const clock = new ManualClock(Date.now());
    const ledger = new FailingLedger(store, clock);
    const bus = new InProcessBus(() => {});
    t.after(() => bus.close());
    const registry = new RegistryService(store, ledger, bus, clock);
    const ca = await CertificateAuthority.open(dataDir, randomBytes(32), clock.now());
    const identity = new IdentityService({
      store,
      ledger,
      bus,
      clock,
      registry,
      ca,
      options: DEFAULT_IDENTITY_OPTIONS,
    });
    const outbox = new CountingOutbox();
    identity.useOutbox(outbox);
    await registry.createProduct(
      { id: 'lock', name: 'L', model: 'M', manufacturer: 'A', description: '', supportEnd: '2031-01-01' },
      alice,
    );
    const [token] = await identity.createEnrollmentTokens({ productId: 'lock', deviceId: 'd1' }, alice);
    await identity.enroll({ token: token!.token, csr: opensslKeyAndCsr('p256', '/CN=d1').csrPem }, null);
    const events: string[] = [];
    bus.subscribe('device.certificate.revoked', () => void events.push('certificate.revoked'));
    bus.subscribe('device.updated', () => void events.push('device.updated'));

    // The device's status write fails after its certificates were revoked in the same transaction.
    ledger.failOn = 'device.status';
    await assert.rejects(identity.revokeDevice('d1', 'stolen', alice), /injected failure/);
    await bus.close(); // waits for handlers already started (none should be)
    assert.deepEqual(
      (await identity.listCertificates('d1')).map((c) => c.status),
      ['active'],
      'the certificate is still active',
    );
    assert.equal((await registry.getDevice('d1')).status, 'active', 'the device is still active');
    assert.equal(events.length, 0, 'nothing announced');
    assert.deepEqual(outbox.disconnected, [], 'no session ended');
    assert.equal((await ledger.list({ action: 'device.revoke', limit: 10 })).length, 0, 'no revocation on record');

    ledger.failOn = null;
    const revoked = await identity.revokeDevice('d1', 'stolen', alice);
    assert.equal(revoked.length, 1);
    assert.deepEqual(
      (await identity.listCertificates('d1')).map((c) => c.status),
      ['revoked'],
    );
    assert.equal((await registry.getDevice('d1')).status, 'revoked');
    await bus.close();
    assert.deepEqual(outbox.disconnected, ['d1'], 'the live session ends after the commit');
    assert.ok(events.includes('certificate.revoked') && events.includes('device.updated'));
    assert.ok((await ledger.verify()).ok);
  });
});
