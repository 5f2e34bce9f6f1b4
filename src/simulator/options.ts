import { FleetwardError } from '../protocol/errors.ts';
import { DEVICE_ID_RE } from '../protocol/topics.ts';
import { parseDuration } from './durations.ts';
import { PROFILE_NAMES } from './profiles.ts';
import { SCENARIOS, type ScenarioName, type ScenarioSpec } from './scenarios.ts';

export type SimulatorErrorCode = 'SIM_INVALID' | 'SIM_SETUP_FAILED';

export interface SimulateOptions {
  /** API base URL (enrollment, tokens). */
  server: string;
  /** Operator API token: creates the product if needed and the enrollment tokens. */
  token: string;
  product: string;
  /** A profile name, or `mixed`. */
  profile: string;
  devices: number;
  /** Simulated seconds per real second. */
  speed: number;
  /** Simulated duration, ms. */
  durationMs: number;
  /** Simulated report interval, ms. */
  intervalMs: number;
  scenarios: ScenarioSpec[];
  /** JSON-lines ground truth file, or null. */
  labels: string | null;
  seed: number;
  /** Device ids are `${idPrefix}-${index}`. */
  idPrefix: string;
  /** TLS handshakes and enrollments in flight (FINDINGS.md: ~300 handshakes/s on this machine). */
  concurrency: number;
  /** Simulated start, epoch ms. */
  startAt: number;
  /** Update failure injection; none when absent. */
  updateFaults?: UpdateFaultOptions | undefined;
}

/**
 * What goes wrong when chosen devices update, so a rollout's abort criteria and the agent's refusals
 * can be shown on a simulated fleet. The devices still run the agent's real updater: only their
 * health check's answer, or where they fetch from, is injected.
 */
export interface UpdateFaultOptions {
  /** Device indexes whose new slot fails its post-install health check (they report rolled-back). */
  failUpdate: number[];
  /** Share of the fleet, 0–1, drawn from --seed, whose new slot fails its health check too. */
  failureRate: number;
  /** Devices that fetch metadata and artifacts through `url` instead of the server (an attacker's mirror). */
  mirrors: Array<{ url: string; deviceIndexes: number[] }>;
  /** Faults apply only to updates to this version (a bad release); null: to every update. */
  onlyVersion: string | null;
}

export const NO_UPDATE_FAULTS: UpdateFaultOptions = { failUpdate: [], failureRate: 0, mirrors: [], onlyVersion: null };

export const SIM_LIMITS = {
  devices: 10_000,
  speed: 100_000,
  durationMs: 365 * 86_400_000,
  minIntervalMs: 5_000,
  concurrency: 256,
  /** Mirror URLs, characters (the command schema's URL limit). */
  urlChars: 2048,
  /** Release versions, characters (the command schema's limit). */
  versionChars: 64,
} as const;

const invalid = (message: string) => new FleetwardError<SimulatorErrorCode>('SIM_INVALID', message);

/** `NAME@DEVICE-INDEX:START-END`, e.g. `botnet-ddos@3:2h-3h`. Throws SIM_INVALID. */
export function parseScenarioSpec(text: string): ScenarioSpec {
  const m = /^([a-z-]+)@(\d+):([0-9smhd]+)-([0-9smhd]+)$/.exec(text);
  if (!m) throw invalid(`--scenario ${text}: expected NAME@DEVICE-INDEX:START-END, e.g. port-open@3:2h-3h`);
  if (!(SCENARIOS as readonly string[]).includes(m[1]!)) {
    throw invalid(`--scenario ${text}: unknown scenario ${m[1]}; one of ${SCENARIOS.join(', ')}`);
  }
  const startMs = parseDuration(m[3]!);
  const endMs = parseDuration(m[4]!);
  if (startMs === null || endMs === null)
    throw invalid(`--scenario ${text}: START and END are durations like 90m, 2h, 1d`);
  if (startMs >= endMs) throw invalid(`--scenario ${text}: START must be before END`);
  return { scenario: m[1] as ScenarioName, deviceIndex: Number(m[2]), startMs, endMs };
}

/** `INDEX[,INDEX…]`, e.g. `2,5,9` (for `flag`'s error message). Throws SIM_INVALID. */
export function parseIndexList(flag: string, text: string): number[] {
  if (!/^\d{1,5}(,\d{1,5})*$/.test(text)) throw invalid(`${flag} ${text}: expected INDEX[,INDEX…], e.g. 2,5,9`);
  return text.split(',').map(Number);
}

/** `URL@INDEX[,INDEX…]`: those devices fetch updates through the mirror at URL. Throws SIM_INVALID. */
export function parseMirrorSpec(text: string): { url: string; deviceIndexes: number[] } {
  const at = text.lastIndexOf('@');
  if (at < 1) throw invalid(`--update-mirror ${text}: expected URL@INDEX[,INDEX…]`);
  const url = text.slice(0, at);
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {}
  if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || url.length > SIM_LIMITS.urlChars)
    throw invalid(`--update-mirror: ${url.slice(0, 80)} is not an http(s) URL`);
  return {
    url: url.endsWith('/') ? url : `${url}/`,
    deviceIndexes: parseIndexList('--update-mirror', text.slice(at + 1)),
  };
}

/** The checks across flags: one clear line for the first impossible combination. Throws SIM_INVALID. */
export function validateOptions(o: SimulateOptions): SimulateOptions {
  const whole = (n: number) => Number.isSafeInteger(n);
  if (!whole(o.devices) || o.devices < 1 || o.devices > SIM_LIMITS.devices)
    throw invalid(`--devices must be a whole number from 1 to ${SIM_LIMITS.devices}`);
  if (!Number.isFinite(o.speed) || o.speed <= 0 || o.speed > SIM_LIMITS.speed)
    throw invalid(`--speed must be a number above 0 and at most ${SIM_LIMITS.speed}`);
  if (!(o.durationMs > 0) || o.durationMs > SIM_LIMITS.durationMs)
    throw invalid('--duration must be above 0 and at most 365d');
  if (!(o.intervalMs >= SIM_LIMITS.minIntervalMs)) throw invalid('--interval must be at least 5s (simulated)');
  if (o.intervalMs > o.durationMs) throw invalid('--interval is longer than --duration: no device would report');
  if (!PROFILE_NAMES.includes(o.profile) && o.profile !== 'mixed')
    throw invalid(`--profile must be one of ${[...PROFILE_NAMES, 'mixed'].join(', ')}`);
  if (!whole(o.concurrency) || o.concurrency < 1 || o.concurrency > SIM_LIMITS.concurrency)
    throw invalid(`--concurrency must be from 1 to ${SIM_LIMITS.concurrency}`);
  if (!whole(o.seed) || o.seed < 0 || o.seed > 0xffffffff)
    throw invalid('--seed must be a whole number from 0 to 4294967295');
  if (!DEVICE_ID_RE.test(`${o.idPrefix}-${o.devices - 1}`)) throw invalid('--id-prefix: letters, digits, . _ - only');
  for (const s of o.scenarios) {
    const label = `${s.scenario}@${s.deviceIndex}`;
    if (s.deviceIndex >= o.devices)
      throw invalid(`--scenario ${label}: device index must be below --devices ${o.devices}`);
    if (s.endMs > o.durationMs) throw invalid(`--scenario ${label}: ends after the simulation (--duration)`);
    if (s.endMs - s.startMs < o.intervalMs)
      throw invalid(`--scenario ${label}: shorter than one report interval, it would leave no trace`);
  }
  if (o.updateFaults) validateUpdateFaults(o.updateFaults, o.devices);
  return o;
}

function validateUpdateFaults(f: UpdateFaultOptions, devices: number): void {
  const beyond = (xs: number[]) => xs.find((i) => !Number.isSafeInteger(i) || i < 0 || i >= devices);
  const bad = beyond(f.failUpdate);
  if (bad !== undefined) throw invalid(`--fail-update ${bad}: device index must be below --devices ${devices}`);
  if (!Number.isFinite(f.failureRate) || f.failureRate < 0 || f.failureRate > 1)
    throw invalid('--update-failure-rate must be a number from 0 to 1');
  for (const m of f.mirrors) {
    const i = beyond(m.deviceIndexes);
    if (i !== undefined) throw invalid(`--update-mirror ${i}: device index must be below --devices ${devices}`);
  }
  const v = f.onlyVersion;
  if (v !== null && f.failUpdate.length === 0 && f.failureRate === 0 && f.mirrors.length === 0)
    throw invalid('--fault-version needs a fault: --fail-update, --update-failure-rate or --update-mirror');
  if (v !== null && (!/^[\x21-\x7e]+$/.test(v) || v.length > SIM_LIMITS.versionChars))
    throw invalid(`--fault-version: 1 to ${SIM_LIMITS.versionChars} printable characters, no spaces`);
}
