import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { enrollDevice } from '../../agent/enroll.ts';
import type { TestServer } from './test-server.ts';

/** A device's files as `fleetward agent enroll` leaves them. */
export interface DeviceFiles {
  deviceId: string;
  dir: string;
  key: string;
  cert: string;
  ca: string;
}

/** Creates the product if needed, a token, and enrolls `deviceId` the way a device does. */
export async function enrollTestDevice(t: TestContext, server: TestServer, deviceId: string, productId = 'lock') {
  const token = server.adminToken;
  const product = { id: productId, name: productId, model: 'M-1', manufacturer: 'Acme', supportEnd: '2031-12-31' };
  await server.call('POST', '/api/v1/products', { token, body: product });
  const res = await server.call('POST', '/api/v1/enrollment-tokens', { token, body: { productId } });
  if (res.status !== 201) throw new Error(`token: ${JSON.stringify(res.body)}`);
  const dir = mkdtempSync(join(tmpdir(), `fleetward-${deviceId}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const out = await enrollDevice({ server: server.url, token: res.body.items[0].token, deviceId, outDir: dir });
  return { deviceId, dir, ...out.files } satisfies DeviceFiles;
}

/** Writes a key and certificate from elsewhere (a foreign or manufacturer CA) as device files. */
export function deviceFilesFrom(
  t: TestContext,
  deviceId: string,
  certPem: string,
  keyPem: string,
  caPem: string,
): DeviceFiles {
  const dir = mkdtempSync(join(tmpdir(), `fleetward-${deviceId}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = { key: join(dir, 'key.pem'), cert: join(dir, 'cert.pem'), ca: join(dir, 'ca.pem') };
  writeFileSync(files.key, keyPem);
  writeFileSync(files.cert, certPem);
  writeFileSync(files.ca, caPem);
  return { deviceId, dir, ...files };
}

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runTool(cmd: string, args: string[], timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? (err as { code: number }).code
          : 1
        : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const tlsArgs = (f: DeviceFiles, port: number, clientId = f.deviceId) => [
  '-h',
  '127.0.0.1',
  '-p',
  String(port),
  '--cafile',
  f.ca,
  '--cert',
  f.cert,
  '--key',
  f.key,
  '-i',
  clientId,
  '-V',
  'mqttv311',
];

/** The real `mosquitto_pub` (Debian mosquitto-clients). */
export function mosquittoPub(
  f: DeviceFiles,
  port: number,
  topic: string,
  message: string,
  opts: { clientId?: string } = {},
) {
  return runTool(
    'mosquitto_pub',
    [...tlsArgs(f, port, opts.clientId), '-q', '1', '-d', '-t', topic, '-m', message],
    15_000,
  );
}

/** The real `mosquitto_sub`: subscribes, waits up to `waitSec` for `count` messages (-C), prints them. */
export function mosquittoSub(
  f: DeviceFiles,
  port: number,
  topic: string,
  opts: { count?: number; waitSec?: number } = {},
) {
  return runTool(
    'mosquitto_sub',
    [...tlsArgs(f, port), '-q', '1', '-t', topic, '-C', String(opts.count ?? 1), '-W', String(opts.waitSec ?? 3)],
    20_000,
  );
}

/** An MQTT.js client with the device's certificate; closed when the test ends. */
export async function mqttJs(
  t: TestContext,
  f: DeviceFiles,
  port: number,
  opts: IClientOptions = {},
): Promise<MqttClient> {
  const client = await connectAsync({
    protocol: 'mqtts',
    host: '127.0.0.1',
    port,
    clientId: f.deviceId,
    key: readFileSync(f.key),
    cert: readFileSync(f.cert),
    ca: readFileSync(f.ca),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
  t.after(() => client.endAsync(true).catch(() => {}));
  return client;
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
