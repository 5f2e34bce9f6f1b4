import { stat } from 'node:fs/promises';
import type { MqttClient } from 'mqtt';
import { defaultActions } from '../agent/actions.ts';
import { CommandHandler, type CommandOutcome } from '../agent/command-handler.ts';
import {
  type FetchLimits,
  type SlotName,
  type UpdateCommand,
  Updater,
  updateAction,
  updateStateDir,
} from '../agent/update/index.ts';
import type { Clock } from '../protocol/clock.ts';
import type { CommandResult } from '../protocol/commands.ts';
import { FleetwardError } from '../protocol/errors.ts';
import { deviceTopic } from '../protocol/topics.ts';
import type { UpdateStatus } from '../protocol/update-status.ts';
import { connectDevice, type EnrolledDevice } from './fleet-setup.ts';
import { SIM_LIMITS, type SimulatorErrorCode } from './options.ts';
import type { ScenarioName } from './scenarios.ts';
import { type DeviceUpdateFault, faultApplies } from './update-faults.ts';
import type { VirtualDevice } from './virtual-device.ts';

/** What the whole run counts (the CLI prints it; tests assert it). Maps: keys come from the wire. */
export interface SimCounts {
  sent: number;
  acked: number;
  failed: number;
  /** Commands answered, by type. */
  commands: Map<string, number>;
  /** Updates that ended, by final state (`succeeded`, `rolled-back`, or `failed:CODE`). */
  updates: Map<string, number>;
}

export const newCounts = (): SimCounts => ({ sent: 0, acked: 0, failed: 0, commands: new Map(), updates: new Map() });

const bump = (m: Map<string, number>, key: string) => m.set(key, (m.get(key) ?? 0) + 1);

/** Downloads bounded for a simulated fleet: a stuck server costs a device a minute, not the agent's half hour. */
export const SIM_FETCH_LIMITS: FetchLimits = { timeoutMs: 60_000, stallMs: 10_000, retries: 2 };

export interface SimulatedDeviceOptions {
  enrolled: EnrolledDevice;
  behaviour: VirtualDevice;
  /** API base URL: a rotation re-enrolls there. */
  server: string;
  /**
   * The wall clock, shared with the server: command expiry and update-status times. Simulated time
   * only shapes what the reports say; the server issues commands on its own clock.
   */
  clock: Clock;
  /** Simulated time now, epoch ms. */
  simNow: () => number;
  /** Attacks active at simulated time `at` (for reports made on demand). */
  activeAt: (at: number) => ScenarioName[];
  fault: DeviceUpdateFault;
  reconnectMs: number;
  counts: SimCounts;
}

export interface QuarantineNotice {
  state: 'quarantined' | 'released';
  reason: string;
  at: number;
}

/**
 * One virtual device on the wire: its mTLS MQTT session, the reports its behaviour model makes, and
 * its answers to commands through the agent's own code — CommandHandler (parsing, deduplication,
 * expiry), the rotation and quarantine actions, and the real Updater (TUF verification with tuf-js,
 * anti-rollback, A/B slots in the device's directory). Only the health check's answer and the fetch
 * URL can be injected (update-faults.ts).
 */
export class SimulatedDevice {
  readonly id: string;
  readonly behaviour: VirtualDevice;
  readonly updater: Updater;
  readonly fault: DeviceUpdateFault;
  /** Results answered on command-results, in order. */
  readonly results: CommandResult[] = [];
  /** update-status messages, in order. */
  readonly updateStatuses: UpdateStatus[] = [];
  /** The last quarantine notice (the agent's action also writes it to quarantine.json in the device's directory). */
  quarantine: QuarantineNotice | null = null;
  /** Sessions opened and listening so far (a rotation opens a new one). */
  sessions = 0;
  readonly #o: SimulatedDeviceOptions;
  readonly #handler: CommandHandler;
  #client: MqttClient | null = null;
  /** Pending while the session is replaced (after a rotation): publishes wait for the new one. */
  #switching: Promise<void> = Promise.resolve();
  #lastReportAt: number | null = null;
  #closing = false;

  constructor(o: SimulatedDeviceOptions) {
    this.#o = o;
    this.id = o.enrolled.id;
    this.behaviour = o.behaviour;
    this.fault = o.fault;
    this.updater = new Updater({
      // enrollDevice pinned the TUF root from the enrollment answer here, as for the real agent.
      dir: updateStateDir(o.enrolled.dir),
      report: (s) => this.#onUpdateStatus(s),
      restart: async () => o.behaviour.noteReboot('firmware-update'),
      healthCheck: (slot, image) => this.#healthCheck(slot, image),
      now: () => o.clock.now(),
      fetch: SIM_FETCH_LIMITS,
    });
    const agent = defaultActions(
      o.enrolled.dir,
      o.server,
      () => o.clock.now(),
      (cmd) => this.#update(cmd),
    );
    this.#handler = new CommandHandler(
      {
        ...agent,
        reportNow: () => this.#reportNow(),
        quarantineNotice: async (state, reason) => {
          const outcome = await agent.quarantineNotice(state, reason);
          this.quarantine = { state, reason, at: o.clock.now() };
          return outcome;
        },
      },
      () => o.clock.now(),
    );
  }

  /** Opens the mTLS session and subscribes to the command topic. Throws SIM_SETUP_FAILED. */
  async connect(): Promise<void> {
    const client = await connectDevice(this.#o.enrolled, this.#o.reconnectMs);
    const topic = deviceTopic(this.id, 'commands');
    client.on('message', (t, payload) => {
      if (t === topic && !this.#closing) void this.#onCommand(payload);
    });
    const granted = await client.subscribeAsync(topic, { qos: 1 }).catch(() => null);
    if (!granted || granted.some((g) => g.qos === 128)) {
      client.end(true);
      throw new FleetwardError<SimulatorErrorCode>(
        'SIM_SETUP_FAILED',
        `${this.id}: the broker refused the command topic`,
      );
    }
    this.#client = client;
    this.sessions++;
  }

  /** Makes the report of simulated time `at` (never before the previous one) and publishes it at QoS 1. */
  async report(at: number): Promise<void> {
    const t = Math.max(at, this.#lastReportAt ?? at);
    this.#lastReportAt = t;
    const report = this.behaviour.reportAt(t, this.#o.activeAt(t));
    this.#o.counts.sent++;
    if (await this.#publish(deviceTopic(this.id, 'reports'), JSON.stringify(report))) this.#o.counts.acked++;
    else this.#o.counts.failed++;
  }

  /** Stops taking commands, lets a running update end, closes the session. */
  async close(): Promise<void> {
    this.#closing = true;
    await this.updater.idle();
    await this.#switching;
    await this.#client?.endAsync(true).catch(() => {});
    this.#client = null;
  }

  async #onCommand(payload: Buffer): Promise<void> {
    const result = await this.#handler.handle(payload);
    if (!result) return;
    this.results.push(result);
    bump(this.#o.counts.commands, result.type);
    await this.#publish(deviceTopic(this.id, 'command-results'), JSON.stringify(result));
    // As the agent: a rotated identity takes effect on a new connection.
    if (result.type === 'rotate-credentials' && result.status === 'ok') await this.#reconnect();
  }

  #update(cmd: UpdateCommand): Promise<CommandOutcome> {
    const { mirror } = this.fault;
    // The attacker sits between this device and the server: everything it fetches passes the mirror.
    const via = mirror && faultApplies(this.fault, cmd.version) ? { ...cmd, metadataUrl: mirror } : cmd;
    return updateAction(this.updater)(via);
  }

  async #healthCheck(slot: SlotName, image: string): Promise<boolean> {
    const state = await this.updater.slots.load();
    // The injected fault: the new image boots, but the system is not healthy on this device.
    if (this.fault.unhealthy && faultApplies(this.fault, state.slots[slot]?.version)) return false;
    return (await stat(image)).size > 0;
  }

  async #onUpdateStatus(s: UpdateStatus): Promise<void> {
    this.updateStatuses.push(s);
    if (s.state === 'succeeded' || s.state === 'rolled-back' || s.state === 'failed') {
      bump(this.#o.counts.updates, s.state === 'failed' ? `failed:${s.code ?? 'UNKNOWN'}` : s.state);
      // Reports from now on name the firmware the active slot runs.
      const installed = await this.updater.installed();
      this.behaviour.firmware = installed.content?.version ?? this.behaviour.profile.firmware;
    }
    await this.#publish(deviceTopic(this.id, 'update-status'), JSON.stringify(s));
  }

  async #reportNow(): Promise<CommandOutcome> {
    const now = this.#o.simNow();
    // As the agent: report-now commands never bring reports closer than the smallest interval.
    if (this.#lastReportAt !== null && now - this.#lastReportAt < SIM_LIMITS.minIntervalMs) {
      return { status: 'rejected', code: 'RATE_LIMITED', detail: 'a report was made moments ago' };
    }
    await this.report(now);
    return { status: 'ok' };
  }

  #reconnect(): Promise<void> {
    this.#switching = (async () => {
      const old = this.#client;
      this.#client = null;
      // End the old session first: both carry the same client id, and the broker keeps only one.
      await old?.endAsync(true).catch(() => {});
      if (!this.#closing) await this.connect();
    })().catch(() => {
      // Offline: later publishes fail and are counted; the run goes on with the other devices.
    });
    return this.#switching;
  }

  async #publish(topic: string, payload: string): Promise<boolean> {
    await this.#switching;
    const client = this.#client;
    if (!client) return false;
    try {
      await client.publishAsync(topic, payload, { qos: 1 });
      return true;
    } catch {
      return false;
    }
  }
}
