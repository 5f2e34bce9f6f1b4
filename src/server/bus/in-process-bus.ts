import type { Bus, BusEvents, BusTopic } from './bus.types.ts';

type Handler = (event: never) => void | Promise<void>;

/** The single-process bus: handlers run after the publisher's turn, their failures reported, never thrown back. */
export class InProcessBus implements Bus {
  readonly #handlers = new Map<BusTopic, Set<Handler>>();
  readonly #onError: (topic: BusTopic, err: unknown) => void;
  readonly #pending = new Set<Promise<void>>();

  constructor(onError: (topic: BusTopic, err: unknown) => void) {
    this.#onError = onError;
  }

  async publish<T extends BusTopic>(topic: T, event: BusEvents[T]): Promise<void> {
    for (const handler of this.#handlers.get(topic) ?? []) {
      const run = Promise.resolve()
        .then(() => (handler as (e: BusEvents[T]) => void | Promise<void>)(event))
        .catch((err: unknown) => this.#onError(topic, err))
        .finally(() => this.#pending.delete(run));
      this.#pending.add(run);
    }
  }

  subscribe<T extends BusTopic>(topic: T, handler: (event: BusEvents[T]) => void | Promise<void>): () => void {
    let set = this.#handlers.get(topic);
    if (!set) {
      set = new Set();
      this.#handlers.set(topic, set);
    }
    set.add(handler as Handler);
    return () => set.delete(handler as Handler);
  }

  /** Waits for handlers still running, so shutdown does not cut them off. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
  }
}
