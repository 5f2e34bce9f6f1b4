import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { enrollDevice } from '../../agent/enroll.ts';
import { ManualClock } from '../../protocol/clock.ts';
import { parseCommandPayload } from '../../protocol/commands.ts';
import { enrollTestDevice, eventually, mosquittoPub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

test('rotation: the device is asked over its command topic, gets a working new certificate, and the old one retires', async (t) => {
  const clock = new ManualClock(Date.now());
  const server = await startTestServer(t, { clock });
  const old = await enrollTestDevice(t, server, 'lock-0001');
  const device = await mqttJs(t, old, server.mqtt.port, { clean: true });
  const commands: Buffer[] = [];
  device.on('message', (_topic, payload) => commands.push(payload));
  await device.subscribeAsync('devices/lock-0001/commands', { qos: 1 });

  const asked = await server.call('POST', '/api/v1/devices/lock-0001/certificates/rotate', {
    token: server.adminToken,
  });
  assert.equal(asked.status, 202, JSON.stringify(asked.body));
  await eventually(() => commands.length === 1);
  const command = parseCommandPayload(commands[0]!);
  assert.equal(command.type, 'rotate-credentials');
  assert.ok(command.type === 'rotate-credentials' && command.token.startsWith('fwe_'));

  // The device makes a fresh key and enrolls it with the rotation token (what `agent run` does).
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-rotated-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const token = command.type === 'rotate-credentials' ? command.token : '';
  const renewed = await enrollDevice({ server: server.url, token, deviceId: 'lock-0001', outDir: dir });
  const fresh = { ...old, dir, ...renewed.files };
  const first = await mosquittoPub(fresh, server.mqtt.port, 'devices/lock-0001/events', 'new key');
  assert.equal(first.code, 0, JSON.stringify(server.services.deviceTraffic.get('lock-0001')?.refusals));
  assert.equal(
    (await mosquittoPub(old, server.mqtt.port, 'devices/lock-0001/events', 'grace')).code,
    0,
    'old works in grace',
  );
  const reused = await server.call('POST', '/device/v1/enroll', { body: { token, csr: 'x' } });
  assert.equal(reused.body.code, 'ENROLL_TOKEN_USED');

  // A session on the old certificate during the grace period (mosquitto_pub took the first one over).
  const oldSession = await mqttJs(t, old, server.mqtt.port);
  const closed = new Promise<void>((resolve) => oldSession.once('close', () => resolve()));
  clock.advance(25 * 3_600_000);
  assert.equal(await server.services.identity.retireDue(), 1);
  await closed; // the session on the old certificate ends when it is revoked
  const late = await mosquittoPub(old, server.mqtt.port, 'devices/lock-0001/events', 'too late');
  assert.notEqual(late.code, 0);
  assert.equal((await mosquittoPub(fresh, server.mqtt.port, 'devices/lock-0001/events', 'still fine')).code, 0);
  const certs = await server.call('GET', '/api/v1/devices/lock-0001/certificates', { token: server.adminToken });
  assert.deepEqual(certs.body.items.map((c: { status: string }) => c.status).sort(), ['active', 'revoked']);
  const device2 = await server.call('GET', '/api/v1/devices/lock-0001', { token: server.adminToken });
  assert.equal(device2.body.status, 'active', 'rotation does not change the device status');
});
