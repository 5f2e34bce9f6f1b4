import type { Clock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { Report } from '../../protocol/report.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import { CloudMetrics } from './cloud-metrics.ts';
import { Detector } from './engine/detector.ts';
import { HostResolver } from './host-resolver.ts';
import type { CloudCounterSource, Datapoint, DetectionSignal, DeviceFacts, SecurityProfile } from './model.ts';
import { profileCovers } from './profile-rules.ts';
import type { ProfileService } from './profile-service.ts';
import { reportToDatapoint } from './report-metrics.ts';
import * as db from './store.ts';

export interface DetectOptions {
  /** Silent-device checks, ms. */
  tickMs: number;
  /** Learned state is written to the database this often, ms (and on stop). */
  flushMs: number;
  /**
   * Judge reports at the device's own time instead of the server's receipt time. Only for simulated
   * fleets running faster than real time; a real device's clock is not trusted.
   */
  deviceTime: boolean;
}

/** Allow-list host names are re-resolved this often, ms. */
const HOST_REFRESH_MS = 10 * 60_000;
/** An allow entry that is a host name (has a letter in its last label, so not an address or CIDR). */
const HOST_ENTRY = /^[a-z0-9.-]*[a-z][a-z0-9-]*$/i;

export const DEFAULT_DETECT: DetectOptions = { tickMs: 10_000, flushMs: 30_000, deviceTime: false };

export interface DetectDeps {
  store: Store;
  bus: Bus;
  clock: Clock;
  profiles: ProfileService;
  registry: RegistryService;
  cloud?: CloudCounterSource | null;
  /** Resolves allow-list host names (default: the system resolver). */
  resolveHost?: (host: string) => Promise<string[]>;
}

/**
 * Detection at run time: consumes `telemetry.accepted`, `telemetry.rejected` and `mqtt.refused` from
 * the bus (never telemetry's store), evaluates each device against the profiles covering it, and
 * publishes `alarm.raised` / `alarm.cleared`. Datapoints are processed one at a time in arrival order,
 * so consecutive-datapoint counts are exact.
 */
export class DetectService {
  readonly #deps: DetectDeps;
  readonly #options: DetectOptions;
  readonly #detector: Detector;
  readonly #cloud: CloudMetrics;
  readonly #hosts: HostResolver;
  readonly #facts = new Map<string, { facts: DeviceFacts; profiles: SecurityProfile[] } | null>();
  #profiles: SecurityProfile[] = [];
  /** Newest datapoint time seen: "now" for silence checks when judging on device time. */
  #latestAt = 0;
  #chain: Promise<void> = Promise.resolve();
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: Array<() => void> = [];

  constructor(deps: DetectDeps, options: Partial<DetectOptions> = {}) {
    this.#deps = deps;
    this.#options = { ...DEFAULT_DETECT, ...options };
    this.#hosts = new HostResolver(deps.resolveHost);
    this.#detector = new Detector({ resolve: this.#hosts.addressesOf });
    this.#cloud = new CloudMetrics(deps.cloud ?? null);
  }

  /** Loads profiles and learned state, subscribes to the bus and starts the timers. */
  async start(): Promise<void> {
    const { bus, clock, profiles } = this.#deps;
    await this.reloadProfiles();
    const now = clock.now();
    for (const [id, state] of await db.loadDeviceStates(this.#deps.store.db)) this.#detector.restore(id, state, now);
    profiles.onChange(() => void this.#serial(() => this.reloadProfiles()));
    this.#unsubscribe.push(
      bus.subscribe('telemetry.accepted', (e) =>
        this.#serial(async () => {
          for (const r of e.reports) await this.#observeReport(r.deviceId, r.receivedAt, r.report);
        }),
      ),
      bus.subscribe('telemetry.rejected', (e) =>
        this.#serial(async () => {
          for (const r of e.rejections) await this.#observeCloudEvent(r.deviceId, 'malformed', r.receivedAt);
        }),
      ),
      bus.subscribe('mqtt.refused', (e) =>
        e.deviceId ? this.#serial(() => this.#observeCloudEvent(e.deviceId!, 'refused', clock.now())) : undefined,
      ),
      bus.subscribe('device.updated', (e) => void this.#facts.delete(e.deviceId)),
      bus.subscribe('device.deleted', (e) => this.#serial(() => this.#forget(e.deviceId))),
      bus.subscribe('alarm.closed', (e) =>
        this.#serial(async () => this.#detector.resetRule(e.deviceId, e.profileId, e.behaviour)),
      ),
    );
    this.#timers.push(
      setInterval(() => void this.tick(), this.#options.tickMs).unref(),
      setInterval(() => void this.flush(), this.#options.flushMs).unref(),
      setInterval(() => void this.#refreshHosts(), HOST_REFRESH_MS).unref(),
    );
  }

  /** Stops timers and subscriptions, waits for queued work and writes the learned state. */
  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    for (const u of this.#unsubscribe) u();
    this.#timers = [];
    this.#unsubscribe = [];
    await this.#chain;
    await this.flush();
  }

  async reloadProfiles(): Promise<void> {
    this.#profiles = await this.#deps.profiles.list();
    this.#facts.clear();
    await this.#refreshHosts();
  }

  async #refreshHosts(): Promise<void> {
    const hosts = this.#profiles.flatMap((p) =>
      p.behaviours.flatMap((b) => (b.kind === 'set-membership' ? b.allowed.filter((e) => HOST_ENTRY.test(e)) : [])),
    );
    await this.#hosts.refresh(hosts);
  }

  /** Evaluates one datapoint (tests and the simulator bench call this directly). */
  observe(dp: Datapoint): Promise<void> {
    return this.#serial(() => this.#observe(dp));
  }

  /** Silent-device check now; the timer calls it, tests call it after moving the clock. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      // On device time (simulations) silence is measured against the fleet's own newest report.
      const now = this.#options.deviceTime ? this.#latestAt : this.#deps.clock.now();
      const signals = this.#detector.tick(now, (id) => this.#facts.get(id)?.profiles);
      await this.#publish(signals);
    });
  }

  /** Writes the learned state of every device that changed, in one transaction. */
  async flush(): Promise<void> {
    const dirty = this.#detector.takeDirty();
    if (dirty.length === 0) return;
    const at = this.#deps.clock.now();
    await this.#deps.store.transaction(async (tx) => {
      for (const [id, state] of dirty) await db.saveDeviceState(tx, id, state, at);
    });
  }

  /** Resolves when everything queued so far has been evaluated (tests wait on this, not on sleeps). */
  idle(): Promise<void> {
    return this.#serial(async () => {});
  }

  async #observeReport(deviceId: string, receivedAt: number, report: Report): Promise<void> {
    const at = this.#options.deviceTime ? report.at : receivedAt;
    await this.#observe(reportToDatapoint(deviceId, at, report));
  }

  async #observeCloudEvent(deviceId: string, kind: 'malformed' | 'refused', at: number): Promise<void> {
    this.#cloud.note(deviceId, kind, at);
    await this.#observe({ deviceId, at, numbers: {}, sets: {} });
  }

  async #observe(dp: Datapoint): Promise<void> {
    const entry = await this.#factsOf(dp.deviceId);
    if (!entry) return;
    this.#cloud.enrich(dp);
    this.#latestAt = Math.max(this.#latestAt, dp.at);
    await this.#publish(this.#detector.observe(entry.profiles, dp));
  }

  async #factsOf(deviceId: string): Promise<{ facts: DeviceFacts; profiles: SecurityProfile[] } | null> {
    if (this.#facts.has(deviceId)) return this.#facts.get(deviceId)!;
    let entry: { facts: DeviceFacts; profiles: SecurityProfile[] } | null = null;
    try {
      const d = await this.#deps.registry.getDevice(deviceId);
      const facts: DeviceFacts = { id: d.id, productId: d.productId, group: d.group, tags: d.tags };
      entry = { facts, profiles: this.#profiles.filter((p) => p.enabled && profileCovers(p.targets, facts)) };
    } catch (err) {
      if (!isFleetwardError(err, 'DEVICE_NOT_FOUND')) throw err;
    }
    this.#facts.set(deviceId, entry);
    return entry;
  }

  async #forget(deviceId: string): Promise<void> {
    this.#facts.delete(deviceId);
    this.#detector.forget(deviceId);
    this.#cloud.forget(deviceId);
    await db.deleteDeviceState(this.#deps.store.db, deviceId);
  }

  async #publish(signals: DetectionSignal[]): Promise<void> {
    for (const s of signals) {
      if (s.type === 'raise') {
        const { type: _, ...event } = s;
        await this.#deps.bus.publish('alarm.raised', event);
      } else {
        const { type: _, ...event } = s;
        await this.#deps.bus.publish('alarm.cleared', event);
      }
    }
  }

  /** Runs `fn` after everything queued before it; a failure is reported, never breaks the queue. */
  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => {});
    return run;
  }
}
