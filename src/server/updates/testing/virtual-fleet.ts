import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { MqttClient } from 'mqtt';
import { enrollDevice } from '../../../agent/enroll.ts';
import { pinTrustedRoot } from '../../../agent/update/tuf-client.ts';
import { type UpdateCommand, Updater } from '../../../agent/update/updater.ts';
import { parseCommandPayload } from '../../../protocol/commands.ts';
import { deviceTopic } from '../../../protocol/topics.ts';
import type { UpdateStatus } from '../../../protocol/update-status.ts';
import { mqttJs } from '../../testing/mqtt-clients.ts';
import type { TestServer } from '../../testing/test-server.ts';

/** Failure injection per device: what goes wrong when it updates. */
export interface Fault {
  /** The new slot fails its health check (the device falls back: `rolled-back`). */
  unhealthy?: boolean;
  /** The device fetches through this URL instead of the server's (a mirror the attacker controls). */
  mirror?: string;
}

export interface VirtualDevice {
  id: string;
  client: MqttClient;
  updater: Updater;
  reports: UpdateStatus[];
  fault: Fault;
}

/**
 * Devices as the fleet has them: each enrolled with its own key (the agent's enrollDevice), connected
 * over mTLS MQTT (MQTT.js), answering `update` commands with the agent's real Updater — TUF client,
 * A/B slots, health check — and reporting on update-status. Faults are injected per device.
 */
export async function startVirtualFleet(
  t: TestContext,
  server: TestServer,
  opts: { productId: string; count: number; prefix: string },
): Promise<Map<string, VirtualDevice>> {
  const tokens = await server.call('POST', '/api/v1/enrollment-tokens', {
    token: server.adminToken,
    body: { productId: opts.productId, count: opts.count },
  });
  if (tokens.status !== 201) throw new Error(`tokens: ${JSON.stringify(tokens.body)}`);
  const root = await (await fetch(`${server.url}/device/v1/tuf/1.root.json`)).text();
  const fleet = new Map<string, VirtualDevice>();
  await Promise.all(
    (tokens.body.items as Array<{ token: string }>).map(async ({ token }, i) => {
      const id = `${opts.prefix}-${String(i).padStart(3, '0')}`;
      const dir = mkdtempSync(join(tmpdir(), `fleetward-vd-${id}-`));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      const out = await enrollDevice({ server: server.url, token, deviceId: id, outDir: dir });
      // The trusted root is pinned at enrollment: every later root must chain from it.
      await pinTrustedRoot(join(dir, 'update'), root);
      fleet.set(id, await connect(t, server, id, dir, out.files));
    }),
  );
  return fleet;
}

async function connect(
  t: TestContext,
  server: TestServer,
  id: string,
  dir: string,
  files: { key: string; cert: string; ca: string },
): Promise<VirtualDevice> {
  const client = await mqttJs(t, { deviceId: id, dir, ...files }, server.mqtt.port);
  // No update outlives the test: wait for the running one before the connection and server close.
  t.after(() => device.updater.idle());
  const device: VirtualDevice = { id, client, reports: [], fault: {}, updater: undefined as never };
  device.updater = new Updater({
    dir: join(dir, 'update'),
    report: async (s) => {
      device.reports.push(s);
      // After the test the connection is gone; the real agent queues reports on disk instead.
      if (client.connected) await client.publishAsync(deviceTopic(id, 'update-status'), JSON.stringify(s), { qos: 1 });
    },
    healthCheck: async (_slot, image) => !device.fault.unhealthy && readFileSync(image).length > 0,
    now: () => Date.now(),
    fetch: { timeoutMs: 30_000, stallMs: 10_000, retries: 2 },
  });
  client.on('message', (_topic, payload) => {
    let cmd: ReturnType<typeof parseCommandPayload>;
    try {
      cmd = parseCommandPayload(payload);
    } catch {
      return;
    }
    if (cmd.type !== 'update') return;
    const c: UpdateCommand = device.fault.mirror ? { ...cmd, metadataUrl: device.fault.mirror } : cmd;
    device.updater.accept(c).catch(() => {});
  });
  await client.subscribeAsync(deviceTopic(id, 'commands'), { qos: 1 });
  return device;
}
