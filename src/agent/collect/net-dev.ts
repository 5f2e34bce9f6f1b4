import { type ProcSource, readProc } from './proc-files.ts';

/** Totals over every interface but loopback (loopback traffic never leaves the device). */
export interface NetCounters {
  bytesIn: number;
  bytesOut: number;
  packetsIn: number;
  packetsOut: number;
}

/**
 * Parses /proc/net/dev: two header lines, then `iface: rx_bytes rx_packets … (8 fields) tx_bytes tx_packets …`.
 * Malformed lines are skipped, not fatal.
 */
export function parseNetDev(text: string): NetCounters {
  const total: NetCounters = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const iface = line.slice(0, colon).trim();
    if (iface === 'lo' || iface === '') continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 10 || f.some((n) => !Number.isSafeInteger(n) || n < 0)) continue;
    total.bytesIn += f[0]!;
    total.packetsIn += f[1]!;
    total.bytesOut += f[8]!;
    total.packetsOut += f[9]!;
  }
  return total;
}

export async function readNetDev(src: ProcSource): Promise<NetCounters> {
  return parseNetDev(await readProc(src, 'net/dev'));
}

/**
 * The change since `prev`. A counter that went down was reset (interface re-created, reboot, wrap):
 * its delta is its current value, never a negative number.
 */
export function deltaCounters(prev: NetCounters | null, now: NetCounters): NetCounters {
  const d = (k: keyof NetCounters) => (prev === null ? 0 : now[k] >= prev[k] ? now[k] - prev[k] : now[k]);
  return { bytesIn: d('bytesIn'), bytesOut: d('bytesOut'), packetsIn: d('packetsIn'), packetsOut: d('packetsOut') };
}
