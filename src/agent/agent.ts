import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../protocol/clock.ts';
import type { ResetReason } from '../protocol/report.ts';
import { deviceTopic } from '../protocol/topics.ts';
import { type AgentState, loadState, saveState } from './agent-state.ts';
import { type BackoffPolicy, backoffDelay } from './backoff.ts';
import type { ProcSource } from './collect/proc-files.ts';
import { readBootId } from './collect/system.ts';
import { type CommandActions, CommandHandler } from './command-handler.ts';
import { DiskQueue, type QueueLimits } from './disk-queue.ts';
import { type DeviceIdentity, loadIdentity } from './identity-files.ts';
import { MqttLink } from './mqtt-link.ts';
import { buildReport } from './report-builder.ts';
import { detectReset } from './resets.ts';

export type AgentLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface AgentOptions {
  dir: string;
  /** Report interval, ms (≥ 5 s). */
  intervalMs: number;
  broker: { host: string; port: number };
  proc: ProcSource;
  authLog: string | null;
  firmware: string;
  agentVersion: string;
  clock: Clock;
  random: () => number;
  backoff: BackoffPolicy;
  /** No PUBACK within this: the link is considered broken and replaced. */
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  queueLimits?: Partial<QueueLimits>;
  log: AgentLog;
  /** Command actions beyond reporting (rotation, quarantine, update); see command-handler.ts. */
  actions: Omit<CommandActions, 'reportNow'>;
}

/** Smallest gap between two reports, ms: neither a config nor a flood of report-now commands goes below it. */
export const MIN_INTERVAL_MS = 5_000;

/**
 * The device agent: reports every interval into the disk queue, and a connection loop drains the queue
 * in order over mTLS MQTT, deleting an entry only after its PUBACK. Offline, reports wait on disk; a
 * dead or slow server costs a reconnect with jittered backoff, never a lost or doubled report.
 */
export class Agent {
  readonly #o: AgentOptions;
  #queue!: DiskQueue;
  #state!: AgentState;
  #seq = 0;
  #resets: ResetReason[] = [];
  #identity!: DeviceIdentity;
  #link: MqttLink | null = null;
  #stopped = false;
  #stop!: () => void;
  readonly #stopping = new Promise<void>((r) => {
    this.#stop = r;
  });
  #timer: ReturnType<typeof setTimeout> | undefined;
  #reporting: Promise<void> = Promise.resolve();
  #lastReportAt = 0;
  #pumping = false;
  #pumpAgain = false;
  #loop: Promise<void> | undefined;
  readonly #commands: CommandHandler;

  constructor(options: AgentOptions) {
    this.#o = options;
    this.#commands = new CommandHandler({ ...options.actions, reportNow: () => this.#reportNowCommand() }, () =>
      options.clock.now(),
    );
  }

  get deviceId(): string {
    return this.#identity.deviceId;
  }

  /** Loads identity, queue and state, notes a reset since the last run, reports once and starts both loops. */
  async start(): Promise<void> {
    await mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
    this.#identity = await loadIdentity(this.#o.dir);
    this.#queue = await DiskQueue.open(join(this.#o.dir, 'queue'), this.#o.queueLimits);
    this.#state = await loadState(this.#o.dir);
    this.#seq = Math.max(this.#state.seq, this.#queue.lastSeq);
    const bootId = await readBootId(this.#o.proc).catch(() => 'unknown');
    const reset = await detectReset(this.#o.dir, this.#state.bootId, bootId);
    if (reset) this.#resets.push(reset);
    this.#o.log('info', 'agent started', { deviceId: this.deviceId, queued: this.#queue.size, seq: this.#seq, reset });
    await this.report();
    this.#schedule();
    this.#loop = this.#connectLoop();
  }

  /** Builds one report and queues it durably; reports are made one at a time. */
  report(): Promise<void> {
    this.#reporting = this.#reporting
      .then(() => this.#reportOnce())
      .catch((err: unknown) => {
        this.#o.log('error', 'report failed', { code: (err as { code?: string }).code, err: String(err) });
      });
    return this.#reporting;
  }

  async #reportOnce(): Promise<void> {
    const seq = this.#seq + 1;
    const losses = this.#queue.takeLosses();
    const { report, state } = await buildReport({
      proc: this.#o.proc,
      authLog: this.#o.authLog,
      firmware: this.#o.firmware,
      agentVersion: this.#o.agentVersion,
      now: this.#o.clock.now(),
      seq,
      state: this.#state,
      resets: this.#resets,
      meta: { queued: this.#queue.size, ...losses },
    });
    await this.#queue.append({ seq, payload: JSON.stringify(report) });
    this.#seq = seq;
    this.#resets = [];
    this.#state = state;
    this.#lastReportAt = this.#o.clock.now();
    await saveState(this.#o.dir, state);
    if (this.#link) void this.#pump(this.#link);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.report().finally(() => this.#schedule());
    }, this.#o.intervalMs);
  }

  async #reportNowCommand() {
    if (this.#o.clock.now() - this.#lastReportAt < MIN_INTERVAL_MS) {
      return { status: 'rejected' as const, code: 'RATE_LIMITED', detail: 'a report was made moments ago' };
    }
    await this.report();
    return { status: 'ok' as const };
  }

  async #connectLoop(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      const upSince = this.#o.clock.now();
      try {
        await this.#session();
      } catch (err) {
        this.#o.log('warn', 'broker unavailable', { code: (err as { code?: string }).code, attempt });
      }
      if (this.#stopped) break;
      // A session that held for a while resets the backoff; one that dies at once (a server answering
      // garbage, refusing us) keeps growing it, so a broken server never sees a tight reconnect loop.
      if (this.#o.clock.now() - upSince > 60_000) attempt = 0;
      const delay = backoffDelay(attempt++, this.#o.random, this.#o.backoff);
      await Promise.race([new Promise((r) => setTimeout(r, delay)), this.#stopping]);
    }
  }

  /** One connection: open, subscribe to commands, drain the queue; returns when the link drops. */
  async #session(): Promise<void> {
    this.#identity = await loadIdentity(this.#o.dir); // rotation may have replaced the files
    const link = await MqttLink.open({
      ...this.#o.broker,
      clientId: this.#identity.deviceId,
      keyPem: this.#identity.keyPem,
      certPem: this.#identity.certPem,
      caPem: this.#identity.caPem,
      connectTimeoutMs: this.#o.connectTimeoutMs,
      keepaliveSec: 30,
    });
    const closed = new Promise<void>((r) => link.onClose(r));
    try {
      const commandsTopic = deviceTopic(this.deviceId, 'commands');
      link.onMessage((topic, payload) => {
        if (topic === commandsTopic) void this.#onCommand(link, payload);
      });
      await link.subscribe(commandsTopic);
      this.#link = link;
      this.#o.log('info', 'connected', { broker: `${this.#o.broker.host}:${this.#o.broker.port}` });
      void this.#pump(link);
      await Promise.race([closed, this.#stopping]);
    } finally {
      this.#link = null;
      await link.close();
    }
    if (!this.#stopped) this.#o.log('warn', 'disconnected');
  }

  /** Sends queued reports oldest first, one PUBACK at a time, so order holds and nothing is skipped. */
  async #pump(link: MqttLink): Promise<void> {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    const topic = deviceTopic(this.deviceId, 'reports');
    try {
      do {
        this.#pumpAgain = false;
        for (let e = await this.#queue.peek(); e && !link.closed; e = await this.#queue.peek()) {
          await link.publish(topic, e.payload, this.#o.publishTimeoutMs);
          await this.#queue.remove(e.seq);
        }
      } while (this.#pumpAgain && !link.closed);
    } catch (err) {
      this.#o.log('warn', 'publish failed; reconnecting', { code: (err as { code?: string }).code });
      await link.close();
    } finally {
      this.#pumping = false;
    }
  }

  async #onCommand(link: MqttLink, payload: Buffer): Promise<void> {
    const result = await this.#commands.handle(payload);
    if (!result) return;
    this.#o.log('info', 'command', { id: result.id, type: result.type, status: result.status });
    link.publishQuiet(deviceTopic(this.deviceId, 'command-results'), JSON.stringify(result));
    // A rotated identity takes effect on a new connection.
    if (result.type === 'rotate-credentials' && result.status === 'ok') await link.close();
  }

  /**
   * Publishes an update-status message (agent/update reports every state). Best effort: a state
   * reported while offline is lost, the final one is repeated by the updater's recovery on restart.
   */
  publishUpdateStatus(json: string): void {
    this.#link?.publishQuiet(deviceTopic(this.deviceId, 'update-status'), json);
  }

  /** Stops both loops, closes the link and leaves the queue durable on disk. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#stop();
    await this.#reporting;
    await this.#link?.close();
    await this.#loop;
    await this.#queue?.sync();
  }
}
