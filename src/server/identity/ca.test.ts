import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import { opensslCa, opensslKeyAndCsr } from '../testing/device-keys.ts';
import { CertificateAuthority } from './ca.ts';
import { parseCsr } from './csr.ts';
import { loadMasterKey } from './keys-at-rest.ts';

const NOW = Date.UTC(2026, 0, 1);

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-ca-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('ca: created on first start, keys sealed at rest, reopened only with the right master key', async (t) => {
  const dir = tempDir(t);
  const key = loadMasterKey(dir, undefined);
  assert.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600);
  const ca = await CertificateAuthority.open(dir, key, NOW);
  for (const f of ['root.key', 'issuing.key']) {
    const text = readFileSync(join(dir, 'ca', f), 'utf8');
    assert.doesNotMatch(text, /PRIVATE KEY/, `${f} is not plaintext`);
    assert.equal(statSync(join(dir, 'ca', f)).mode & 0o777, 0o600);
  }
  const again = await CertificateAuthority.open(dir, loadMasterKey(dir, undefined), NOW);
  assert.equal(again.info().issuing.fingerprint, ca.info().issuing.fingerprint, 'the same CA, not a new one');
  await assert.rejects(CertificateAuthority.open(dir, randomBytes(32), NOW), (err) =>
    isFleetwardError(err, 'CA_KEY_UNREADABLE'),
  );
  assert.throws(
    () => loadMasterKey(dir, 'c2hvcnQ='),
    (err) => isFleetwardError(err, 'MASTER_KEY_INVALID'),
  );
});

test('ca: a device certificate chains to the root and says what it is for', async (t) => {
  const ca = await CertificateAuthority.open(tempDir(t), randomBytes(32), NOW);
  const { csrPem } = opensslKeyAndCsr('p256', '/CN=lock-0001');
  const csr = await parseCsr(csrPem);
  const issued = await ca.issueDevice(csr.deviceId, csr.publicKey, NOW, 365);
  const leaf = new X509Certificate(issued.pem);
  const issuing = new X509Certificate(ca.chainPems[0]!);
  const root = new X509Certificate(ca.rootPem);
  assert.ok(leaf.verify(issuing.publicKey) && leaf.checkIssued(issuing));
  assert.ok(issuing.verify(root.publicKey) && issuing.checkIssued(root));
  assert.equal(leaf.subject, 'CN=lock-0001');
  assert.equal(leaf.subjectAltName, 'URI:urn:fleetward:device:lock-0001');
  assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'clientAuth only');
  assert.equal(leaf.ca, false);
  assert.equal(issued.serial.length, 32, '128-bit serial');
  assert.equal(BigInt(`0x${leaf.serialNumber}`), BigInt(`0x${issued.serial}`));
  assert.equal(Date.parse(leaf.validTo), NOW + 365 * 86_400_000);
  const other = await ca.issueDevice('lock-0002', csr.publicKey, NOW, 365);
  assert.notEqual(other.serial, issued.serial);
});

test('ca: the CRL lists revoked serials and is signed by the issuing CA', async (t) => {
  const ca = await CertificateAuthority.open(tempDir(t), randomBytes(32), NOW);
  const { csrPem } = opensslKeyAndCsr('p256', '/CN=d1');
  const csr = await parseCsr(csrPem);
  const a = await ca.issueDevice('d1', csr.publicKey, NOW, 30);
  const { pem } = await ca.buildCrl([{ serial: a.serial, revokedAt: NOW }], NOW);
  const { x509 } = await import('./x509-util.ts');
  const crl = new x509.X509Crl(pem);
  assert.ok(await crl.verify({ publicKey: new x509.X509Certificate(ca.chainPems[0]!).publicKey }));
  assert.ok(crl.findRevoked(a.serial));
});

test('ca: an external issuing CA can be imported; a key that does not match is refused', async (t) => {
  const dir = tempDir(t);
  const master = randomBytes(32);
  const ext = opensslCa('Acme Corp Device CA');
  const other = opensslCa('Someone Else');
  await assert.rejects(
    CertificateAuthority.importIssuing(dir, master, {
      certificatePem: ext.certPem,
      privateKeyPem: other.keyPem,
      chainPem: '',
    }),
    (err) => isFleetwardError(err, 'CA_INVALID'),
  );
  await CertificateAuthority.importIssuing(dir, master, {
    certificatePem: ext.certPem,
    privateKeyPem: ext.keyPem,
    chainPem: '',
  });
  const ca = await CertificateAuthority.open(dir, master, NOW);
  assert.equal(ca.info().imported, true);
  const csr = await parseCsr(opensslKeyAndCsr('p256', '/CN=d1').csrPem);
  const issued = await ca.issueDevice('d1', csr.publicKey, NOW, 30);
  assert.ok(new X509Certificate(issued.pem).checkIssued(new X509Certificate(ext.certPem)));
});
