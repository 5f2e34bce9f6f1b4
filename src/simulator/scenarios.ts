import type { ReportConnection, ReportListening, ResetReason } from '../protocol/report.ts';
import { chance, intBetween, pick, type Rng } from './random.ts';

/**
 * Labelled attacks. Each changes what the device reports while it is active, the way the real attack
 * would show in the agent's view of the system:
 * - botnet-ddos: an outbound flood to many new addresses (Mirai-style floods).
 * - port-open: a new listening port (telnet 23), and someone connecting to it.
 * - exfiltration: steady outbound traffic to one new endpoint.
 * - reset-storm: repeated unexpected resets (crash loop, watchdog).
 * - brute-force: failed logins, from a few attacker addresses.
 * - scanner: connections to many local addresses (lateral movement, worm propagation).
 */
export const SCENARIOS = ['botnet-ddos', 'port-open', 'exfiltration', 'reset-storm', 'brute-force', 'scanner'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface Effect {
  bytesOut: number;
  bytesIn: number;
  packetsOut: number;
  packetsIn: number;
  listening: ReportListening[];
  connections: ReportConnection[];
  resets: ResetReason[];
  authFailures: number;
}

/** The new endpoint exfiltration sends to (TEST-NET-2, never a profile's endpoint). */
export const EXFIL_ENDPOINT = { addr: '198.51.100.66', port: 443 } as const;

export const emptyEffect = (): Effect => ({
  bytesOut: 0,
  bytesIn: 0,
  packetsOut: 0,
  packetsIn: 0,
  listening: [],
  connections: [],
  resets: [],
  authFailures: 0,
});

/** A public-looking address outside the documentation and private ranges the profiles use. */
function randomPublic(r: Rng): string {
  const first = pick(r, [23, 31, 45, 62, 77, 89, 101, 117, 141, 176, 185, 212]);
  return `${first}.${intBetween(r, 0, 255)}.${intBetween(r, 0, 255)}.${intBetween(r, 1, 254)}`;
}

const ephemeral = (r: Rng) => intBetween(r, 32768, 60999);

/** What `name` adds to a report covering `spanMs`. */
export function scenarioEffect(name: ScenarioName, r: Rng, spanMs: number): Effect {
  const scale = spanMs / 300_000;
  const e = emptyEffect();
  switch (name) {
    case 'botnet-ddos': {
      e.bytesOut = Math.round(300_000_000 * scale);
      e.packetsOut = Math.round(e.bytesOut / 512);
      const n = intBetween(r, 150, 250);
      for (let i = 0; i < n; i++) {
        const udp = chance(r, 0.5);
        e.connections.push({
          proto: udp ? 'udp' : 'tcp',
          addr: randomPublic(r),
          port: udp ? 53 : 80,
          localPort: ephemeral(r),
        });
      }
      return e;
    }
    case 'port-open':
      e.listening.push({ proto: 'tcp', port: 23, addr: '0.0.0.0' });
      if (chance(r, 0.5))
        e.connections.push({ proto: 'tcp', addr: randomPublic(r), port: ephemeral(r), localPort: 23 });
      return e;
    case 'exfiltration':
      e.bytesOut = Math.round(25_000_000 * scale);
      e.packetsOut = Math.round(e.bytesOut / 1400);
      e.connections.push({ proto: 'tcp', ...EXFIL_ENDPOINT, localPort: ephemeral(r) });
      return e;
    case 'reset-storm': {
      const n = intBetween(r, 3, 6);
      for (let i = 0; i < n; i++) e.resets.push(pick(r, ['watchdog', 'unknown', 'kernel-panic'] as const));
      return e;
    }
    case 'brute-force': {
      e.authFailures = Math.round(intBetween(r, 100, 400) * scale);
      e.bytesIn = e.authFailures * 2_000;
      e.packetsIn = e.authFailures * 12;
      const attackers = intBetween(r, 2, 5);
      for (let i = 0; i < attackers; i++)
        e.connections.push({ proto: 'tcp', addr: randomPublic(r), port: ephemeral(r), localPort: 22 });
      return e;
    }
    case 'scanner': {
      const n = intBetween(r, 100, 250);
      for (let i = 0; i < n; i++) {
        const addr = chance(r, 0.5)
          ? `192.168.1.${intBetween(r, 1, 254)}`
          : `10.0.${intBetween(r, 0, 3)}.${intBetween(r, 1, 254)}`;
        e.connections.push({ proto: 'tcp', addr, port: pick(r, [22, 23, 80, 8080]), localPort: ephemeral(r) });
      }
      e.packetsOut = n * 3;
      e.bytesOut = n * 180;
      return e;
    }
  }
}

/** One labelled attack as given on the command line: `NAME@DEVICE-INDEX:START-END` (offsets from the simulation start). */
export interface ScenarioSpec {
  scenario: ScenarioName;
  deviceIndex: number;
  /** Offsets from the simulation start, ms of simulated time. */
  startMs: number;
  endMs: number;
}
