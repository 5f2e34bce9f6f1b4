import { countResets, type Report } from '../../protocol/report.ts';
import type { Datapoint } from './model.ts';

const MINUTE = 60_000;

/**
 * A report as detection sees it. Deltas become per-minute rates using the report's own span (a device
 * reporting every 10 s and one reporting every 5 min are judged on the same scale). A connection whose
 * local port is one the device listens on is inbound; every other one is outbound, and its remote
 * address and port are the device's destinations — what a botnet's C2, an exfiltration or a scan adds.
 */
export function reportToDatapoint(deviceId: string, at: number, r: Report): Datapoint {
  const perMinute = r.span > 0 ? MINUTE / r.span : 1;
  const rate = (n: number) => n * perMinute;
  const listening = new Set(r.listening.map((l) => `${l.proto}/${l.port}`));
  const outbound = r.connections.filter((c) => !listening.has(`${c.proto}/${c.localPort}`));
  const resets = countResets(r);
  const numbers: Datapoint['numbers'] = {
    'bytes-in': rate(r.traffic.bytesIn),
    'bytes-out': rate(r.traffic.bytesOut),
    'packets-in': rate(r.traffic.packetsIn),
    'packets-out': rate(r.traffic.packetsOut),
    connections: r.totals.connections,
    'remote-addresses': r.totals.remotes,
    'listening-port-count': listening.size,
    resets: rate(resets.expected + resets.unexpected),
    'unexpected-resets': rate(resets.unexpected),
    'auth-failures': rate(r.authFailures),
  };
  for (const [name, value] of Object.entries(r.custom)) numbers[`custom:${name}`] = value;
  return {
    deviceId,
    at,
    numbers,
    sets: {
      'listening-ports': [...listening],
      destinations: [...new Set(outbound.map((c) => c.addr))],
      'destination-ports': [...new Set(outbound.map((c) => `${c.proto}/${c.port}`))],
    },
  };
}
