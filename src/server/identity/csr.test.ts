import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import { opensslKeyAndCsr } from '../testing/device-keys.ts';
import { parseCsr } from './csr.ts';

const code = (c: string) => (err: unknown) => isFleetwardError(err, c);

test('csr: P-256, P-384 and RSA 2048 keys are accepted with the CN as device id', async () => {
  const p256 = await parseCsr(opensslKeyAndCsr('p256', '/CN=lock-0001/serialNumber=A0001').csrPem);
  assert.deepEqual([p256.deviceId, p256.hardwareSerial, p256.keyDescription], ['lock-0001', 'A0001', 'ec P-256']);
  assert.equal((await parseCsr(opensslKeyAndCsr('p384', '/CN=d2').csrPem)).keyDescription, 'ec P-384');
  assert.equal((await parseCsr(opensslKeyAndCsr('rsa2048', '/CN=d3').csrPem)).keyDescription, 'rsa 2048');
});

test('csr: weak keys are refused by name: RSA below 2048 bits, the wrong curve, Ed25519', async () => {
  await assert.rejects(parseCsr(opensslKeyAndCsr('rsa1024', '/CN=d1').csrPem), (err) => {
    assert.ok(isFleetwardError(err, 'CSR_WEAK_KEY'));
    assert.match(err.message, /at least 2048 bits \(got 1024\)/);
    return true;
  });
  await assert.rejects(parseCsr(opensslKeyAndCsr('secp256k1', '/CN=d1').csrPem), (err) => {
    assert.ok(isFleetwardError(err, 'CSR_WEAK_KEY'));
    assert.match(err.message, /secp256k1 is not accepted/);
    return true;
  });
  await assert.rejects(parseCsr(opensslKeyAndCsr('ed25519', '/CN=d1').csrPem), code('CSR_WEAK_KEY'));
});

test('csr: malformed, forged and oddly named requests are refused with CSR_INVALID', async () => {
  const good = opensslKeyAndCsr('p256', '/CN=d1').csrPem;
  const b64 = good
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('');
  const der = Buffer.from(b64, 'base64');
  // Flip a bit near the end: inside the signature, so the request no longer proves key possession.
  der[der.length - 3]! ^= 0x01;
  const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const cases: Array<[string, string]> = [
    ['garbage', 'hello'],
    ['empty', ''],
    ['oversized', `${good}${'A'.repeat(9000)}`],
    ['two blocks', good + good],
    ['a certificate, not a request', good.replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE')],
    ['forged signature', forged],
    ['extra subject fields', opensslKeyAndCsr('p256', '/CN=d1/O=Evil Corp').csrPem],
    ['no CN', opensslKeyAndCsr('p256', '/serialNumber=1').csrPem],
    ['CN with a wildcard', opensslKeyAndCsr('p256', '/CN=dev#1').csrPem],
    ['CN with a slash', opensslKeyAndCsr('p256', '/CN=a\\/b').csrPem],
  ];
  for (const [name, pem] of cases) {
    await assert.rejects(parseCsr(pem), code('CSR_INVALID'), name);
  }
});
