/**
 * Serializes work on one rollout within this process: the service (transitions, joins) and the driver
 * (status, tick) share one instance, so a phase step never interleaves with a pause.
 */
export class RolloutLocks {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(id) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => {});
    this.#tails.set(id, tail);
    void tail.then(() => {
      if (this.#tails.get(id) === tail) this.#tails.delete(id);
    });
    return run;
  }
}
