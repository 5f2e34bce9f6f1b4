import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fleetward } from '../../cli/testing/run-fleetward.ts';
import { COMMAND_VERSION } from '../../protocol/commands.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import { enrollTestDevice, mosquittoPub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

test('command results: a device’s answer is stored once and shown to operators; garbage is refused alone', async (t) => {
  const server = await startTestServer(t);
  const dev = await enrollTestDevice(t, server, 'lock-cr-1');
  const topic = deviceTopic(dev.deviceId, 'command-results');
  const result = { v: COMMAND_VERSION, id: 'cmd-0001', type: 'report-now', status: 'ok', at: 1_800_000_000_000 };
  const failed = { ...result, id: 'cmd-0002', type: 'update', status: 'failed', code: 'UPDATE_HEALTH_CHECK_FAILED' };
  // The real mosquitto_pub first (each run is its own session with the device's client id)…
  assert.equal((await mosquittoPub(dev, server.mqtt.port, topic, JSON.stringify(result))).code, 0);
  assert.equal((await mosquittoPub(dev, server.mqtt.port, topic, '{"not":"a result"}')).code, 0);
  // …then one MQTT.js session: a QoS 1 redelivery of the same answer is acknowledged, not stored twice.
  const client = await mqttJs(t, dev, server.mqtt.port);
  await client.publishAsync(topic, JSON.stringify(result), { qos: 1 });
  await client.publishAsync(topic, JSON.stringify(failed), { qos: 1 });
  await client.publishAsync(topic, 'garbage', { qos: 1 });
  assert.ok(client.connected, 'a malformed message never costs the connection');

  const listed = await server.call('GET', `/api/v1/devices/${dev.deviceId}/command-results`, {
    token: server.adminToken,
  });
  assert.equal(listed.status, 200);
  assert.deepEqual(
    listed.body.items.map((r: { id: string; status: string; code: string | null }) => [r.id, r.status, r.code]),
    [
      ['cmd-0002', 'failed', 'UPDATE_HEALTH_CHECK_FAILED'],
      ['cmd-0001', 'ok', null],
    ],
  );
  const cli = await fleetward(['device', 'command-results', dev.deviceId, '--json'], {
    FLEETWARD_URL: server.url,
    FLEETWARD_TOKEN: server.adminToken,
  });
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(JSON.parse(cli.stdout).length, 2);
});
