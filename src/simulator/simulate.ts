import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../protocol/clock.ts';
import { createTokens, enrollFleet, ensureProduct } from './fleet-setup.ts';
import type { SimulateOptions } from './options.ts';
import { mapLimit } from './pool.ts';
import { profileFor } from './profiles.ts';
import { deriveSeed, seededRng } from './random.ts';
import type { ScenarioName, ScenarioSpec } from './scenarios.ts';
import { newCounts, type SimCounts, SimulatedDevice } from './simulated-device.ts';
import { describeFaults, updateFaultFor } from './update-faults.ts';
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
  /** Commands the devices answered, by type. */
  commands: Record<string, number>;
  /** Updates that ended, by final state: `succeeded`, `rolled-back`, `failed:CODE`. */
  updates: Record<string, number>;
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

/** A running simulation: its devices answer commands until it is stopped. */
export interface Simulation {
  /** In index order. */
  devices: readonly SimulatedDevice[];
  labels: Label[];
  /** Resolves when simulated time has run its duration (every scheduled report made). */
  finished: Promise<void>;
  /** Ends the run (early, or after `finished`): reports stop, updates in flight end, sessions close. Idempotent. */
  stop(): Promise<SimulationResult>;
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
 * The fleet simulator, start to end: see startSimulation; resolves when the duration has run and
 * every update in flight has ended. Throws SIM_SETUP_FAILED.
 */
export async function runSimulation(o: SimulateOptions, deps: SimulateDeps): Promise<SimulationResult> {
  const sim = await startSimulation(o, deps);
  await sim.finished;
  return sim.stop();
}

/**
 * Enrolls N devices through the real enrollment route, connects each over its own mTLS MQTT session
 * subscribed to its commands (bounded concurrency), then lets simulated time run at `speed` while every
 * device publishes its reports at QoS 1, waiting for each PUBACK, and answers commands as the agent
 * does (simulated-device.ts). Resolves once every device listens. Throws SIM_SETUP_FAILED.
 */
export async function startSimulation(o: SimulateOptions, deps: SimulateDeps): Promise<Simulation> {
  const workDir = await mkdtemp(join(tmpdir(), 'fleetward-sim-'));
  const run: Run = { o, deps, workDir, counts: newCounts(), devices: [], offsets: [], t0: deps.clock.now(), t1: 0 };
  // Simulated time starts once every device listens; until then it stands at the start.
  let realStart = Number.POSITIVE_INFINITY;
  const simNow = () => o.startAt + Math.max(0, deps.clock.now() - realStart) * o.speed;
  const labels = labelsFor(o, o.startAt);
  try {
    await setUpFleet(run, simNow);
    if (o.labels)
      await writeFile(o.labels, labels.map((l) => JSON.stringify(l)).join('\n') + (labels.length ? '\n' : ''));
  } catch (err) {
    await Promise.all(run.devices.map((d) => d?.close()));
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  realStart = deps.clock.now();
  const halt = new AbortController();
  const finished = Promise.all(run.devices.map((d, i) => runDevice(o, d, run.offsets[i]!, simNow, halt.signal))).then(
    () => {},
  );
  let stopping: Promise<SimulationResult> | null = null;
  const stop = () => {
    halt.abort();
    stopping ??= finish(run, finished, labels, realStart, simNow);
    return stopping;
  };
  return { devices: run.devices, labels, finished, stop };
}

/** One run's state between setup and stop. */
interface Run {
  o: SimulateOptions;
  deps: SimulateDeps;
  workDir: string;
  counts: SimCounts;
  /** In index order. */
  devices: SimulatedDevice[];
  /** Each device's first report after the start, simulated ms: spread over one interval. */
  offsets: number[];
  t0: number;
  t1: number;
}

async function setUpFleet(run: Run, simNow: () => number): Promise<void> {
  const { o, deps } = run;
  const ids = Array.from({ length: o.devices }, (_, i) => deviceId(o, i));
  await ensureProduct(o.server, o.token, o.product);
  const tokens = await createTokens(o.server, o.token, o.product, o.devices);
  const enrolled = await enrollFleet(o.server, ids, tokens, run.workDir, o.concurrency);
  run.t1 = deps.clock.now();
  deps.log(`enrolled ${enrolled.length} devices in ${((run.t1 - run.t0) / 1000).toFixed(1)} s`);
  const faults = ids.map((id, i) => updateFaultFor(o, i, id));
  const faultLine = describeFaults(faults);
  if (faultLine) deps.log(faultLine);
  await mapLimit(enrolled, o.concurrency, async (d, i) => {
    // Draws in a fixed order from the device's own stream: reconnect delay, behaviour, first report.
    const rng = seededRng(deriveSeed(o.seed, d.id));
    const reconnect = reconnectMs(rng.next());
    const mine = o.scenarios.filter((s) => s.deviceIndex === i);
    run.devices[i] = new SimulatedDevice({
      enrolled: d,
      behaviour: new VirtualDevice(d.id, profileFor(o.profile, i), rng, o.startAt),
      server: o.server,
      clock: deps.clock,
      simNow,
      activeAt: (at) =>
        mine.filter((s) => at - o.startAt >= s.startMs && at - o.startAt < s.endMs).map((s) => s.scenario),
      fault: faults[i]!,
      reconnectMs: reconnect,
      counts: run.counts,
    });
    run.offsets[i] = Math.floor(rng.next() * o.intervalMs);
    await run.devices[i].connect();
  });
  deps.log(`connected ${run.devices.length} devices in ${((deps.clock.now() - run.t1) / 1000).toFixed(1)} s`);
}

async function finish(
  run: Run,
  finished: Promise<void>,
  labels: Label[],
  realStart: number,
  simNow: () => number,
): Promise<SimulationResult> {
  const { o, deps, counts } = run;
  await finished;
  const t3 = deps.clock.now();
  const simulated = Math.min(o.durationMs, Math.round((simNow() - o.startAt) / 1000) * 1000);
  deps.log(
    `simulated ${fmtDuration(simulated)} in ${((t3 - realStart) / 1000).toFixed(1)} s: ${counts.acked} reports acknowledged`,
  );
  await Promise.all(run.devices.map((d) => d.close()));
  await rm(run.workDir, { recursive: true, force: true });
  return {
    devices: run.devices.length,
    reportsSent: counts.sent,
    reportsAcked: counts.acked,
    publishFailures: counts.failed,
    labels,
    commands: Object.fromEntries(counts.commands),
    updates: Object.fromEntries(counts.updates),
    enrollMs: run.t1 - run.t0,
    connectMs: realStart - run.t1,
    runMs: t3 - realStart,
  };
}

/** Reconnect delay per device, 1–5 s from its own stream: a broker restart does not get 1,000 devices at once. */
const reconnectMs = (u: number) => Math.round(1_000 + u * 4_000);

/** One device's reports, each at its simulated time, until the duration has run or the run is halted. */
async function runDevice(
  o: SimulateOptions,
  d: SimulatedDevice,
  offset: number,
  simNow: () => number,
  halt: AbortSignal,
): Promise<void> {
  for (let at = o.startAt + offset; at < o.startAt + o.durationMs; at += o.intervalMs) {
    const wait = (at - simNow()) / o.speed;
    if (wait > 0) {
      const woke = await sleep(wait, true, { signal: halt }).catch(() => false);
      if (!woke) return;
    }
    if (halt.aborted) return;
    await d.report(at);
  }
}

export function fmtDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}
