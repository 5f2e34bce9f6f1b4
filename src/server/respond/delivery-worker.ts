import { randomUUID } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import * as db from './delivery-store.ts';
import type { DeliveryStatus, WebhookDelivery } from './model.ts';
import { backoffDelay, classifyStatus, DEFAULT_WEBHOOK, postSigned, type WebhookOptions } from './webhook.ts';

/** Final delivery outcomes are ledgered as this actor. */
export const WEBHOOK_ACTOR: ActionContext = { actor: 'system:webhook', source: null };

export interface OutboxOptions extends WebhookOptions {
  /** How often the worker looks for due deliveries (its own unref'd timer). */
  pollMs: number;
  /** Deliveries claimed and sent concurrently per turn. */
  batch: number;
}

export const DEFAULT_OUTBOX = { ...DEFAULT_WEBHOOK, pollMs: 1000, batch: 20 };

export interface OutboxDeps {
  store: Store;
  ledger: LedgerService;
  clock: Clock;
  options: Partial<OutboxOptions> & { secret: string | null };
  random?: () => number;
}

/**
 * Durable webhook delivery (transactional outbox): `enqueueIn` writes the notification in the caller's
 * transaction; `tick` claims due ones, posts them signed, and records the outcome — 2xx delivered, a
 * 4xx rejected (no retry), anything else retried with exponential backoff and full jitter until
 * `maxAttempts`, then exhausted. At least once across restarts; receivers dedupe by delivery id.
 */
export class WebhookOutbox {
  readonly #d: OutboxDeps;
  readonly #o: OutboxOptions;
  readonly #random: () => number;
  #running: Promise<number> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;

  constructor(deps: OutboxDeps) {
    this.#d = deps;
    this.#o = { ...DEFAULT_OUTBOX, ...deps.options };
    this.#random = deps.random ?? Math.random;
  }

  get configured(): boolean {
    return this.#o.secret !== null;
  }

  /** Adds a delivery inside `tx` (the change that causes it commits with it, or neither does). Returns its id. */
  async enqueueIn(
    tx: AnyDb,
    url: string,
    event: unknown,
    about: { alarmId?: string | null; deviceId?: string | null } = {},
  ): Promise<string> {
    const id = randomUUID();
    await db.insertDelivery(tx, {
      id,
      url,
      event: JSON.stringify(event),
      alarmId: about.alarmId ?? null,
      deviceId: about.deviceId ?? null,
      now: this.#d.clock.now(),
    });
    return id;
  }

  /** Starts polling; each turn is one indexed query when nothing is due. */
  start(): void {
    if (this.#timer) return;
    this.#stopped = false;
    this.#timer = setInterval(() => this.kick(), this.#o.pollMs);
    this.#timer.unref();
    this.kick();
  }

  /** Stops polling and waits for the turn in flight (its outcomes are recorded before the store closes). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#stopped = true;
    this.#again = false;
    await this.#running?.catch(() => {});
  }

  /** Runs a turn soon, without waiting (after an enqueue commits). Errors are retried next turn. */
  kick(): void {
    if (this.#stopped) return;
    this.tick().catch(() => {});
  }

  /**
   * Sends every due delivery; resolves with how many attempts were made. A call during a turn joins it
   * and makes it run once more, so nothing enqueued meanwhile waits for the next poll.
   */
  tick(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      let sent = 0;
      try {
        do {
          this.#again = false;
          sent += await this.#turn();
        } while (this.#again);
      } finally {
        this.#running = null;
      }
      return sent;
    })();
    return this.#running;
  }

  list(filter: { status?: DeliveryStatus | undefined; limit: number }): Promise<WebhookDelivery[]> {
    return db.listDeliveries(this.#d.store.db, filter);
  }

  async #turn(): Promise<number> {
    if (this.#o.secret === null) return 0; // never sends unsigned; pending rows wait for a secret
    const now = this.#d.clock.now();
    // The lease outlasts one attempt, so a live worker's claim is never taken over mid-send.
    const lease = now + this.#o.timeoutMs * 2 + 5000;
    const claimed = await db.claimDue(this.#d.store, now, lease, this.#o.batch);
    await Promise.all(claimed.map((c) => this.#attempt(c, this.#o.secret as string)));
    return claimed.length;
  }

  async #attempt(c: db.ClaimedDelivery, secret: string): Promise<void> {
    const { clock, store, ledger } = this.#d;
    const sent = await postSigned(c.url, c.event, {
      secret,
      deliveryId: c.id,
      t: clock.now(),
      timeoutMs: this.#o.timeoutMs,
    });
    const now = clock.now();
    const kind = classifyStatus(sent.status);
    const lastError = sent.error ?? (kind === 'delivered' ? null : `http-${sent.status}`);
    let status: DeliveryStatus = 'pending';
    if (kind === 'delivered') status = 'delivered';
    else if (kind === 'rejected') status = 'rejected';
    else if (c.attempts >= this.#o.maxAttempts) status = 'exhausted';
    const nextAttemptAt = status === 'pending' ? now + backoffDelay(c.attempts, this.#o, this.#random) : now;
    await store.transaction(async (tx) => {
      const kept = await db.recordOutcome(tx, c, { status, nextAttemptAt, lastStatus: sent.status, lastError, now });
      if (!kept || status === 'pending') return;
      // Every final outcome on record; the origin only (the URL may hold a token), never the body.
      await ledger.appendIn(tx, {
        ...WEBHOOK_ACTOR,
        action: status === 'delivered' ? 'webhook.delivered' : 'webhook.failed',
        target: c.deviceId ? `device:${c.deviceId}` : `webhook:${c.id}`,
        result: status === 'delivered' ? 'ok' : status === 'rejected' ? 'rejected' : 'failed',
        details: {
          deliveryId: c.id,
          alarmId: c.alarmId,
          origin: db.originOf(c.url),
          attempts: c.attempts,
          status,
          httpStatus: sent.status,
          error: lastError,
        },
      });
    });
  }
}
