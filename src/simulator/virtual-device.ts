import {
  REPORT_LIMITS,
  REPORT_VERSION,
  type Report,
  type ReportConnection,
  type ResetReason,
} from '../protocol/report.ts';
import type { Profile } from './profiles.ts';
import { between, chance, intBetween, noise, pick, poisson, type Rng, uuidFrom } from './random.ts';
import { type Effect, emptyEffect, type ScenarioName, scenarioEffect } from './scenarios.ts';

export const SIM_AGENT_VERSION = 'sim-1';

/**
 * One simulated device's behaviour: a profile's benign background plus whatever attacks are active,
 * as the reports its agent would send. Deterministic: the same seed and the same report times give the
 * same reports.
 */
export class VirtualDevice {
  readonly id: string;
  readonly profile: Profile;
  readonly #rng: Rng;
  /** Hours from UTC of the device's site, so a fleet does not peak in lockstep. */
  readonly #tzHours: number;
  #bootId: string;
  #bootAt: number;
  #seq = 0;
  #lastAt: number | null = null;
  #ports: Map<string, number>;
  /** The firmware it reports: the profile's, until an update installs another. */
  firmware: string;
  /** Restarts that happened since the last report (an update switching slots). */
  #pendingResets: ResetReason[] = [];

  constructor(id: string, profile: Profile, rng: Rng, startAt: number) {
    this.id = id;
    this.profile = profile;
    this.#rng = rng;
    this.#tzHours = intBetween(rng, -2, 2);
    this.#bootId = uuidFrom(rng);
    this.#bootAt = startAt - Math.floor(between(rng, 1, 30) * 86_400_000);
    this.#ports = new Map(profile.endpoints.map((e) => [`${e.addr}:${e.port}`, intBetween(rng, 32768, 60999)]));
    this.firmware = profile.firmware;
  }

  /** A restart the device went through (e.g. into a new slot); the next report shows it and a new boot. */
  noteReboot(reason: ResetReason): void {
    this.#pendingResets.push(reason);
  }

  /** The report made at simulated time `at` with `active` attacks. */
  reportAt(at: number, active: ScenarioName[]): Report {
    const r = this.#rng;
    const span = this.#lastAt === null ? 300_000 : Math.max(1, at - this.#lastAt);
    this.#lastAt = at;
    const effects = active.map((name) => scenarioEffect(name, r, span));
    const effect = effects.reduce(mergeEffects, emptyEffect());
    const resets = this.#resets(span, [...effect.resets, ...this.#pendingResets.splice(0)], at);
    const hour = (((new Date(at).getUTCHours() + this.#tzHours) % 24) + 24) % 24;
    const activity = this.profile.diurnal[hour]! * (span / 3_600_000);
    const bytesOut = Math.round(this.profile.peakBytesOutPerHour * activity * noise(r, 0.25)) + effect.bytesOut;
    const bytesIn = Math.round(this.profile.peakBytesInPerHour * activity * noise(r, 0.25)) + effect.bytesIn;
    const connections = this.#connections(effect.connections);
    const remotes = new Set(connections.map((c) => c.addr));
    const uptime = Math.max(0, Math.floor((at - this.#bootAt) / 1000));
    return {
      v: REPORT_VERSION,
      boot: this.#bootId,
      seq: ++this.#seq,
      at,
      span,
      uptime,
      firmware: this.firmware,
      agent: SIM_AGENT_VERSION,
      traffic: {
        bytesOut,
        bytesIn,
        packetsOut: Math.round(bytesOut / 600) + effect.packetsOut,
        packetsIn: Math.round(bytesIn / 600) + effect.packetsIn,
      },
      listening: dedupeListening([...this.profile.listening, ...effect.listening]).slice(0, REPORT_LIMITS.listening),
      connections: connections.slice(0, REPORT_LIMITS.connections),
      totals: { connections: connections.length, remotes: remotes.size },
      resets: groupResets(resets),
      authFailures: poisson(r, (this.profile.authFailuresPerDay * span) / 86_400_000) + effect.authFailures,
      custom: this.profile.custom(hour, uptime),
    };
  }

  /** Rare expected reboots, plus those an attack forces; each starts a new boot. */
  #resets(span: number, forced: ResetReason[], at: number): ResetReason[] {
    const out = [...forced];
    if (chance(this.#rng, (this.profile.rebootsPerDay * span) / 86_400_000)) {
      out.push(pick(this.#rng, ['firmware-update', 'user-request', 'scheduled'] as const));
    }
    if (out.length > 0) {
      this.#bootId = uuidFrom(this.#rng);
      this.#bootAt = at - intBetween(this.#rng, 5, Math.max(5, Math.floor(span / 1000 / (out.length + 1)))) * 1000;
    }
    return out;
  }

  #connections(extra: ReportConnection[]): ReportConnection[] {
    const own = this.profile.endpoints.map((e) => ({
      proto: e.proto,
      addr: e.addr,
      port: e.port,
      localPort: this.#ports.get(`${e.addr}:${e.port}`)!,
    }));
    // Attack connections first: a capped list still shows them (as the real agent orders new remotes first).
    return [...extra, ...own];
  }
}

function mergeEffects(a: Effect, b: Effect): Effect {
  return {
    bytesOut: a.bytesOut + b.bytesOut,
    bytesIn: a.bytesIn + b.bytesIn,
    packetsOut: a.packetsOut + b.packetsOut,
    packetsIn: a.packetsIn + b.packetsIn,
    listening: [...a.listening, ...b.listening],
    connections: [...a.connections, ...b.connections],
    resets: [...a.resets, ...b.resets],
    authFailures: a.authFailures + b.authFailures,
  };
}

function dedupeListening(ls: Report['listening']): Report['listening'] {
  return [...new Map(ls.map((l) => [`${l.proto}/${l.addr}/${l.port}`, l])).values()];
}

function groupResets(resets: ResetReason[]): Report['resets'] {
  const counts = new Map<ResetReason, number>();
  for (const r of resets) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([reason, count]) => ({ reason, count }));
}
