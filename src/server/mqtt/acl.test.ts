import assert from 'node:assert/strict';
import { test } from 'node:test';
import { enrollTestDevice, eventually, mosquittoPub, mosquittoSub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';
import { decidePublish, decideSubscribe } from './acl.ts';

test('acl: a device publishes only on its own up channels and subscribes only to its own commands', () => {
  assert.deepEqual(decidePublish('d1', 'active', 'devices/d1/reports'), { ok: true, channel: 'reports' });
  const refusals: Array<[string, string]> = [
    ['devices/d2/reports', 'acl-foreign-topic'],
    ['devices/d1/commands', 'acl-channel-direction'],
    ['devices/d1/reports/x', 'acl-invalid-topic'],
    ['devices/d1/nope', 'acl-invalid-topic'],
    ['$SYS/x', 'acl-invalid-topic'],
  ];
  for (const [topic, reason] of refusals)
    assert.deepEqual(decidePublish('d1', 'active', topic), { ok: false, reason }, topic);
  assert.deepEqual(decidePublish('d1', 'quarantined', 'devices/d1/reports'), { ok: false, reason: 'acl-quarantined' });
  assert.equal(decidePublish('d1', 'quarantined', 'devices/d1/update-status').ok, true);
  assert.equal(decidePublish('d1', 'revoked', 'devices/d1/update-status').ok, false);
  assert.equal(decideSubscribe('d1', 'active', 'devices/d1/commands'), null);
  assert.equal(decideSubscribe('d1', 'quarantined', 'devices/d1/commands'), null);
  for (const f of ['devices/+/commands', 'devices/#', '#', 'devices/d1/+'])
    assert.equal(decideSubscribe('d1', 'active', f), 'acl-wildcard');
  assert.equal(decideSubscribe('d1', 'active', 'devices/d2/commands'), 'acl-foreign-topic');
  assert.equal(decideSubscribe('d1', 'active', 'devices/d1/reports'), 'acl-channel-direction');
});

test('acl: publishing or subscribing on another device’s topic is refused and counted; others are undisturbed', async (t) => {
  const server = await startTestServer(t);
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const d2 = await enrollTestDevice(t, server, 'lock-0002');
  const got: string[] = [];
  server.services.gateway.onDeviceMessage('events', async (m) => {
    got.push(`${m.deviceId}:${new TextDecoder().decode(m.payload)}`);
  });
  const refused: string[] = [];
  server.services.bus.subscribe('mqtt.refused', (e) => {
    refused.push(`${e.deviceId}:${e.reason}`);
  });
  const bystander = await mqttJs(t, d2, server.mqtt.port);

  const pub = await mosquittoPub(d1, server.mqtt.port, 'devices/lock-0002/events', 'forged');
  assert.notEqual(pub.code, 0, JSON.stringify(pub));
  assert.match(pub.stderr, /connection was lost/);
  const sub = await mosquittoSub(d1, server.mqtt.port, 'devices/lock-0002/commands', { waitSec: 2 });
  assert.match(sub.stderr, /denied/i);
  const wild = await mosquittoSub(d1, server.mqtt.port, 'devices/+/commands', { waitSec: 2 });
  assert.match(wild.stderr, /denied/i);
  const js = await mqttJs(t, d1, server.mqtt.port);
  // MQTT.js turns an all-refused SUBACK (0x80, 0x80) into an error; the connection stays up.
  const suback = await js.subscribeAsync(['devices/#', 'devices/lock-0002/commands']).catch((err) => err.packet);
  assert.deepEqual(suback.granted, [128, 128]);
  await js.publishAsync('devices/lock-0001/events', 'still here', { qos: 1 });

  assert.deepEqual(got, ['lock-0001:still here'], 'the forged message never reached the server');
  const c = server.services.deviceTraffic.get('lock-0001')!;
  assert.equal(c.authzFailures, 5);
  assert.deepEqual(c.refusals, { 'acl-foreign-topic': 3, 'acl-wildcard': 2 });
  assert.equal(c.bySource['127.0.0.1']!.authzFailures, 5);
  await eventually(() => refused.length === 5);
  assert.ok(refused.every((r) => r.startsWith('lock-0001:')));
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /fleetward_mqtt_refusals_total\{reason="acl-foreign-topic"\} 3/);
  assert.match(metrics, /fleetward_mqtt_messages_total\{channel="events"\} 1/);
  await bystander.publishAsync('devices/lock-0002/events', 'fine', { qos: 1 });
  assert.ok(bystander.connected, 'the other device was not disturbed');
  assert.equal(server.services.deviceTraffic.get('lock-0002')!.authzFailures, 0);
});
