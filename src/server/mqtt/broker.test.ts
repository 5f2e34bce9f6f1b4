import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeviceMessage } from '../gateway/gateway.types.ts';
import { enrollTestDevice, eventually, mosquittoPub, mosquittoSub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

test('broker: an enrolled device publishes on its own topic (mosquitto_pub and MQTT.js) and the server receives it', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const received: DeviceMessage[] = [];
  server.services.gateway.onDeviceMessage('events', async (m) => {
    received.push(m);
  });
  const pub = await mosquittoPub(d1, server.mqtt.port, 'devices/lock-0001/events', '{"boot":1}');
  assert.equal(pub.code, 0, pub.stderr);
  assert.equal(received.length, 1, 'the handler ran before the PUBACK');
  assert.deepEqual([received[0]!.deviceId, received[0]!.channel, received[0]!.qos], ['lock-0001', 'events', 1]);
  assert.equal(new TextDecoder().decode(received[0]!.payload), '{"boot":1}');
  assert.equal(received[0]!.source, '127.0.0.1');
  const client = await mqttJs(t, d1, server.mqtt.port);
  await client.publishAsync('devices/lock-0001/events', '{"boot":2}', { qos: 1 });
  assert.equal(received.length, 2);
  const traffic = server.services.deviceTraffic.get('lock-0001')!;
  assert.equal(traffic.messages, 2);
  assert.equal(traffic.connects, 2);
  assert.equal(traffic.lastSource, '127.0.0.1');
});

test('broker: a device receives its commands (mosquitto_sub) and sendCommand reaches it', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const sub = mosquittoSub(d1, server.mqtt.port, 'devices/lock-0001/commands', { count: 1, waitSec: 10 });
  await eventually(() => server.services.deviceTraffic.get('lock-0001')?.connects === 1);
  // The SUBACK follows the CONNACK closely; retry the command until the subscriber has it.
  let done = false;
  sub.then(() => {
    done = true;
  });
  await eventually(async () => {
    await server.services.gateway.sendCommand('lock-0001', { type: 'report-now' });
    return done;
  });
  const r = await sub;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /"type":"report-now"/);
});
