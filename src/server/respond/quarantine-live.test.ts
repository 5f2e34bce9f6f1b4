import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleReport } from '../../protocol/testing/sample-report.ts';
import { deviceTopic } from '../../protocol/topics.ts';
import { enrollTestDevice, eventually, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';

test('quarantine cuts a connected device down live: reports stop being accepted, update-status and commands stay open', async (t) => {
  const server = await startTestServer(t);
  const token = server.adminToken;
  const f = await enrollTestDevice(t, server, 'lock-q');
  const client = await mqttJs(t, f, server.mqtt.port);
  const notices: Array<{ type: string; state?: string }> = [];
  client.on('message', (_topic, payload) => notices.push(JSON.parse(payload.toString())));
  await client.subscribeAsync(deviceTopic('lock-q', 'commands'), { qos: 1 });
  const stored = async () => (await server.call('GET', '/api/v1/devices/lock-q/reports', { token })).body.items.length;
  const traffic = () => server.services.deviceTraffic.get('lock-q');

  await client.publishAsync(deviceTopic('lock-q', 'reports'), JSON.stringify(sampleReport({ seq: 1 })), { qos: 1 });
  assert.equal(await stored(), 1, 'before quarantine: the report is stored once acknowledged');

  const q = await server.call('POST', '/api/v1/devices/lock-q/quarantine', {
    token,
    body: { reason: 'port 23 opened' },
  });
  assert.equal(q.status, 200, JSON.stringify(q.body));
  // The device is told (quarantine notice on its command topic, which stays open) …
  const notice = await eventually(() => notices.find((n) => n.type === 'quarantine-notice'));
  assert.equal(notice.state, 'quarantined');

  // … and from now on its reports go nowhere, while the connection and update-status remain.
  const refusedBefore = traffic()?.authzFailures ?? 0;
  await client.publishAsync(deviceTopic('lock-q', 'reports'), JSON.stringify(sampleReport({ seq: 2 })), { qos: 1 });
  await client.publishAsync(deviceTopic('lock-q', 'events'), '{"boot":true}', { qos: 1 });
  assert.equal(await stored(), 1, 'the quarantined device’s report was not accepted');
  assert.equal(traffic()!.authzFailures, refusedBefore + 2, 'each blocked publish counted as an authorization refusal');
  const messagesBefore = traffic()!.messages;
  await client.publishAsync(deviceTopic('lock-q', 'update-status'), JSON.stringify({ v: 1, state: 'idle' }), {
    qos: 1,
  });
  assert.equal(traffic()!.messages, messagesBefore + 1, 'update-status passes the ACL');
  assert.ok(client.connected, 'the session is kept for updates');

  // Release: reports flow again, on the same connection.
  await server.call('POST', '/api/v1/devices/lock-q/release-quarantine', { token, body: { reason: 'reflashed' } });
  await eventually(() => notices.find((n) => n.type === 'quarantine-notice' && n.state === 'released'));
  await client.publishAsync(deviceTopic('lock-q', 'reports'), JSON.stringify(sampleReport({ seq: 3 })), { qos: 1 });
  assert.equal(await stored(), 2);
  const device = (await server.call('GET', '/api/v1/devices/lock-q', { token })).body;
  assert.deepEqual([device.status, device.zone], ['active', 'default']);
});

test('automatic revocation: an alarm with the revoke mitigation ends the live session and the certificate stops working', async (t) => {
  const server = await startTestServer(t);
  const token = server.adminToken;
  const f = await enrollTestDevice(t, server, 'lock-r');
  const created = await server.call('POST', '/api/v1/security-profiles', {
    token,
    body: {
      id: 'strict',
      name: 'Strict',
      targets: [{ kind: 'product', value: 'lock' }],
      behaviours: [{ name: 'telnet', kind: 'set-membership', metric: 'listening-ports', allowed: ['udp/5353'] }],
      mitigations: ['revoke'],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const client = await mqttJs(t, f, server.mqtt.port);
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  const bad = sampleReport({ seq: 1, listening: [{ proto: 'tcp', port: 23, addr: '0.0.0.0' }] });
  // The PUBACK may or may not beat the revocation's disconnect: either is fine, the report is durable first.
  void client.publishAsync(deviceTopic('lock-r', 'reports'), JSON.stringify(bad), { qos: 1 }).catch(() => {});
  const mitigations = await eventually(async () => {
    await server.services.detect.idle();
    await server.services.respond.settled();
    const items = (await server.call('GET', '/api/v1/devices/lock-r/mitigations', { token })).body.items;
    return items.length > 0 ? items : undefined;
  });
  await Promise.race([closed, eventually(() => !client.connected)]);
  assert.deepEqual(
    mitigations.map((m: { action: string; state: string; actor: string }) => `${m.action}:${m.state}:${m.actor}`),
    ['revoke:applied:system:detection'],
  );
  const certs = (await server.call('GET', '/api/v1/devices/lock-r/certificates', { token })).body.items;
  assert.ok(
    certs.every((c: { status: string }) => c.status === 'revoked'),
    JSON.stringify(certs),
  );
  await assert.rejects(mqttJs(t, f, server.mqtt.port), 'the revoked certificate no longer connects');
});
