import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleReport } from '../../protocol/testing/sample-report.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import { enrollTestDevice, eventually, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

const GARBAGE = [
  'not json at all',
  '{"v":1,"boot":"x"',
  JSON.stringify({ ...sampleReport(), seq: -1 }),
  JSON.stringify({
    ...sampleReport(),
    listening: Array.from({ length: 500 }, () => ({ proto: 'tcp', port: 1, addr: '0.0.0.0' })),
  }),
  Buffer.from([0xff, 0xfe, 0x00, 0x80]),
  'x'.repeat(20_000),
];

test('malformed reports never stop another device’s data, are counted per device, and raise an alarm on the sender only', async (t) => {
  const server = await startTestServer(t);
  const token = server.adminToken;
  const bad = await enrollTestDevice(t, server, 'cam-bad', 'cam');
  const good = await enrollTestDevice(t, server, 'cam-good', 'cam');
  const profile = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: {
      id: 'ingest',
      name: 'Ingest hygiene',
      targets: [{ kind: 'product', value: 'cam' }],
      behaviours: [
        { name: 'malformed', kind: 'static', metric: 'malformed-reports', op: 'gte', value: 3, severity: 'medium' },
      ],
    },
  });
  assert.equal(profile.status, 201, JSON.stringify(profile.body));
  const badClient = await mqttJs(t, bad, server.mqtt.port);
  const goodClient = await mqttJs(t, good, server.mqtt.port);

  // Interleaved, concurrently: garbage from one device, valid reports from the other.
  const goodSends = Array.from({ length: 30 }, (_, i) =>
    goodClient.publishAsync(deviceTopic('cam-good', 'reports'), JSON.stringify(sampleReport({ seq: i + 1 })), {
      qos: 1,
    }),
  );
  const badSends = GARBAGE.flatMap((g) =>
    [0, 1].map(() => badClient.publishAsync(deviceTopic('cam-bad', 'reports'), g, { qos: 1 })),
  );
  await Promise.all([...goodSends, ...badSends]);

  const goodStored = await server.call('GET', '/api/v1/devices/cam-good/reports?limit=100', { token });
  assert.equal(goodStored.body.items.length, 30, 'every valid report of the other device is stored');
  assert.equal((await server.call('GET', '/api/v1/devices/cam-bad/reports', { token })).body.items.length, 0);
  assert.ok(badClient.connected && goodClient.connected, 'nobody was disconnected');
  const stats = (await server.call('GET', '/api/v1/telemetry/stats', { token })).body;
  const counted = stats.malformed.find((m: { deviceId: string }) => m.deviceId === 'cam-bad');
  assert.ok(
    counted && counted.count >= GARBAGE.length,
    `malformed counted per device: ${JSON.stringify(stats.malformed)}`,
  );
  assert.ok(!stats.malformed.some((m: { deviceId: string }) => m.deviceId === 'cam-good'));

  const alarm = await eventually(async () => {
    await server.services.detect.idle();
    await server.services.respond.idle();
    const open = (await server.call('GET', '/api/v1/alarms?state=open', { token })).body.items;
    return open.length > 0 ? open : undefined;
  });
  assert.deepEqual(
    alarm.map((a: { deviceId: string; behaviour: string }) => `${a.deviceId}/${a.behaviour}`),
    ['cam-bad/malformed'],
  );
});
