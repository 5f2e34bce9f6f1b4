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
}

export const SIM_LIMITS = {
  devices: 10_000,
  speed: 100_000,
  durationMs: 365 * 86_400_000,
  minIntervalMs: 5_000,
  concurrency: 256,
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
  return o;
}
