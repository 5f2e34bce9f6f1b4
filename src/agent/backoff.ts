/**
 * Reconnect delays: exponential with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter", 2015). delay = random × min(cap, base × 2^attempt). Full jitter spreads the devices that lost
 * a server at the same instant over the whole window, so a server restart does not become a
 * synchronized reconnect storm — with 1,000 devices and TLS handshakes at ~300/s (FINDINGS.md) that matters.
 */
export interface BackoffPolicy {
  /** First window, ms. */
  baseMs: number;
  /** Largest window, ms. */
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

/** The window for `attempt` (0-based): the delay is uniform in [0, window). */
export function backoffWindow(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  // 2^attempt overflows to Infinity past ~1023; min() keeps it at the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
}

/** A delay for `attempt`, using `random` (uniform in [0, 1)), injected so tests are deterministic. */
export function backoffDelay(attempt: number, random: () => number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  return Math.floor(random() * backoffWindow(attempt, policy));
}
