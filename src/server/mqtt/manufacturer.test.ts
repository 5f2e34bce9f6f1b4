import assert from 'node:assert/strict';
import { test } from 'node:test';
import { opensslCa } from '../testing/device-keys.ts';
import { deviceFilesFrom, enrollTestDevice, eventually, mosquittoPub } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

const meter = { id: 'meter', name: 'Meter', model: 'M-2', manufacturer: 'Acme', supportEnd: '2032-01-01' };

test('manufacturer CA: devices with its certificates are registered on first connection (JIT), never over an existing id', async (t) => {
  const server = await startTestServer(t);
  const token = server.adminToken;
  await enrollTestDevice(t, server, 'lock-0001');
  await server.call('POST', '/api/v1/products', { token, body: meter });
  const factory = opensslCa('Acme Factory CA');
  const leaf = factory.issue('meter-0001');
  const f = deviceFilesFrom(t, 'meter-0001', leaf.certPem, leaf.keyPem, server.caCertificate);
  assert.notEqual((await mosquittoPub(f, server.mqtt.port, 'devices/meter-0001/events', 'x')).code, 0, 'unknown CA');

  const operator = await server.tokenFor('operator');
  const denied = await server.call('POST', '/api/v1/manufacturer-cas', {
    token: operator,
    body: { productId: 'meter', certificate: factory.certPem },
  });
  assert.equal(denied.status, 403, 'trusting a CA is an admin decision');
  const added = await server.call('POST', '/api/v1/manufacturer-cas', {
    token,
    body: { productId: 'meter', certificate: factory.certPem },
  });
  assert.equal(added.status, 201, JSON.stringify(added.body));
  const leafOnly = await server.call('POST', '/api/v1/manufacturer-cas', {
    token,
    body: { productId: 'meter', certificate: leaf.certPem },
  });
  assert.equal(leafOnly.body.code, 'MANUFACTURER_CA_INVALID', 'a leaf is not a CA');

  const first = await eventually(async () => {
    const r = await mosquittoPub(f, server.mqtt.port, 'devices/meter-0001/events', 'hello');
    return r.code === 0 && r;
  });
  assert.equal(first.code, 0);
  const device = await server.call('GET', '/api/v1/devices/meter-0001', { token });
  assert.deepEqual([device.body.productId, device.body.status], ['meter', 'active']);
  const certs = await server.call('GET', '/api/v1/devices/meter-0001/certificates', { token });
  assert.equal(certs.body.items[0].issuer, `manufacturer:${added.body.id}`);

  // The factory cannot mint an identity for a device enrolled some other way.
  const clash = factory.issue('lock-0001');
  const c = deviceFilesFrom(t, 'lock-0001', clash.certPem, clash.keyPem, server.caCertificate);
  assert.notEqual((await mosquittoPub(c, server.mqtt.port, 'devices/lock-0001/events', 'x')).code, 0);
  assert.equal(server.services.deviceTraffic.get('lock-0001')!.refusals['certificate-unknown'], 1);

  // Revoking a JIT device works like any other.
  await server.call('POST', '/api/v1/devices/meter-0001/certificates/revoke', { token, body: { reason: 'test' } });
  assert.notEqual((await mosquittoPub(f, server.mqtt.port, 'devices/meter-0001/events', 'x')).code, 0);
});

test('manufacturer CA: without autoRegister, unknown devices are refused; removing the CA stops trusting it', async (t) => {
  const server = await startTestServer(t);
  const token = server.adminToken;
  await server.call('POST', '/api/v1/products', { token, body: meter });
  const factory = opensslCa('Careful Factory CA');
  const added = await server.call('POST', '/api/v1/manufacturer-cas', {
    token,
    body: { productId: 'meter', certificate: factory.certPem, autoRegister: false },
  });
  assert.equal(added.status, 201);
  const leaf = factory.issue('meter-0002');
  const f = deviceFilesFrom(t, 'meter-0002', leaf.certPem, leaf.keyPem, server.caCertificate);
  await eventually(async () => {
    await mosquittoPub(f, server.mqtt.port, 'devices/meter-0002/events', 'x');
    return server.services.deviceTraffic.get('meter-0002')?.refusals['jit-not-allowed'] === 1;
  });
  const gone = await server.call('DELETE', `/api/v1/manufacturer-cas/${added.body.id}`, { token });
  assert.equal(gone.status, 204);
  await eventually(async () => {
    await mosquittoPub(f, server.mqtt.port, 'devices/meter-0002/events', 'x');
    return (server.services.deviceTraffic.unidentified('127.0.0.1')?.refusals['tls-certificate-untrusted'] ?? 0) >= 1;
  });
});
