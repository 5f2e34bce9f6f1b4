import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { enrollDevice } from '../../agent/enroll.ts';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { opensslKeyAndCsr } from '../testing/device-keys.ts';
import { startTestServer, type TestServer } from '../testing/test-server.ts';
import { forEachDialect } from '../testing/test-stores.ts';

const product = { id: 'lock', name: 'Smart Lock', model: 'SL-1', manufacturer: 'Acme', supportEnd: '2030-12-31' };

function outDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-device-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function tokens(server: TestServer, body: Record<string, unknown>): Promise<string[]> {
  const res = await server.call('POST', '/api/v1/enrollment-tokens', { token: server.adminToken, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.items.map((i: { token: string }) => i.token);
}

async function setup(t: TestContext, clock?: ManualClock) {
  const server = await startTestServer(t, clock ? { clock } : {});
  assert.equal(
    (await server.call('POST', '/api/v1/products', { token: server.adminToken, body: product })).status,
    201,
  );
  return server;
}

test('enroll: a device makes its key, sends a CSR with a token, and gets key.pem, cert.pem, ca.pem', async (t) => {
  const server = await setup(t);
  const [token] = await tokens(server, { productId: 'lock', count: 2 });
  const dir = outDir(t);
  const out = await enrollDevice({
    server: server.url,
    token: token!,
    deviceId: 'lock-0001',
    hardwareSerial: 'A0001',
    outDir: dir,
  });
  assert.deepEqual(out.mqtt, server.mqtt);
  assert.equal(statSync(out.files.key).mode & 0o777, 0o600, 'the private key is readable by its owner only');
  const cert = new X509Certificate(readFileSync(out.files.cert));
  assert.equal(cert.subject, 'CN=lock-0001');
  assert.equal(readFileSync(out.files.ca, 'utf8').trim(), server.caCertificate.trim());
  const device = await server.call('GET', '/api/v1/devices/lock-0001', { token: server.adminToken });
  assert.deepEqual([device.body.status, device.body.productId, device.body.serial], ['active', 'lock', 'A0001']);
  const certs = await server.call('GET', '/api/v1/devices/lock-0001/certificates', { token: server.adminToken });
  assert.equal(certs.body.items.length, 1);
  assert.equal(certs.body.items[0].status, 'active');
  // The private key never left the device: the server has only the certificate.
  const ledger = await server.call('GET', '/api/v1/ledger?limit=100', { token: server.adminToken });
  assert.doesNotMatch(JSON.stringify(ledger.body), /PRIVATE KEY|fwe_/);
  const enrolled = ledger.body.items.find((e: { action: string }) => e.action === 'device.enroll');
  assert.equal(enrolled.actor, 'device:lock-0001');
});

test('enroll: a token works once; expired, unknown and forged tokens are refused', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await setup(t, clock);
  const [once, later] = await tokens(server, { productId: 'lock', count: 2, ttlHours: 1 });
  await enrollDevice({ server: server.url, token: once!, deviceId: 'd1', outDir: outDir(t) });
  const refused = async (token: string, id: string) => {
    try {
      await enrollDevice({ server: server.url, token, deviceId: id, outDir: outDir(t) });
    } catch (err) {
      assert.ok(isFleetwardError(err, 'AGENT_ENROLL_FAILED'));
      return (err.details as { code: string }).code;
    }
    assert.fail('enrollment should have been refused');
  };
  assert.equal(await refused(once!, 'd2'), 'ENROLL_TOKEN_USED');
  assert.equal(await refused(`${once!.slice(0, -4)}AAAA`, 'd2'), 'ENROLL_TOKEN_INVALID');
  assert.equal(
    await refused('fwe_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'd2'),
    'ENROLL_TOKEN_INVALID',
  );
  assert.equal(await refused('not-a-token', 'd2'), 'ENROLL_TOKEN_INVALID');
  clock.advance(2 * 3_600_000);
  assert.equal(await refused(later!, 'd2'), 'ENROLL_TOKEN_EXPIRED');
  const d2 = await server.call('GET', '/api/v1/devices/d2', { token: server.adminToken });
  assert.equal(d2.status, 404, 'nothing was created by a refused enrollment');
});

test('enroll: bound tokens, subject mismatch, weak keys, and free tokens cannot take an existing id', async (t) => {
  const server = await setup(t);
  const token = server.adminToken;
  await server.call('POST', '/api/v1/devices', { token, body: { id: 'lock-7', productId: 'lock', serial: 'S7' } });
  const [bound] = await tokens(server, { productId: 'lock', deviceId: 'lock-7' });
  const enroll = (tok: string, csr: string) => server.call('POST', '/device/v1/enroll', { body: { token: tok, csr } });
  const mismatch = await enroll(bound!, opensslKeyAndCsr('p256', '/CN=lock-8').csrPem);
  assert.equal(mismatch.body.code, 'CSR_SUBJECT_MISMATCH');
  const weak = await enroll(bound!, opensslKeyAndCsr('rsa1024', '/CN=lock-7').csrPem);
  assert.deepEqual([weak.status, weak.body.code], [400, 'CSR_WEAK_KEY']);
  assert.match(weak.body.detail, /2048 bits/);
  const curve = await enroll(bound!, opensslKeyAndCsr('secp256k1', '/CN=lock-7').csrPem);
  assert.equal(curve.body.code, 'CSR_WEAK_KEY');
  // The refusals did not use the token up.
  const ok = await enroll(bound!, opensslKeyAndCsr('p256', '/CN=lock-7').csrPem);
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  const d = await server.call('GET', '/api/v1/devices/lock-7', { token });
  assert.equal(d.body.status, 'active', 'the pre-registered device became active');
  const [free] = await tokens(server, { productId: 'lock' });
  const hijack = await enroll(free!, opensslKeyAndCsr('p256', '/CN=lock-7').csrPem);
  assert.deepEqual([hijack.status, hijack.body.code], [409, 'ENROLL_DEVICE_CONFLICT']);
  const refusals = await server.call('GET', '/api/v1/ledger?limit=200', { token });
  const rejected = refusals.body.items.filter(
    (e: { action: string; result: string }) => e.action === 'device.enroll' && e.result === 'rejected',
  );
  assert.equal(rejected.length, 4, 'each refused enrollment is in the ledger');
});

test('enroll: guessing tokens is rate-limited per source address', async (t) => {
  const server = await setup(t);
  const csr = opensslKeyAndCsr('p256', '/CN=d1').csrPem;
  const statuses: number[] = [];
  for (let i = 0; i < 22; i++) {
    const guess = `fwe_${'0'.repeat(15)}${(i % 10).toString()}_${'A'.repeat(43)}`;
    statuses.push((await server.call('POST', '/device/v1/enroll', { body: { token: guess, csr } })).status);
  }
  assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
  assert.deepEqual(statuses.slice(20), [429, 429]);
  const [real] = await tokens(server, { productId: 'lock' });
  const blocked = await server.call('POST', '/device/v1/enroll', { body: { token: real, csr } });
  assert.equal(blocked.body.code, 'RATE_LIMITED', 'even a valid token waits out the window');
  const retryAfter = Number(blocked.headers.get('retry-after'));
  assert.ok(retryAfter > 0 && retryAfter <= 600, `Retry-After names the wait: ${retryAfter}`);
});

test('enroll: the CRL is served to anyone, PEM or DER', async (t) => {
  const server = await setup(t);
  const pem = await fetch(`${server.url}/device/v1/crl`);
  assert.equal(pem.status, 200);
  assert.match(await pem.text(), /BEGIN X509 CRL/);
  const der = await fetch(`${server.url}/device/v1/crl?format=der`);
  assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
  assert.equal(new Uint8Array(await der.arrayBuffer())[0], 0x30);
});

test('identity storage on both dialects: tokens, certificates, revocation, CRL entries', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const server = await startTestServer(t, { dialect });
    const token = server.adminToken;
    await server.call('POST', '/api/v1/products', { token, body: product });
    const [tok] = await tokens(server, { productId: 'lock' });
    await enrollDevice({ server: server.url, token: tok!, deviceId: 'pg-1', outDir: outDir(t) });
    const listed = await server.call('GET', '/api/v1/enrollment-tokens?product=lock', { token });
    assert.equal(listed.body.items[0].usedBy, 'pg-1');
    const revoked = await server.call('POST', '/api/v1/devices/pg-1/certificates/revoke', { token, body: {} });
    assert.equal(revoked.body.revoked.length, 1);
    const certs = await server.call('GET', '/api/v1/devices/pg-1/certificates', { token });
    assert.equal(certs.body.items[0].status, 'revoked');
    assert.equal(certs.body.items[0].revokeReason, 'revoked by operator');
    const crl = await server.services.identity.crl();
    assert.ok(crl.der.length > 100, 'the CRL now has an entry');
    assert.equal((await server.call('GET', '/api/v1/ledger/verify', { token })).body.ok, true);
  });
});
