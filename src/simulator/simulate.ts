import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import type { Clock } from '../protocol/clock.ts';
import { deviceTopic } from '../protocol/topics.ts';
import { connectDevice, createTokens, type EnrolledDevice, enrollFleet, ensureProduct } from './fleet-setup.ts';
import type { SimulateOptions } from './options.ts';
import { mapLimit } from './pool.ts';
import { profileFor } from './profiles.ts';
import { deriveSeed, seededRng } from './random.ts';
import type { ScenarioName, ScenarioSpec } from './scenarios.ts';
import { VirtualDevice } from './virtual-device.ts';

/** One line of the labels file: ground truth in simulated time (epoch ms). */
export interface Label {
  device: string;
  scenario: ScenarioName;
  start: number;
  end: number;
}

export interface SimulationResult {
  devices: number;
  reportsSent: number;
  reportsAcked: number;
  publishFailures: number;
  labels: Label[];
  /** Enrollment of every device, ms (real). */
  enrollMs: number;
  /** Connecting every device, ms (real). */
  connectMs: number;
  /** The simulated run after setup, ms (real). */
  runMs: number;
}

export interface SimulateDeps {
  clock: Clock;
  log: (line: string) => void;
}

const deviceId = (o: SimulateOptions, i: number) => `${o.idPrefix}-${String(i).padStart(4, '0')}`;

/** Labels in simulated epoch ms, written before the run starts so a crash still leaves the ground truth. */
export function labelsFor(o: SimulateOptions, simStart: number): Label[] {
  return o.scenarios.map((s: ScenarioSpec) => ({
    device: deviceId(o, s.deviceIndex),
    scenario: s.scenario,
    start: simStart + s.startMs,
    end: simStart + s.endMs,
  }));
}

/**
 * The fleet simulator: enrolls N devices through the real enrollment route, connects each over its own
 * mTLS MQTT session (bounded concurrency), then lets simulated time run at `speed` while every device
 * publishes its reports at QoS 1, waiting for each PUBACK. Throws SIM_SETUP_FAILED.
 */
export async function runSimulation(o: SimulateOptions, deps: SimulateDeps): Promise<SimulationResult> {
  const workDir = await mkdtemp(join(tmpdir(), 'fleetward-sim-'));
  const clients: MqttClient[] = [];
  try {
    const ids = Array.from({ length: o.devices }, (_, i) => deviceId(o, i));
    const t0 = deps.clock.now();
    await ensureProduct(o.server, o.token, o.product);
    const tokens = await createTokens(o.server, o.token, o.product, o.devices);
    const enrolled = await enrollFleet(o.server, ids, tokens, workDir, o.concurrency);
    const t1 = deps.clock.now();
    deps.log(`enrolled ${enrolled.length} devices in ${((t1 - t0) / 1000).toFixed(1)} s`);
    const rngs = ids.map((id) => seededRng(deriveSeed(o.seed, id)));
    clients.push(
      ...(await mapLimit(enrolled, o.concurrency, (d, i) => connectDevice(d, reconnectMs(rngs[i]!.next())))),
    );
    const t2 = deps.clock.now();
    deps.log(`connected ${clients.length} devices in ${((t2 - t1) / 1000).toFixed(1)} s`);
    const labels = labelsFor(o, o.startAt);
    if (o.labels)
      await writeFile(o.labels, labels.map((l) => JSON.stringify(l)).join('\n') + (labels.length ? '\n' : ''));
    const counts = { sent: 0, acked: 0, failed: 0 };
    const realStart = deps.clock.now();
    const simNow = () => o.startAt + (deps.clock.now() - realStart) * o.speed;
    await Promise.all(enrolled.map((d, i) => runDevice(o, d, i, rngs[i]!, clients[i]!, simNow, counts)));
    const t3 = deps.clock.now();
    deps.log(
      `simulated ${fmtDuration(o.durationMs)} in ${((t3 - t2) / 1000).toFixed(1)} s: ${counts.acked} reports acknowledged`,
    );
    return {
      devices: enrolled.length,
      reportsSent: counts.sent,
      reportsAcked: counts.acked,
      publishFailures: counts.failed,
      labels,
      enrollMs: t1 - t0,
      connectMs: t2 - t1,
      runMs: t3 - t2,
    };
  } finally {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
    await rm(workDir, { recursive: true, force: true });
  }
}

/** Reconnect delay per device, 1–5 s from its own stream: a broker restart does not get 1,000 devices at once. */
const reconnectMs = (u: number) => Math.round(1_000 + u * 4_000);

async function runDevice(
  o: SimulateOptions,
  d: EnrolledDevice,
  index: number,
  rng: ReturnType<typeof seededRng>,
  client: MqttClient,
  simNow: () => number,
  counts: { sent: number; acked: number; failed: number },
): Promise<void> {
  const device = new VirtualDevice(d.id, profileFor(o.profile, index), rng, o.startAt);
  const mine = o.scenarios.filter((s) => s.deviceIndex === index);
  const offset = Math.floor(rng.next() * o.intervalMs);
  const topic = deviceTopic(d.id, 'reports');
  for (let at = o.startAt + offset; at < o.startAt + o.durationMs; at += o.intervalMs) {
    const wait = (at - simNow()) / o.speed;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const rel = at - o.startAt;
    const active = mine.filter((s) => rel >= s.startMs && rel < s.endMs).map((s) => s.scenario);
    const report = device.reportAt(at, active);
    counts.sent++;
    try {
      await client.publishAsync(topic, JSON.stringify(report), { qos: 1 });
      counts.acked++;
    } catch {
      counts.failed++;
    }
  }
}

export function fmtDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
