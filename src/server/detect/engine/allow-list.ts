import { BlockList, isIP } from 'node:net';
import type { SetMetric } from '../model.ts';

/**
 * A compiled allow-list for a set metric. Ports: `tcp/22`, `22` (any protocol), `tcp/8000-8099`.
 * Addresses: `192.0.2.7`, `10.0.0.0/8`, `2001:db8::/32`, or a host name, matched through the addresses
 * it resolved to (the device reports addresses, not names).
 */
export interface AllowList {
  allows(value: string): boolean;
  /** Host names in the list, for the resolver. */
  hostNames: string[];
}

const PORT_METRICS: ReadonlySet<SetMetric> = new Set(['listening-ports', 'destination-ports']);
const PORT_RULE = /^(?:(tcp|udp)\/)?(\d{1,5})(?:-(\d{1,5}))?$/;
const HOST_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** True when `entry` is well-formed for `metric` (profiles are validated with this before they are stored). */
export function isValidAllowEntry(metric: SetMetric, entry: string): boolean {
  if (PORT_METRICS.has(metric)) {
    const m = PORT_RULE.exec(entry);
    if (!m) return false;
    const lo = Number(m[2]);
    const hi = m[3] === undefined ? lo : Number(m[3]);
    return lo >= 1 && hi <= 65535 && lo <= hi;
  }
  const [addr, bits, extra] = entry.split('/');
  if (extra !== undefined) return false;
  if (bits === undefined) return isIP(addr!) !== 0 || HOST_RE.test(addr!);
  const family = isIP(addr!);
  const n = Number(bits);
  return family !== 0 && /^\d{1,3}$/.test(bits) && n <= (family === 4 ? 32 : 128);
}

export function compileAllowList(
  metric: SetMetric,
  entries: readonly string[],
  resolve: (host: string) => readonly string[] = () => [],
): AllowList {
  if (PORT_METRICS.has(metric)) return compilePorts(entries);
  const list = new BlockList();
  const hostNames: string[] = [];
  for (const entry of entries) {
    const [addr, bits] = entry.split('/') as [string, string | undefined];
    const family = isIP(addr);
    if (family === 0) hostNames.push(addr.toLowerCase());
    else if (bits === undefined) list.addAddress(addr, family === 4 ? 'ipv4' : 'ipv6');
    else list.addSubnet(addr, Number(bits), family === 4 ? 'ipv4' : 'ipv6');
  }
  return {
    hostNames,
    allows: (value) => {
      const family = isIP(value);
      if (family === 0) return false;
      if (list.check(value, family === 4 ? 'ipv4' : 'ipv6')) return true;
      return hostNames.some((h) => resolve(h).includes(value));
    },
  };
}

function compilePorts(entries: readonly string[]): AllowList {
  const rules = entries.flatMap((e) => {
    const m = PORT_RULE.exec(e);
    if (!m) return [];
    const lo = Number(m[2]);
    return [{ proto: m[1] ?? null, lo, hi: m[3] === undefined ? lo : Number(m[3]) }];
  });
  return {
    hostNames: [],
    allows: (value) => {
      const [proto, portText] = value.split('/');
      const port = Number(portText);
      return rules.some((r) => (r.proto === null || r.proto === proto) && port >= r.lo && port <= r.hi);
    },
  };
}
