import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { connectAsync, type MqttClient } from 'mqtt';
import { enrollDevice } from '../agent/enroll.ts';
import { sampleReport } from '../protocol/testing/sample-report.ts';
import { deviceTopic } from '../protocol/topics.ts';
import { openStore } from '../server/store/open-store.ts';
import { FLEETWARD_BIN } from './testing/run-fleetward.ts';

const DEVICES = 8;
/** Kill once this many reports were acknowledged (and keep publishing until the kill lands). */
const ACKED_BEFORE_KILL = 400;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function serve(dataDir: string, httpPort: number, mqttPort: number, bootstrap: string): ChildProcess {
  const args = [FLEETWARD_BIN, 'serve', '--data', dataDir, '--port', String(httpPort), '--mqtt-port', String(mqttPort)];
  return spawn(process.execPath, [...args, '--log-level', 'error'], {
    env: { PATH: process.env.PATH, FLEETWARD_BOOTSTRAP_TOKEN: bootstrap },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

async function ready(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    const ok = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('serve did not become ready');
}

async function api(url: string, token: string | null, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, any>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Publishes QoS 1 reports back to back; records every seq the broker acknowledged (PUBACK). */
async function publishUntilCut(client: MqttClient, deviceId: string, acked: number[], stop: { cut: boolean }) {
  const closed = new Promise<void>((r) => client.once('close', () => r()));
  for (let seq = 1; !stop.cut; seq++) {
    const payload = JSON.stringify(sampleReport({ boot: 'boot-a', seq, at: Date.now(), span: 1000 }));
    const ack = client.publishAsync(deviceTopic(deviceId, 'reports'), payload, { qos: 1 }).then(
      () => true,
      () => false,
    );
    const got = await Promise.race([ack, closed.then(() => false)]);
    if (!got) return;
    acked.push(seq);
  }
}

test('SIGKILL under load loses no acknowledged report (real serve, real MQTT.js clients, same data after restart)', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetward-sigkill-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const [httpPort, mqttPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${httpPort}`;
  const bootstrap = `fwb_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  let child = serve(dataDir, httpPort, mqttPort, bootstrap);
  t.after(() => void child.kill('SIGKILL'));
  await ready(url, child);

  const admin = (await api(url, null, 'POST', '/api/v1/bootstrap', { bootstrapToken: bootstrap, name: 'root' })).token
    .token;
  await api(url, admin, 'POST', '/api/v1/products', {
    id: 'meter',
    name: 'Meter',
    model: 'M',
    manufacturer: 'Acme',
    supportEnd: '2031-01-01',
  });
  const tokens = (await api(url, admin, 'POST', '/api/v1/enrollment-tokens', { productId: 'meter', count: DEVICES }))
    .items;
  const clients: Array<{ id: string; client: MqttClient }> = [];
  for (let i = 0; i < DEVICES; i++) {
    const id = `meter-${i}`;
    const outDir = mkdtempSync(join(dataDir, `dev-${i}-`));
    const { files } = await enrollDevice({ server: url, token: tokens[i].token, deviceId: id, outDir });
    const client = await connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: mqttPort,
      clientId: id,
      key: readFileSync(files.key),
      cert: readFileSync(files.cert),
      ca: readFileSync(files.ca),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    client.on('error', () => {});
    clients.push({ id, client });
  }

  const acked = new Map<string, number[]>(clients.map((c) => [c.id, []]));
  const stop = { cut: false };
  const load = Promise.all(clients.map((c) => publishUntilCut(c.client, c.id, acked.get(c.id)!, stop)));
  const total = () => [...acked.values()].reduce((n, a) => n + a.length, 0);
  const deadline = Date.now() + 120_000;
  while (total() < ACKED_BEFORE_KILL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // Mid-load: the clients still have publishes in flight when the process dies.
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  stop.cut = true;
  await load;
  for (const c of clients) c.client.end(true);
  assert.ok(total() >= ACKED_BEFORE_KILL, `acknowledged ${total()}`);

  // Restart on the same data: it must come up, and every acknowledged report must be there.
  child = serve(dataDir, httpPort, mqttPort, bootstrap);
  await ready(url, child);
  const stats = await api(url, admin, 'GET', '/api/v1/telemetry/stats');
  assert.ok(stats.storedReports >= total(), `stored ${stats.storedReports} ≥ acknowledged ${total()}`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));

  const store = await openStore({ dataDir });
  t.after(() => store.close());
  type T = { telemetry_reports: { device_id: string; boot_id: string; seq: number } };
  const rows = await store.db.withTables<T>().selectFrom('telemetry_reports').select(['device_id', 'seq']).execute();
  const stored = new Set(rows.map((r) => `${r.device_id}/${r.seq}`));
  const lost = [...acked].flatMap(([id, seqs]) =>
    seqs.filter((s) => !stored.has(`${id}/${s}`)).map((s) => `${id}/${s}`),
  );
  assert.deepEqual(lost, [], `acknowledged but lost (of ${total()} acknowledged, ${rows.length} stored)`);
});
