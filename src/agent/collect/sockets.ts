import { endianness } from 'node:os';
import type { ReportConnection, ReportListening } from '../../protocol/report.ts';
import { type ProcSource, readProcOptional } from './proc-files.ts';

/** TCP states from include/net/tcp_states.h. UDP reuses them: 01 connected, 07 unconnected (bound). */
const TCP_ESTABLISHED = '01';
const TCP_LISTEN = '0A';
const UDP_UNCONNECTED = '07';

export interface SocketEntry {
  proto: 'tcp' | 'udp';
  state: string;
  localAddr: string;
  localPort: number;
  remoteAddr: string;
  remotePort: number;
}

export interface SocketView {
  listening: ReportListening[];
  connections: ReportConnection[];
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Parses one line-oriented table of /proc/net/{tcp,tcp6,udp,udp6}. Addresses are hex of the kernel's
 * 32-bit words in host byte order (so byte-reversed per word on little-endian machines); ports are
 * big-endian hex. Malformed lines are skipped.
 */
export function parseSocketTable(text: string, proto: 'tcp' | 'udp', littleEndian = LITTLE_ENDIAN): SocketEntry[] {
  const out: SocketEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4) continue;
    const local = parseEndpoint(f[1]!, littleEndian);
    const remote = parseEndpoint(f[2]!, littleEndian);
    const state = f[3]!.toUpperCase();
    if (!local || !remote || !/^[0-9A-F]{2}$/.test(state)) continue;
    out.push({
      proto,
      state,
      localAddr: local.addr,
      localPort: local.port,
      remoteAddr: remote.addr,
      remotePort: remote.port,
    });
  }
  return out;
}

function parseEndpoint(text: string, littleEndian: boolean): { addr: string; port: number } | null {
  const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(text);
  if (!m) return null;
  const bytes: number[] = [];
  const hex = m[1]!;
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  return { addr: formatAddress(bytes), port: Number.parseInt(m[2]!, 16) };
}

/** Dotted quad for 4 bytes; RFC 5952 text for 16, with IPv4-mapped addresses shown as IPv4. */
export function formatAddress(bytes: number[]): string {
  if (bytes.length === 4) return bytes.join('.');
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  if (mapped) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // RFC 5952 4.2: compress the longest run (≥ 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const isUnspecified = (addr: string) => addr === '0.0.0.0' || addr === '::';

/**
 * Listening sockets (TCP LISTEN, UDP bound and unconnected) and established connections (TCP
 * ESTABLISHED, connected UDP), deduplicated: a v4 and a v6 socket on one port are one entry each.
 * Loopback-only peers are kept: a backdoor bound to 127.0.0.1 is still a change worth seeing.
 */
export function toSocketView(entries: SocketEntry[]): SocketView {
  const listening = new Map<string, ReportListening>();
  const connections = new Map<string, ReportConnection>();
  for (const e of entries) {
    if (e.localPort === 0) continue;
    const isListen =
      (e.proto === 'tcp' && e.state === TCP_LISTEN) ||
      (e.proto === 'udp' && e.state === UDP_UNCONNECTED && isUnspecified(e.remoteAddr));
    if (isListen) {
      listening.set(`${e.proto}/${e.localAddr}/${e.localPort}`, {
        proto: e.proto,
        port: e.localPort,
        addr: e.localAddr,
      });
    } else if (e.state === TCP_ESTABLISHED && e.remotePort !== 0) {
      const c: ReportConnection = { proto: e.proto, addr: e.remoteAddr, port: e.remotePort, localPort: e.localPort };
      connections.set(`${c.proto}/${c.addr}/${c.port}/${c.localPort}`, c);
    }
  }
  return { listening: [...listening.values()], connections: [...connections.values()] };
}

/** Reads the four tables (a kernel without IPv6 lacks the *6 files: that is no error). */
export async function readSockets(src: ProcSource): Promise<SocketView> {
  const tables = await Promise.all([
    readProcOptional(src, 'net/tcp').then((t) => parseSocketTable(t, 'tcp')),
    readProcOptional(src, 'net/tcp6').then((t) => parseSocketTable(t, 'tcp')),
    readProcOptional(src, 'net/udp').then((t) => parseSocketTable(t, 'udp')),
    readProcOptional(src, 'net/udp6').then((t) => parseSocketTable(t, 'udp')),
  ]);
  return toSocketView(tables.flat());
}
