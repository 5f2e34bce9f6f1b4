import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Metadata, Targets } from '@tufjs/models';
import { fetchVerifiedTarget } from '../../agent/update/tuf-client.ts';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { generateSigningKey, signerFor } from './keys.ts';
import { TEST_CTX, tufFixture } from './testing/tuf-fixture.ts';
import { metaFileFor, newSnapshot, newTimestamp, parseMetadata, serialize } from './tuf-metadata.ts';

/**
 * Each attack of the TUF threat model (spec §1.5.2) against the real tuf-js client the agent uses,
 * served by a mirror the attacker controls. A refusal must name the attack's code, and nothing may
 * reach the destination file.
 */
const FIRMWARE = Buffer.from('fleetward firmware image v1.0.0 '.repeat(64));

async function expectRefused(p: Promise<unknown>, code: string, dest: string): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isFleetwardError(err), `a coded error, got ${String(err)}`);
    assert.equal(err.code, code, `${err.code}: ${err.message} (${String((err as { cause?: unknown }).cause)})`);
    return true;
  });
  assert.equal(existsSync(dest), false, 'nothing reached the install path');
}

test('baseline: the real client verifies and downloads a published target', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  const got = await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest);
  assert.deepEqual(readFileSync(dest), FIRMWARE);
  assert.equal(got.custom.securityVersion, 1);
});

test('attack: arbitrary software (artifact altered after signing) is refused', async (t) => {
  const fx = await tufFixture(t);
  const { path, sha256 } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const evil = Buffer.from(FIRMWARE);
  evil.write('EVIL', 100);
  fx.overrides.set(`targets/lock/${sha256}.lock-1.0.0.fw`, evil);
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_ARTIFACT_MISMATCH',
    dest,
  );
});

test('attack: endless data (artifact longer than signed) is cut at the signed length', async (t) => {
  const fx = await tufFixture(t);
  const { path, sha256 } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  let sent = 0;
  fx.overrides.set(`targets/lock/${sha256}.lock-1.0.0.fw`, (_req, res) => {
    res.writeHead(200);
    // The legitimate bytes, then an endless tail: the client must stop, not fill its disk.
    res.write(FIRMWARE);
    const more = () => {
      while (res.write(Buffer.alloc(64 * 1024))) sent += 64 * 1024;
    };
    res.on('drain', more);
    more();
  });
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_ARTIFACT_TOO_LONG',
    dest,
  );
  assert.ok(sent < 64 * 1024 * 1024, 'the client stopped reading');
});

test('attack: rollback of metadata (an older timestamp) is refused', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const oldTimestamp = (await fx.repo.metadataFile('timestamp.json'))!;
  await fx.publish('lock', '1.1.0', 2, Buffer.concat([FIRMWARE, Buffer.from('v1.1')]));
  const dir = fx.newClientDir();
  await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, join(dir, 'first.bin'));
  // The client now trusts the newer timestamp; the mirror replays the old one.
  fx.overrides.set('timestamp.json', oldTimestamp);
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_ROLLBACK',
    dest,
  );
});

test('attack: rollback of metadata (an older snapshot under a newer timestamp) is refused', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const oldSnap = parseMetadata('snapshot', (await fx.repo.metadataFile('snapshot.json'))!);
  await fx.publish('lock', '1.1.0', 2, Buffer.concat([FIRMWARE, Buffer.from('v1.1')]));
  const current = parseMetadata('snapshot', (await fx.repo.metadataFile('snapshot.json'))!);
  const dir = fx.newClientDir();
  // The mirror serves the old snapshot's bytes under the new version's name.
  fx.overrides.set(`${current.signed.version}.snapshot.json`, serialize(oldSnap));
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_REJECTED',
    dest,
  );
});

test('attack: freeze (an expired timestamp) is refused; re-signing by the scheduler ends it', async (t) => {
  const day = 24 * 3600 * 1000;
  const clock = new ManualClock(Date.now() - 3 * day);
  const fx = await tufFixture(t, { clock });
  const { path } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  // The repository stopped re-signing three days ago: its timestamp (1 day) has lapsed.
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_EXPIRED',
    dest,
  );
  clock.set(Date.now());
  const renewed = await fx.tuf.refreshExpiring();
  assert.ok(renewed.includes('timestamp'));
  await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest);
  assert.deepEqual(readFileSync(dest), FIRMWARE);
});

test('attack: mix-and-match (targets of one version with the snapshot of another) is refused', async (t) => {
  const fx = await tufFixture(t);
  await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const oldLock = (await fx.repo.metadataFile('lock.json'))!;
  const { path } = await fx.publish('lock', '1.1.0', 2, Buffer.concat([FIRMWARE, Buffer.from('v1.1')]));
  const current = parseMetadata('targets', (await fx.repo.metadataFile('lock.json'))!);
  fx.overrides.set(`${current.signed.version}.lock.json`, oldLock);
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_REJECTED',
    dest,
  );
});

test("attack: one product's key signing another product's firmware is refused (server and client)", async (t) => {
  const fx = await tufFixture(t);
  await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const { path: camPath } = await fx.publish('camera', '2.0.0', 1, Buffer.from('camera firmware'));
  // The server never authors such metadata.
  await assert.rejects(
    fx.tuf.setProductTargets('lock', { 'camera/evil.fw': { length: 1, hashes: { sha256: '0'.repeat(64) } } }, TEST_CTX),
    (e) => isFleetwardError(e, 'TUF_TARGET_OUTSIDE_DELEGATION'),
  );
  // An insider with the lock key signs a camera target into the lock role and gets it published.
  const evil = Buffer.from('evil camera firmware');
  const evilPath = 'camera/camera-9.9.9.fw';
  const { createHash } = await import('node:crypto');
  await fx.repo.serial(async (tx) => {
    const cur = await fx.repo.current(tx, 'lock');
    const next = fx.repo.nextTargets(cur, {
      targets: {
        ...(cur.signed.toJSON().targets as object),
        [evilPath]: { length: evil.length, hashes: { sha256: createHash('sha256').update(evil).digest('hex') } },
      },
    });
    await fx.repo.signOnline(tx, next, 'lock', (await fx.repo.roleKeys(tx, 'lock')).keyIds);
    await fx.repo.storeMetadata(tx, 'lock', next);
    await fx.repo.bumpSnapshot(tx);
  });
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, evilPath, dest),
    'UPDATE_TARGET_UNKNOWN',
    dest,
  );
  // The camera's own firmware still verifies.
  await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, camPath, join(dir, 'cam.bin'));
});

test("attack: the lock key forging the camera role's metadata is refused", async (t) => {
  const fx = await tufFixture(t);
  await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const { path } = await fx.publish('camera', '2.0.0', 1, Buffer.from('camera firmware'));
  // A compromised repository publishes camera metadata signed with the lock key.
  await fx.repo.serial(async (tx) => {
    const cur = await fx.repo.current(tx, 'camera');
    const next = fx.repo.nextTargets(cur, {});
    await fx.repo.signOnline(tx, next, 'lock', (await fx.repo.roleKeys(tx, 'lock')).keyIds);
    await fx.repo.storeMetadata(tx, 'camera', next);
    await fx.repo.bumpSnapshot(tx);
  });
  const dir = fx.newClientDir();
  const dest = join(dir, 'cam.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_REJECTED',
    dest,
  );
});

test('attack: a compromised timestamp key alone cannot introduce software', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 1, FIRMWARE);
  const tsKey = await fx.repo.serial(async (tx) => (await fx.repo.onlineKeys(tx, 'timestamp'))[0]!);
  const evil = Buffer.from('evil');
  const { createHash } = await import('node:crypto');
  // The attacker's own targets for the lock role and a snapshot naming them, signed with what they have.
  const attackerKey = generateSigningKey();
  const lockNow = parseMetadata('targets', (await fx.repo.metadataFile('lock.json'))!);
  const forgedLock = new Metadata(
    Targets.fromJSON({
      ...(lockNow.signed.toJSON() as object),
      version: lockNow.signed.version + 1,
      targets: { [path]: { length: evil.length, hashes: { sha256: createHash('sha256').update(evil).digest('hex') } } },
    } as never),
  );
  forgedLock.sign(signerFor(attackerKey));
  const snapNow = parseMetadata('snapshot', (await fx.repo.metadataFile('snapshot.json'))!);
  const tsNow = parseMetadata('timestamp', (await fx.repo.metadataFile('timestamp.json'))!);
  const lockBody = serialize(forgedLock);
  const meta = { ...snapNow.signed.meta, 'lock.json': metaFileFor(forgedLock.signed.version, lockBody) };
  const forgedSnap = newSnapshot(snapNow.signed.version + 1, Date.now() + 86_400_000, meta);
  forgedSnap.sign(signerFor(tsKey));
  const snapBody = serialize(forgedSnap);
  const forgedTs = newTimestamp(
    tsNow.signed.version + 1,
    Date.now() + 86_400_000,
    metaFileFor(forgedSnap.signed.version, snapBody),
  );
  forgedTs.sign(signerFor(tsKey));
  fx.overrides.set('timestamp.json', serialize(forgedTs));
  fx.overrides.set(`${forgedSnap.signed.version}.snapshot.json`, snapBody);
  fx.overrides.set(`${forgedLock.signed.version}.lock.json`, lockBody);
  const dir = fx.newClientDir();
  const dest = join(dir, 'fw.bin');
  await expectRefused(
    fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, dest),
    'UPDATE_METADATA_REJECTED',
    dest,
  );
  assert.ok(fx.requests.includes(`GET ${forgedSnap.signed.version}.snapshot.json`), 'the forged snapshot was offered');
  assert.ok(
    !fx.requests.some((r) => r.includes(`${forgedLock.signed.version}.lock.json`)),
    'and refused before any targets',
  );
});
