/**
 * Group commit: callers add items and get a promise; items arriving within `maxDelayMs` (or until
 * `maxBatch` have gathered) are handed to `commit` together, one transaction for all, and every
 * promise settles after it. Commits run one at a time: while one runs the next batch gathers, so under
 * load batches grow by themselves and the database sees few large transactions instead of many small.
 */
export interface BatcherOptions {
  maxBatch: number;
  maxDelayMs: number;
}

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Batcher<I, O> {
  readonly #commit: (items: I[]) => Promise<O[]>;
  readonly #opts: BatcherOptions;
  #waiting: Array<Pending<I, O>> = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | undefined;

  /** `commit` returns one outcome per item, in order (an Error outcome rejects that item's promise). */
  constructor(commit: (items: I[]) => Promise<O[]>, opts: BatcherOptions) {
    this.#commit = commit;
    this.#opts = opts;
  }

  /** Items accepted and not yet settled. */
  get pending(): number {
    return this.#waiting.length;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (this.#running) return; // the running commit picks the batch up when it ends
      if (this.#waiting.length >= this.#opts.maxBatch) this.#start();
      else this.#timer ??= setTimeout(() => this.#start(), this.#opts.maxDelayMs);
    });
  }

  #start(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#running || this.#waiting.length === 0) return;
    const batch = this.#waiting.splice(0, this.#opts.maxBatch);
    this.#running = this.#run(batch).finally(() => {
      this.#running = undefined;
      // What gathered during the commit has waited long enough: commit it now.
      if (this.#waiting.length > 0) this.#start();
    });
  }

  async #run(batch: Array<Pending<I, O>>): Promise<void> {
    let outcomes: O[];
    try {
      outcomes = await this.#commit(batch.map((p) => p.item));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => {
      const o = outcomes[i] as O;
      if (o instanceof Error) p.reject(o);
      else p.resolve(o);
    });
  }

  /** Commits everything still waiting (shutdown). */
  async flush(): Promise<void> {
    while (this.#running || this.#waiting.length > 0) {
      if (!this.#running) this.#start();
      await this.#running;
    }
  }
}
