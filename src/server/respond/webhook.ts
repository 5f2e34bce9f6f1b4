import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';

/**
 * Webhook notifications, signed so a receiver can tell them from forgeries and replays: the header
 * `fleetward-signature: t=<ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the scheme Stripe and GitHub
 * use). Transient failures (network, timeout, 408, 429, 5xx) are retried with exponential backoff and
 * full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), so a fleet-wide incident does
 * not make every retry land on the receiver at the same instant.
 */
export const SIGNATURE_HEADER = 'fleetward-signature';
/** The delivery id: the same on every retry of one notification, so receivers can drop duplicates. */
export const DELIVERY_HEADER = 'fleetward-delivery';

export interface WebhookOptions {
  /** HMAC key; null disables delivery (every attempt fails as not configured). */
  secret: string | null;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Per attempt. */
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK: Omit<WebhookOptions, 'secret'> = {
  maxAttempts: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  timeoutMs: 5000,
};

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  /** Last HTTP status, or null when no answer came. */
  status: number | null;
  /** Why it failed: `not-configured`, `rejected` (a 4xx: retrying will not help), `exhausted`. */
  failure: 'not-configured' | 'rejected' | 'exhausted' | null;
  deliveryId: string;
}

/** `t=…,v1=…` for `body` at time `t`. */
export function signPayload(secret: string, t: number, body: string): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * For receivers (and our tests): true when `header` is a valid signature of `body` made within
 * `toleranceMs` of `now`. Compared in constant time.
 */
export function verifySignature(
  secret: string,
  header: string,
  body: string,
  now: number,
  toleranceMs = 300_000,
): boolean {
  const m = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(now - t) > toleranceMs) return false;
  const expected = Buffer.from(signPayload(secret, t, body).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

/**
 * In-memory delivery with retries in this call: for one-off sends and receivers testing their side. The
 * server delivers alarms through the durable outbox (delivery-worker.ts) instead.
 */
export class WebhookNotifier {
  readonly #options: WebhookOptions;
  readonly #clock: Clock;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;

  constructor(
    options: Partial<WebhookOptions> & { secret: string | null },
    clock: Clock,
    // Backoff waits are the product's behaviour, injected so tests observe them instead of waiting.
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms).unref()),
    random: () => number = Math.random,
  ) {
    this.#options = { ...DEFAULT_WEBHOOK, ...options };
    this.#clock = clock;
    this.#sleep = sleep;
    this.#random = random;
  }

  /** Delay before retry number `attempt` (1-based): uniform in [0, min(max, base × 2^(attempt-1))]. */
  backoff(attempt: number): number {
    return backoffDelay(attempt, this.#options, this.#random);
  }

  /** Posts `event` as JSON, retrying transient failures. Never throws. */
  async deliver(url: string, event: unknown): Promise<DeliveryResult> {
    const deliveryId = randomUUID();
    const { secret, maxAttempts } = this.#options;
    if (secret === null) return { ok: false, attempts: 0, status: null, failure: 'not-configured', deliveryId };
    const body = JSON.stringify(event);
    let status: number | null = null;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      status = await this.#attempt(url, body, secret, deliveryId);
      const kind = classifyStatus(status);
      if (kind === 'delivered') return { ok: true, attempts: attempt, status, failure: null, deliveryId };
      if (kind === 'rejected') return { ok: false, attempts: attempt, status, failure: 'rejected', deliveryId };
      if (attempt < maxAttempts) await this.#sleep(this.backoff(attempt));
    }
    return { ok: false, attempts: maxAttempts, status, failure: 'exhausted', deliveryId };
  }

  async #attempt(url: string, body: string, secret: string, deliveryId: string): Promise<number | null> {
    const sent = await postSigned(url, body, {
      secret,
      deliveryId,
      t: this.#clock.now(),
      timeoutMs: this.#options.timeoutMs,
    });
    return sent.status;
  }
}

/** How one attempt ended: an HTTP status, or why none came. */
export interface AttemptOutcome {
  status: number | null;
  error: 'timeout' | 'network' | null;
}

/**
 * One signed POST: `fleetward-signature` over the body at time `t`, and the delivery id receivers
 * dedupe on (delivery is at least once). Redirects are not followed (a receiver cannot bounce the
 * signed body elsewhere). Never throws.
 */
export async function postSigned(
  url: string,
  body: string,
  o: { secret: string; deliveryId: string; t: number; timeoutMs: number },
): Promise<AttemptOutcome> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [SIGNATURE_HEADER]: signPayload(o.secret, o.t, body),
        [DELIVERY_HEADER]: o.deliveryId,
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(o.timeoutMs),
    });
    await res.body?.cancel();
    return { status: res.status, error: null };
  } catch (err) {
    const timeout = err instanceof DOMException && err.name === 'TimeoutError';
    return { status: null, error: timeout ? 'timeout' : 'network' };
  }
}

/** 2xx delivered; a 4xx other than 408/429 will not get better by retrying; anything else is transient. */
export function classifyStatus(status: number | null): 'delivered' | 'rejected' | 'transient' {
  if (status !== null && status >= 200 && status < 300) return 'delivered';
  if (status !== null && status >= 400 && status < 500 && status !== 408 && status !== 429) return 'rejected';
  return 'transient';
}

/** Full jitter: uniform in [0, min(max, base × 2^(attempt-1))] for retry number `attempt` (1-based). */
export function backoffDelay(
  attempt: number,
  o: { baseDelayMs: number; maxDelayMs: number },
  random: () => number,
): number {
  const cap = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * cap);
}
