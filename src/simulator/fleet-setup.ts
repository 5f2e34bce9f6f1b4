import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { enrollDevice } from '../agent/enroll.ts';
import { FleetwardError } from '../protocol/errors.ts';
import type { SimulatorErrorCode } from './options.ts';
import { mapLimit } from './pool.ts';

export interface EnrolledDevice {
  id: string;
  dir: string;
  mqtt: { host: string; port: number };
}

const setupFailed = (message: string, cause?: unknown) =>
  new FleetwardError<SimulatorErrorCode>('SIM_SETUP_FAILED', message, { cause });

async function api<T>(
  server: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  let res: Response;
  try {
    res = await fetch(new URL(path, server), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw setupFailed(`cannot reach ${server}`, err);
  }
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

/** Creates the product when it does not exist yet (a plausible one: the simulator is for demos and tests). */
export async function ensureProduct(server: string, token: string, product: string): Promise<void> {
  const got = await api(server, token, 'GET', `/api/v1/products/${encodeURIComponent(product)}`);
  if (got.status === 200) return;
  if (got.status !== 404) throw setupFailed(`cannot read product ${product}: HTTP ${got.status}`);
  const body = {
    id: product,
    name: `Simulated ${product}`,
    model: `SIM-${product}`,
    manufacturer: 'Fleetward Simulator',
    supportEnd: '2035-12-31',
  };
  const made = await api(server, token, 'POST', '/api/v1/products', body);
  if (made.status !== 201) throw setupFailed(`cannot create product ${product}: HTTP ${made.status}`);
}

/** One single-use enrollment token per device, 1,000 per request (the API's batch limit). */
export async function createTokens(server: string, token: string, product: string, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) {
    const n = Math.min(1000, count - out.length);
    const res = await api<{ items: Array<{ token: string }>; detail?: string }>(
      server,
      token,
      'POST',
      '/api/v1/enrollment-tokens',
      {
        productId: product,
        count: n,
        ttlHours: 1,
      },
    );
    if (res.status !== 201)
      throw setupFailed(`cannot create enrollment tokens: ${res.body?.detail ?? `HTTP ${res.status}`}`);
    out.push(...res.body.items.map((i) => i.token));
  }
  return out;
}

/** Each device its own key pair and CSR, enrolled through the real route (identity's enrollDevice). */
export async function enrollFleet(
  server: string,
  ids: string[],
  tokens: string[],
  workDir: string,
  concurrency: number,
): Promise<EnrolledDevice[]> {
  return mapLimit(ids, concurrency, async (id, i) => {
    const dir = join(workDir, id);
    try {
      const out = await enrollDevice({ server, token: tokens[i]!, deviceId: id, outDir: dir });
      return { id, dir, mqtt: out.mqtt };
    } catch (err) {
      throw setupFailed(`enrollment of ${id} failed: ${(err as Error).message}`, err);
    }
  });
}

/** Its own mTLS MQTT connection per device; mqtt.js reconnects (jittered per device) if the broker drops it. */
export async function connectDevice(d: EnrolledDevice, reconnectMs: number, timeoutMs = 30_000): Promise<MqttClient> {
  const [key, cert, ca] = await Promise.all(
    ['key.pem', 'cert.pem', 'ca.pem'].map((f) => readFile(join(d.dir, f), 'utf8')),
  );
  const options: IClientOptions & { minVersion: 'TLSv1.2' } = {
    protocol: 'mqtts',
    host: d.mqtt.host,
    port: d.mqtt.port,
    clientId: d.id,
    key,
    cert,
    ca,
    minVersion: 'TLSv1.2',
    protocolVersion: 4,
    clean: true,
    keepalive: 60,
    reconnectPeriod: reconnectMs,
    connectTimeout: timeoutMs,
  };
  const client = connect(options);
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(setupFailed(`${d.id}: no CONNACK in time`)), timeoutMs);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
  }).catch((err: unknown) => {
    client.end(true);
    throw err;
  });
  return client;
}
