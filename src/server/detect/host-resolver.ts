import { lookup } from 'node:dns/promises';

/** Limits on resolving allow-list host names (DESIGN.md §6): a profile cannot make us resolve forever. */
export const RESOLVER_LIMITS = {
  hosts: 512,
  addressesPerHost: 64,
  timeoutMs: 5000,
} as const;

/**
 * Host names in allow-lists, resolved ahead of time: devices report addresses, so `api.vendor.example`
 * matches the addresses it resolved to at the last refresh. Evaluation never waits on DNS; a name that
 * fails to resolve keeps its previous addresses (a DNS outage must not turn into a flood of alarms).
 */
export class HostResolver {
  readonly #addresses = new Map<string, string[]>();
  readonly #lookup: (host: string) => Promise<string[]>;

  constructor(resolve?: (host: string) => Promise<string[]>) {
    this.#lookup =
      resolve ?? (async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address));
  }

  /** Resolves every name in `hosts` (bounded), keeping old answers on failure. */
  async refresh(hosts: Iterable<string>): Promise<void> {
    const wanted = [...new Set(hosts)].slice(0, RESOLVER_LIMITS.hosts);
    for (const h of this.#addresses.keys()) if (!wanted.includes(h)) this.#addresses.delete(h);
    await Promise.all(
      wanted.map(async (host) => {
        try {
          const timeout = new Promise<never>((_, reject) => {
            setTimeout(() => reject(new Error('timeout')), RESOLVER_LIMITS.timeoutMs).unref();
          });
          const addrs = await Promise.race([this.#lookup(host), timeout]);
          this.#addresses.set(host, addrs.slice(0, RESOLVER_LIMITS.addressesPerHost));
        } catch {
          if (!this.#addresses.has(host)) this.#addresses.set(host, []);
        }
      }),
    );
  }

  addressesOf = (host: string): readonly string[] => this.#addresses.get(host) ?? [];
}
