import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { ManualClock } from '../../protocol/clock.ts';
import { parseCsr } from '../identity/index.ts';
import { opensslCa, opensslKeyAndCsr } from '../testing/device-keys.ts';
import { deviceFilesFrom, enrollTestDevice, eventually, mosquittoPub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

/** Resolves when `e` closes; its errors (the refusal itself) are expected, not failures. */
const closeOf = (e: { once(ev: 'close', fn: () => void): unknown; on(ev: 'error', fn: () => void): unknown }) => {
  e.on('error', () => {});
  return new Promise<void>((resolve) => e.once('close', () => resolve()));
};

test('refused: a revoked certificate — the live session ends at once and reconnects are refused', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const live = await mqttJs(t, d1, server.mqtt.port);
  const closed = closeOf(live);
  const res = await server.call('POST', '/api/v1/devices/lock-0001/certificates/revoke', {
    token: server.adminToken,
    body: { reason: 'stolen' },
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.revoked.length, 1);
  await closed;
  const again = await mosquittoPub(d1, server.mqtt.port, 'devices/lock-0001/events', 'x');
  assert.notEqual(again.code, 0);
  assert.match(again.stderr + again.stdout, /not authori[sz]ed/i);
  const c = server.services.deviceTraffic.get('lock-0001')!;
  assert.equal(c.refusals['device-revoked'] ?? c.refusals['certificate-revoked'], 1);
  const crl = await (await fetch(`${server.url}/device/v1/crl`)).text();
  const text = execFileSync('openssl', ['crl', '-noout', '-text'], { input: crl }).toString();
  assert.ok(
    text.toLowerCase().replaceAll(':', '').includes(res.body.revoked[0].serial.replace(/^0+/, '')),
    'the CRL lists the serial',
  );
  const device = await server.call('GET', '/api/v1/devices/lock-0001', { token: server.adminToken });
  assert.equal(device.body.status, 'revoked');
});

test('refused: an expired certificate, at CONNECT (our clock) and at the handshake (OpenSSL’s)', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer(t, { clock });
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  assert.equal((await mosquittoPub(d1, server.mqtt.port, 'devices/lock-0001/events', 'ok')).code, 0);
  clock.advance(366 * 86_400_000);
  const late = await mosquittoPub(d1, server.mqtt.port, 'devices/lock-0001/events', 'late');
  assert.notEqual(late.code, 0);
  assert.equal(server.services.deviceTraffic.get('lock-0001')!.refusals['certificate-expired'], 1);
  // A certificate of ours whose notAfter has passed on the wall clock never gets past TLS.
  const { csrPem, keyPem } = opensslKeyAndCsr('p256', '/CN=lock-0001');
  const csr = await parseCsr(csrPem);
  const old = await server.services.identity.ca.issueDevice(
    'lock-0001',
    csr.publicKey,
    Date.now() - 400 * 86_400_000,
    30,
  );
  const f = deviceFilesFrom(t, 'lock-0001', old.pem, keyPem, server.caCertificate);
  assert.notEqual((await mosquittoPub(f, server.mqtt.port, 'devices/lock-0001/events', 'old')).code, 0);
  const u = await eventually(() => server.services.deviceTraffic.unidentified('127.0.0.1'));
  assert.equal(u.refusals['tls-certificate-expired'], 1);
});

test('refused: a certificate from a foreign CA fails the handshake and is counted by source', async (t) => {
  const server = await startTestServer(t);
  await enrollTestDevice(t, server, 'lock-0001');
  const foreign = opensslCa('Evil Corp CA');
  const leaf = foreign.issue('lock-0001');
  const f = deviceFilesFrom(t, 'lock-0001', leaf.certPem, leaf.keyPem, server.caCertificate);
  const r = await mosquittoPub(f, server.mqtt.port, 'devices/lock-0001/events', 'x');
  assert.notEqual(r.code, 0);
  const c = await eventually(() => server.services.deviceTraffic.unidentified('127.0.0.1'), 5000).catch(() => {
    throw new Error(JSON.stringify(server.services.deviceTraffic.snapshot()));
  });
  assert.ok((c.refusals['tls-certificate-untrusted'] ?? 0) >= 1, JSON.stringify(c.refusals));
  assert.equal(server.services.deviceTraffic.get('lock-0001')?.connects ?? 0, 0, 'lock-0001 never connected');
});

test('refused: no client certificate, a client id that is not the certificate, garbage on the TLS port', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const bystander = await mqttJs(t, d1, server.mqtt.port);
  const d2 = await enrollTestDevice(t, server, 'lock-0002');
  const wrongId = await mosquittoPub(d2, server.mqtt.port, 'devices/lock-0001/events', 'x', { clientId: 'lock-0001' });
  assert.notEqual(wrongId.code, 0);
  assert.equal(server.services.deviceTraffic.get('lock-0002')!.refusals['client-id-mismatch'], 1);
  const garbage = connect({ host: '127.0.0.1', port: server.mqtt.port, rejectUnauthorized: false });
  await closeOf(garbage);
  const raw = await import('node:net');
  const sock = raw.connect(server.mqtt.port, '127.0.0.1');
  const sockClosed = closeOf(sock);
  sock.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  await sockClosed;
  const c = await eventually(() => {
    const u = server.services.deviceTraffic.unidentified('127.0.0.1');
    return u && Object.values(u.refusals).reduce((a, b) => a + b, 0) >= 2 && u;
  });
  assert.ok(c.refusals['tls-no-client-certificate'] || c.refusals['tls-handshake-failed'], JSON.stringify(c.refusals));
  assert.ok(c.refusals['tls-garbage'], JSON.stringify(c.refusals));
  await bystander.publishAsync('devices/lock-0001/events', 'still fine', { qos: 1 });
});

test('recorded: a second connection with the same certificate takes over and is counted with both sources', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const seen: Array<{ source: string; previousSource: string }> = [];
  server.services.bus.subscribe('device.connection.duplicate', (e) => {
    seen.push(e);
  });
  const first = await mqttJs(t, d1, server.mqtt.port);
  const firstClosed = closeOf(first);
  await mqttJs(t, d1, server.mqtt.port);
  await firstClosed;
  const c = server.services.deviceTraffic.get('lock-0001')!;
  assert.equal(c.duplicates, 1);
  assert.equal(c.connects, 2);
  await eventually(() => seen.length === 1);
  assert.deepEqual(seen[0], { deviceId: 'lock-0001', source: '127.0.0.1', previousSource: '127.0.0.1' });
});

test('bad input: a packet over the size limit ends that connection only; a rejected message keeps it', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const d2 = await enrollTestDevice(t, server, 'lock-0002');
  server.services.gateway.onDeviceMessage('events', async (m) => {
    if (new TextDecoder().decode(m.payload) === 'bad') throw new Error('malformed');
  });
  const big = await mqttJs(t, d1, server.mqtt.port);
  const bystander = await mqttJs(t, d2, server.mqtt.port);
  const closed = closeOf(big);
  big.publish('devices/lock-0001/events', Buffer.alloc(100 * 1024), { qos: 0 });
  await closed;
  assert.equal(server.services.deviceTraffic.get('lock-0001')!.refusals['packet-too-large'], 1);
  await bystander.publishAsync('devices/lock-0002/events', 'bad', { qos: 1 });
  assert.ok(bystander.connected, 'a rejected message does not disconnect');
  assert.equal(server.services.deviceTraffic.get('lock-0002')!.malformed, 1);
  await bystander.publishAsync('devices/lock-0002/events', 'good', { qos: 1 });
});
