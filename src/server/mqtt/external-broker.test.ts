import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { DeviceMessage } from '../gateway/gateway.types.ts';
import { enrollTestDevice, eventually, mosquittoPub, mosquittoSub } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';
import type { ExternalBroker } from './external-broker.ts';
import { renderAcl } from './mosquitto-config.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** The real Mosquitto, on the configuration Fleetward generated (as root in CI, it must not drop to `mosquitto`). */
function startMosquitto(t: TestContext, confPath: string): ChildProcess {
  let conf = readFileSync(confPath, 'utf8');
  if (process.getuid?.() === 0) conf = `user root\n${conf}`;
  const testConf = `${confPath}.test`;
  writeFileSync(testConf, conf);
  const child = spawn('mosquitto', ['-c', testConf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString();
  });
  t.after(() => {
    child.kill('SIGTERM');
  });
  child.on('exit', (code) => {
    if (code && code !== 0 && !t.signal.aborted) console.error(`mosquitto exited ${code}: ${log}`);
  });
  return child;
}

test('acl rendering: devices own their subtree; only the service reads everyone', () => {
  const acl = renderAcl();
  assert.match(acl, /^pattern write devices\/%u\/reports$/m);
  assert.match(acl, /^pattern read devices\/%u\/commands$/m);
  assert.doesNotMatch(acl, /pattern write devices\/%u\/commands/);
  assert.match(acl, /^user fleetward:service\ntopic read devices\/\+\/reports$/m);
});

test('external Mosquitto: generated config, service client, own topic delivered, foreign topics refused, revocation', async (t) => {
  const port = await freePort();
  const server = await startTestServer(t, {
    config: { broker: 'external', externalBrokerUrl: `mqtts://127.0.0.1:${port}` },
  });
  const gateway = server.services.gateway as ExternalBroker;
  assert.deepEqual(server.mqtt, { host: '127.0.0.1', port });
  const conf = readFileSync(gateway.configPath, 'utf8');
  assert.match(conf, /require_certificate true/);
  assert.match(conf, /use_identity_as_username true/);
  assert.match(conf, /tls_version tlsv1\.2/);
  const mosquitto = startMosquitto(t, gateway.configPath);
  await eventually(() => gateway.attached, 10_000);

  const received: DeviceMessage[] = [];
  server.services.gateway.onDeviceMessage('events', async (m) => {
    received.push(m);
  });
  const d1 = await enrollTestDevice(t, server, 'lock-0001');
  const d2 = await enrollTestDevice(t, server, 'lock-0002');
  const own = await mosquittoPub(d1, port, 'devices/lock-0001/events', 'mine');
  assert.equal(own.code, 0, own.stderr);
  await eventually(() => received.length === 1);
  assert.equal(new TextDecoder().decode(received[0]!.payload), 'mine');

  // Mosquitto drops a forbidden publish silently (MQTT 3.1.1 has no negative PUBACK): it never arrives.
  await mosquittoPub(d1, port, 'devices/lock-0002/events', 'forged');
  await mosquittoPub(d2, port, 'devices/lock-0002/events', 'marker');
  await eventually(() => received.length === 2);
  assert.deepEqual(
    received.map((m) => `${m.deviceId}:${new TextDecoder().decode(m.payload)}`),
    ['lock-0001:mine', 'lock-0002:marker'],
  );
  // Mosquitto 2.0 may grant a forbidden subscription but never delivers what the ACL does not allow.
  const spying = [
    mosquittoSub(d1, port, 'devices/lock-0002/commands', { waitSec: 2 }),
    mosquittoSub(d1, port, 'devices/#', { waitSec: 2 }),
  ];
  const spam = setInterval(() => void server.services.gateway.sendCommand('lock-0002', { type: 'secret' }), 100);
  const spied = await Promise.all(spying);
  clearInterval(spam);
  for (const r of spied) {
    assert.doesNotMatch(r.stdout, /secret/, 'nothing of lock-0002 reached lock-0001');
    assert.match(r.stderr, /denied|timed out/i);
  }

  // Commands reach the device through the service client.
  const sub = mosquittoSub(d1, port, 'devices/lock-0001/commands', { count: 1, waitSec: 10 });
  let got = false;
  void sub.then(() => {
    got = true;
  });
  await eventually(async () => {
    await server.services.gateway.sendCommand('lock-0001', { type: 'report-now' });
    return got;
  }, 10_000);
  assert.match((await sub).stdout, /report-now/);

  // Revocation: the CRL file is rewritten; after Mosquitto reloads, the certificate is refused.
  await server.call('POST', '/api/v1/devices/lock-0001/certificates/revoke', { token: server.adminToken, body: {} });
  const crl = readFileSync(join(gateway.configPath, '..', 'crl.pem'), 'utf8');
  assert.match(crl, /BEGIN X509 CRL/);
  mosquitto.kill('SIGHUP');
  await eventually(async () => (await mosquittoPub(d1, port, 'devices/lock-0001/events', 'after')).code !== 0, 10_000);
  assert.equal((await mosquittoPub(d2, port, 'devices/lock-0002/events', 'still ok')).code, 0);
});
