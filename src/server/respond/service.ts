import type { Clock } from '../../protocol/clock.ts';
import type { Bus, BusEvents } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import { AlarmFeed } from './alarm-feed.ts';
import { AlarmService } from './alarm-service.ts';
import { type OutboxOptions, WebhookOutbox } from './delivery-worker.ts';
import { EmergencyService } from './emergency-service.ts';
import { MitigationService } from './mitigation-service.ts';
import type { IdentityPort, UpdatesPort } from './model.ts';

export interface RespondDeps {
  store: Store;
  ledger: LedgerService;
  bus: Bus;
  clock: Clock;
  registry: RegistryService;
  outbox?: DeviceOutbox | null;
  identity?: IdentityPort | null;
  updates?: UpdatesPort | null;
  webhook?: Partial<OutboxOptions> & { secret: string | null };
  /** Jitter source for webhook retries (tests pin it). */
  random?: () => number;
}

/** Automatic mitigations act as this actor in the ledger. */
export const DETECTION_ACTOR: ActionContext = { actor: 'system:detection', source: null };

/**
 * Response: turns `alarm.raised` / `alarm.cleared` into alarms and, for new unsuppressed alarms, the
 * profile's automatic mitigations. Events are handled one at a time in order (a raise and its clear
 * arrive in the order detection produced them).
 */
export class RespondService {
  readonly alarms: AlarmService;
  readonly mitigations: MitigationService;
  readonly emergencies: EmergencyService;
  readonly feed = new AlarmFeed();
  /** Durable webhook deliveries (the outbox and its worker). */
  readonly deliveries: WebhookOutbox;
  readonly #bus: Bus;
  #chain: Promise<void> = Promise.resolve();
  #unsubscribe: Array<() => void> = [];

  constructor(deps: RespondDeps) {
    this.#bus = deps.bus;
    const webhook = new WebhookOutbox({
      store: deps.store,
      ledger: deps.ledger,
      clock: deps.clock,
      options: deps.webhook ?? { secret: null },
      ...(deps.random ? { random: deps.random } : {}),
    });
    this.deliveries = webhook;
    this.alarms = new AlarmService(deps.store, deps.ledger, deps.bus, deps.clock, this.feed);
    this.mitigations = new MitigationService({
      store: deps.store,
      ledger: deps.ledger,
      bus: deps.bus,
      clock: deps.clock,
      registry: deps.registry,
      outbox: deps.outbox ?? null,
      identity: deps.identity ?? null,
      updates: deps.updates ?? null,
      webhook,
    });
    this.emergencies = new EmergencyService({
      store: deps.store,
      ledger: deps.ledger,
      clock: deps.clock,
      registry: deps.registry,
      mitigations: this.mitigations,
      identity: deps.identity ?? null,
    });
  }

  start(): void {
    this.#unsubscribe.push(
      this.#bus.subscribe('alarm.raised', (e) => this.#serial(() => this.onRaised(e))),
      this.#bus.subscribe('alarm.cleared', (e) =>
        this.#serial(async () => void (await this.alarms.clearByDetection(e))),
      ),
    );
    // Deliveries left pending by an earlier run (or another server) go out from here on.
    this.deliveries.start();
  }

  /**
   * Ends SSE streams, stops listening, waits for queued work and for the webhook attempts in flight to
   * be recorded. Deliveries still pending stay in the outbox for the next start.
   */
  async stop(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#unsubscribe = [];
    this.feed.close();
    await this.#chain;
    await this.deliveries.stop();
  }

  /** Resolves when every event queued so far has been handled (tests wait on this). */
  idle(): Promise<void> {
    return this.#serial(async () => {});
  }

  /** Waits for queued events, then for one worker turn over the deliveries due now (tests wait on this). */
  async settled(): Promise<void> {
    await this.idle();
    await this.deliveries.tick();
  }

  async onRaised(e: BusEvents['alarm.raised']): Promise<void> {
    const notifyUrl = e.mitigations.includes('notify') ? e.notifyUrl : null;
    const { alarm, created, suppressed } = await this.alarms.raise(e, async (tx, opened) => {
      if (notifyUrl) await this.mitigations.notifyIn(tx, opened, notifyUrl, DETECTION_ACTOR);
    });
    if (!created || suppressed) return;
    if (notifyUrl) this.deliveries.kick();
    const reason = `alarm ${alarm.id}: ${alarm.profileId}/${alarm.behaviour}`;
    for (const m of e.mitigations) {
      try {
        if (m === 'quarantine') await this.mitigations.quarantine(alarm.deviceId, reason, DETECTION_ACTOR, alarm.id);
        else if (m === 'revoke') await this.mitigations.revoke(alarm.deviceId, reason, DETECTION_ACTOR, alarm.id);
        else if (m === 'force-update')
          await this.mitigations.forceUpdate(alarm.deviceId, reason, DETECTION_ACTOR, alarm.id);
        // `notify` was queued with the alarm itself (the outbox worker sends it).
      } catch {
        // Recorded as a failed mitigation in the ledger by the mitigation itself; the next one still runs.
      }
    }
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(fn);
    this.#chain = run.catch(() => {});
    return run;
  }
}
