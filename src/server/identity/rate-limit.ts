import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';

export type RateLimitErrorCode = 'RATE_LIMITED';

/**
 * Counts failed attempts per source in a fixed window and refuses further attempts once `max` is reached:
 * guessing enrollment tokens costs the attacker the window, not us a database query per guess.
 * Memory is bounded: at most `maxKeys` sources are tracked, the oldest window evicted first.
 */
export class FailureLimiter {
  readonly #clock: Clock;
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(clock: Clock, opts: { max: number; windowMs: number; maxKeys?: number }) {
    this.#clock = clock;
    this.#max = opts.max;
    this.#windowMs = opts.windowMs;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

  /** Throws RATE_LIMITED (details.retryAfterSeconds) while `key` is over its budget. */
  check(key: string): void {
    const w = this.#current(key);
    if (w && w.failures >= this.#max) {
      const retryAfterSeconds = Math.ceil((w.start + this.#windowMs - this.#clock.now()) / 1000);
      throw new FleetwardError<RateLimitErrorCode>('RATE_LIMITED', 'too many failed attempts; try again later', {
        details: { retryAfterSeconds },
      });
    }
  }

  fail(key: string): void {
    const w = this.#current(key);
    if (w) {
      w.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxKeys) this.#windows.delete(this.#windows.keys().next().value!);
    this.#windows.set(key, { start: this.#clock.now(), failures: 1 });
  }

  #current(key: string): { start: number; failures: number } | undefined {
    const w = this.#windows.get(key);
    if (w && this.#clock.now() - w.start >= this.#windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return w;
  }
}
