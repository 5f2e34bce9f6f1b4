import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchVerifiedTarget } from '../../agent/update/tuf-client.ts';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { decryptKeyFile, encryptKeyFile, generateSigningKey, type SigningKey, signerFor } from './keys.ts';
import { DEFAULT_EXPIRY } from './model.ts';
import { TEST_CTX, tufFixture } from './testing/tuf-fixture.ts';
import { parseMetadata } from './tuf-metadata.ts';

const FW = Buffer.from('firmware '.repeat(100));
const HOUR = 3600_000;

/** What `fleetward tuf sign` does on the offline machine: add a signature to the exported draft. */
function signDraft(draft: unknown, role: string, key: SigningKey): unknown {
  const md = parseMetadata(role === 'root' ? 'root' : 'targets', draft);
  md.sign(signerFor(key));
  return md.toJSON();
}

test('root 2-of-3: one root key alone cannot publish a new root; the client refuses such a root', async (t) => {
  const fx = await tufFixture(t, { init: { rootKeys: 3, rootThreshold: 2 } });
  const { path } = await fx.publish('lock', '1.0.0', 1, FW);
  const root1 = parseMetadata('root', (await fx.repo.metadataFile('1.root.json'))!);
  assert.equal(root1.signed.roles.root!.threshold, 2);
  assert.equal(Object.keys(root1.signatures).length, 3);
  // A mirror offers a root v2 signed by one stolen root key (below the threshold).
  const stolen = await fx.repo.serial(async (tx) => (await fx.repo.onlineKeys(tx, 'root'))[0]!);
  const forged = parseMetadata('root', (await fx.repo.metadataFile('1.root.json'))!);
  const v2 = parseMetadata('root', {
    ...forged.toJSON(),
    signed: { ...forged.signed.toJSON(), version: 2 },
    signatures: [],
  });
  v2.sign(signerFor(stolen));
  fx.overrides.set('2.root.json', JSON.stringify(v2.toJSON()));
  const dir = fx.newClientDir();
  await assert.rejects(fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, join(dir, 'fw')), (e) =>
    isFleetwardError(e, 'UPDATE_METADATA_UNSIGNED'),
  );
});

test('root rotation to offline keys: signed by old and new thresholds, imported, followed by clients', async (t) => {
  const fx = await tufFixture(t, { init: { rootKeys: 1, rootThreshold: 1 } });
  const { path } = await fx.publish('lock', '1.0.0', 1, FW);
  const dir = fx.newClientDir();
  await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, join(dir, 'a'));
  const offline = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
  const targetsKey = generateSigningKey();
  const drafted = await fx.tuf.draftRoot(
    {
      rootKeys: offline.map((k) => k.publicKey),
      rootThreshold: 2,
      targetsKeys: [targetsKey.publicKey],
      targetsThreshold: 1,
    },
    TEST_CTX,
  );
  assert.deepEqual(drafted.published, [], 'the new keys have not signed yet');
  // The old (server-held) root key signed already; one of the new keys is not enough.
  let root = signDraft(await fx.tuf.exportDraft('root'), 'root', offline[0]!);
  let r = await fx.tuf.importSigned([{ role: 'root', metadata: root }], TEST_CTX);
  assert.deepEqual(r.published, []);
  assert.deepEqual(
    r.pending.find((p) => p.role === 'root'),
    { role: 'root', have: 1, need: 2 },
  );
  root = signDraft(await fx.tuf.exportDraft('root'), 'root', offline[2]!);
  r = await fx.tuf.importSigned([{ role: 'root', metadata: root }], TEST_CTX);
  assert.deepEqual(r.published, [], 'the root waits for targets re-signed by the new targets key');
  const targets = signDraft(await fx.tuf.exportDraft('targets'), 'targets', targetsKey);
  r = await fx.tuf.importSigned([{ role: 'targets', metadata: targets }], TEST_CTX);
  assert.deepEqual(r.published, ['root', 'targets'], 'root and targets publish together');
  const root2 = parseMetadata('root', (await fx.repo.metadataFile('2.root.json'))!);
  assert.equal(root2.signed.roles.root!.threshold, 2);
  assert.equal((await fx.repo.listKeys()).find((k) => k.keyId === offline[0]!.keyId)?.online, false);
  // The client walks 1 → 2 and still verifies the firmware.
  await fetchVerifiedTarget({ metadataUrl: fx.url, stateDir: dir }, path, join(dir, 'b'));
  assert.equal(JSON.parse(readFileSync(join(dir, 'tuf', 'root.json'), 'utf8')).signed.version, 2);
  // The server no longer holds enough root keys to rotate by itself.
  await fx.tuf.draftRoot({ rootKeys: [generateSigningKey().publicKey], rootThreshold: 1 }, TEST_CTX);
  assert.equal(await fx.repo.metadataFile('3.root.json'), null);
});

test('a new root signed only by the new keys is not published (TUF 5.3.4)', async (t) => {
  const fx = await tufFixture(t, { init: { rootKeys: 1, rootThreshold: 1 } });
  const a = generateSigningKey();
  const b = generateSigningKey();
  await fx.tuf.draftRoot({ rootKeys: [a.publicKey], rootThreshold: 1 }, TEST_CTX);
  await fx.tuf.importSigned(
    [{ role: 'root', metadata: signDraft(await fx.tuf.exportDraft('root'), 'root', a) }],
    TEST_CTX,
  );
  await fx.tuf.draftRoot({ rootKeys: [b.publicKey], rootThreshold: 1 }, TEST_CTX);
  // Only b (new) signs, a (old) does not.
  const r = await fx.tuf.importSigned(
    [{ role: 'root', metadata: signDraft(await fx.tuf.exportDraft('root'), 'root', b) }],
    TEST_CTX,
  );
  assert.deepEqual(r.published, []);
  assert.equal(await fx.repo.metadataFile('3.root.json'), null);
  // Signatures by keys that are not root keys count for nothing, and altered content is refused.
  const draft = (await fx.tuf.exportDraft('root')) as { signed: { version: number } };
  draft.signed.version = 99;
  await assert.rejects(fx.tuf.importSigned([{ role: 'root', metadata: draft }], TEST_CTX), (e) =>
    isFleetwardError(e, 'TUF_METADATA_INVALID'),
  );
});

test('expiry: timestamp and snapshot are re-signed at half-life by the scheduler (ManualClock)', async (t) => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const fx = await tufFixture(t, { clock });
  await fx.publish('lock', '1.0.0', 1, FW);
  const v = async (name: string) =>
    parseMetadata(name === 'timestamp' ? 'timestamp' : 'snapshot', (await fx.repo.metadataFile(`${name}.json`))!).signed
      .version;
  const ts0 = await v('timestamp');
  const snap0 = await v('snapshot');
  assert.deepEqual(await fx.tuf.refreshExpiring(), [], 'nothing is due yet');
  clock.advance(13 * HOUR);
  assert.deepEqual(await fx.tuf.refreshExpiring(), ['timestamp']);
  assert.equal(await v('timestamp'), ts0 + 1);
  assert.equal(await v('snapshot'), snap0);
  clock.advance(4 * 24 * HOUR);
  const renewed = await fx.tuf.refreshExpiring();
  assert.ok(renewed.includes('snapshot') && renewed.includes('timestamp'));
  assert.equal(await v('snapshot'), snap0 + 1);
  const fresh = parseMetadata('timestamp', (await fx.repo.metadataFile('timestamp.json'))!);
  assert.equal(Date.parse(fresh.signed.expires), clock.now() + DEFAULT_EXPIRY.timestamp);
  // Server-held targets and product roles renew themselves too (the convenience mode).
  clock.advance(50 * 24 * HOUR);
  const later = await fx.tuf.refreshExpiring();
  assert.ok(later.includes('targets') && later.includes('lock'), later.join(','));
});

test('offline product key: the release waits for an offline signature, then publishes', async (t) => {
  const fx = await tufFixture(t);
  const productKey = generateSigningKey();
  await fx.tuf.ensureDelegation('gate', { keys: [productKey.publicKey], threshold: 1 }, TEST_CTX);
  const r = await fx.tuf.setProductTargets(
    'gate',
    { 'gate/gate-1.fw': { length: 3, hashes: { sha256: 'a'.repeat(64) } } },
    TEST_CTX,
  );
  assert.deepEqual(r.published, []);
  assert.equal((await fx.tuf.publishedTargets('gate')).size, 0);
  // The key file travels encrypted; a wrong passphrase is a coded refusal.
  const file = JSON.stringify(encryptKeyFile(productKey, 'gate', 'correct horse battery'));
  assert.throws(
    () => decryptKeyFile(file, 'wrong passphrase!!'),
    (e) => isFleetwardError(e, 'TUF_PASSPHRASE_WRONG'),
  );
  const { key } = decryptKeyFile(file, 'correct horse battery');
  const signed = signDraft(await fx.tuf.exportDraft('gate'), 'gate', key);
  const done = await fx.tuf.importSigned([{ role: 'gate', metadata: signed }], TEST_CTX);
  assert.deepEqual(done.published, ['gate']);
  assert.deepEqual([...(await fx.tuf.publishedTargets('gate'))], ['gate/gate-1.fw']);
  // A signature by a key the delegation does not name is dropped, not counted.
  await fx.tuf.setProductTargets('gate', {}, TEST_CTX);
  const stranger = signDraft(await fx.tuf.exportDraft('gate'), 'gate', generateSigningKey());
  assert.deepEqual((await fx.tuf.importSigned([{ role: 'gate', metadata: stranger }], TEST_CTX)).published, []);
});

test('product ids that name top-level roles are refused', async (t) => {
  const fx = await tufFixture(t);
  for (const id of ['root', 'snapshot', 'timestamp', 'targets']) {
    await assert.rejects(fx.tuf.ensureDelegation(id, {}, TEST_CTX), (e) =>
      isFleetwardError(e, 'TUF_ROLE_NAME_RESERVED'),
    );
  }
});
