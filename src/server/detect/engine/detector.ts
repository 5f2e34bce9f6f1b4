import type {
  Behaviour,
  Datapoint,
  DetectionSignal,
  Evidence,
  NumericMetric,
  SecurityProfile,
  SetMembershipBehaviour,
  SetMetric,
} from '../model.ts';
import { type AllowList, compileAllowList } from './allow-list.ts';
import { addSample, COHORT_SAMPLES, DEVICE_SAMPLES, estimate, type MetricBaseline, newBaseline } from './baseline.ts';
import { CohortWindow } from './cohort-window.ts';
import { newRuleState, type RuleState, step } from './consecutive.ts';
import { type EvalContext, evaluate, type Verdict } from './evaluate.ts';

/** What the detector remembers of one device; persisted as JSON so learning survives restarts. */
export interface DeviceState {
  firstAt: number;
  lastAt: number;
  baselines: Record<string, MetricBaseline>;
  /** New-value learning per set metric: when it began and each value's first sighting. */
  learned: Record<string, { since: number; values: Record<string, number> }>;
  /** Per `profileId/behaviour`. */
  rules: Record<string, RuleState>;
}

/** Limits on what one device can make the detector remember (a scanner must not exhaust memory). */
export const DETECTOR_LIMITS = {
  /** Values learned per set metric per device. */
  learnedValues: 256,
} as const;

/** Smallest robust scale per metric: below it a deviation is noise, not an anomaly (units per minute). */
function minScale(metric: NumericMetric): number {
  if (metric.startsWith('bytes-') || metric === 'mqtt-bytes') return 1024;
  if (metric.startsWith('packets-')) return 16;
  return 1;
}

function entry<T>(record: Record<string, T>, key: string, make: () => T): T {
  if (!Object.hasOwn(record, key)) record[key] = make();
  return record[key]!;
}

function cached<T>(map: Map<string, T>, key: string, make: () => T): T {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}

const ruleKey = (profileId: string, behaviour: string) => `${profileId}/${behaviour}`;

/**
 * The evaluation engine: pure in-memory state, no I/O and no clock of its own (datapoints and ticks
 * carry the time), so every behaviour is tested with a ManualClock and the bench replays a simulated
 * day in seconds.
 */
export class Detector {
  readonly #devices = new Map<string, DeviceState>();
  readonly #dirty = new Set<string>();
  readonly #windows = new Map<string, CohortWindow>();
  readonly #cohortBaselines = new Map<string, MetricBaseline>();
  readonly #allowLists = new WeakMap<SetMembershipBehaviour, AllowList>();
  readonly #resolve: (host: string) => readonly string[];

  constructor(options: { resolve?: (host: string) => readonly string[] } = {}) {
    this.#resolve = options.resolve ?? (() => []);
  }

  /** Judges one datapoint against every behaviour of the device's profiles; returns raised/cleared alarms. */
  observe(profiles: readonly SecurityProfile[], dp: Datapoint): DetectionSignal[] {
    const state = this.#stateOf(dp.deviceId, dp.at);
    this.#learnValues(state, profiles, dp);
    const signals: DetectionSignal[] = [];
    const anomalousMetrics = new Set<string>();
    for (const profile of profiles) {
      if (!profile.enabled) continue;
      for (const b of profile.behaviours) {
        const verdict = evaluate(b, dp, this.#context(profile, state, dp));
        if (verdict?.violated && b.kind === 'baseline') anomalousMetrics.add(b.metric);
        const signal = this.#advance(dp.deviceId, state, profile, b, verdict, dp.at);
        if (signal) signals.push(signal);
        if (b.kind === 'percentile' && dp.numbers[b.metric] !== undefined) {
          this.#window(profile.id, b.name).update(dp.deviceId, dp.numbers[b.metric]!, dp.at);
        }
      }
    }
    this.#learnBaselines(state, profiles, dp, anomalousMetrics);
    state.lastAt = Math.max(state.lastAt, dp.at);
    this.#dirty.add(dp.deviceId);
    return signals;
  }

  /** Silent-device check at `now` for every known device; `profilesOf` gives its current profiles. */
  tick(now: number, profilesOf: (deviceId: string) => readonly SecurityProfile[] | undefined): DetectionSignal[] {
    const signals: DetectionSignal[] = [];
    for (const [deviceId, state] of this.#devices) {
      const profiles = profilesOf(deviceId);
      if (!profiles) continue;
      for (const profile of profiles) {
        if (!profile.enabled) continue;
        for (const b of profile.behaviours) {
          if (b.kind !== 'silent' || now - state.lastAt <= b.missed * b.intervalMs) continue;
          const rule = entry(state.rules, ruleKey(profile.id, b.name), newRuleState);
          if (rule.alarmed) continue;
          const silentFor = now - state.lastAt;
          const verdict: Verdict = {
            violated: true,
            value: silentFor,
            evidence: {
              metric: 'silence-ms',
              value: silentFor,
              threshold: `> ${b.missed} × ${b.intervalMs} ms`,
              lastSeenAt: state.lastAt,
            },
          };
          // Missing N intervals is itself the "consecutive" condition: one tick past it raises.
          const signal = this.#advance(deviceId, state, profile, { ...b, toAlarm: 1 }, verdict, now);
          if (signal) signals.push(signal);
          this.#dirty.add(deviceId);
        }
      }
    }
    return signals;
  }

  #advance(
    deviceId: string,
    state: DeviceState,
    profile: SecurityProfile,
    b: Behaviour,
    verdict: Verdict | null,
    at: number,
  ): DetectionSignal | null {
    const rule = entry(state.rules, ruleKey(profile.id, b.name), newRuleState);
    const transition = step(rule, verdict, b.toAlarm, b.toClear);
    const base = { deviceId, profileId: profile.id, behaviour: b.name, at };
    if (transition === 'clear') return { type: 'clear', ...base };
    if (transition !== 'raise' || !verdict) return null;
    const evidence: Evidence = { ...verdict.evidence, recent: [...rule.recent] };
    return {
      type: 'raise',
      ...base,
      kind: b.kind,
      severity: b.severity,
      evidence,
      mitigations: [...profile.mitigations],
      notifyUrl: profile.notifyUrl,
    };
  }

  #context(profile: SecurityProfile, state: DeviceState, dp: Datapoint): EvalContext {
    return {
      allowList: (b) => {
        let list = this.#allowLists.get(b);
        if (!list) {
          list = compileAllowList(b.metric, b.allowed, this.#resolve);
          this.#allowLists.set(b, list);
        }
        return list;
      },
      cohortPercentile: (b) => this.#window(profile.id, b.name).percentile(b.percentile, dp.at, b.windowMs),
      learned: (b) => state.learned[b.metric] ?? null,
      baseline: (b) =>
        estimate(
          state.baselines[b.metric],
          this.#cohortBaselines.get(`${profile.id}/${b.metric}`),
          dp.at,
          minScale(b.metric),
          b.trainingMs,
        ),
    };
  }

  #learnValues(state: DeviceState, profiles: readonly SecurityProfile[], dp: Datapoint): void {
    const windows = new Map<SetMetric, number>();
    for (const p of profiles) {
      if (!p.enabled) continue;
      for (const b of p.behaviours) {
        if (b.kind === 'new-value') windows.set(b.metric, Math.max(windows.get(b.metric) ?? 0, b.learningMs));
      }
    }
    for (const [metric, learningMs] of windows) {
      const values = dp.sets[metric];
      if (values === undefined) continue;
      const learned = entry(state.learned, metric, () => ({ since: dp.at, values: {} as Record<string, number> }));
      if (dp.at >= learned.since + learningMs) continue;
      for (const v of values) {
        if (learned.values[v] !== undefined) continue;
        if (Object.keys(learned.values).length >= DETECTOR_LIMITS.learnedValues) break;
        learned.values[v] = dp.at;
      }
    }
  }

  /** Anomalous datapoints are not learned: an attacker must not teach the baseline its own traffic. */
  #learnBaselines(state: DeviceState, profiles: readonly SecurityProfile[], dp: Datapoint, skip: Set<string>): void {
    const learnedHere = new Set<string>();
    for (const p of profiles) {
      if (!p.enabled) continue;
      for (const b of p.behaviours) {
        if (b.kind !== 'baseline' || skip.has(b.metric)) continue;
        const v = dp.numbers[b.metric];
        if (v === undefined) continue;
        const cohortKey = `${p.id}/${b.metric}`;
        if (!learnedHere.has(cohortKey)) {
          addSample(
            cached(this.#cohortBaselines, cohortKey, () => newBaseline(dp.at)),
            dp.at,
            v,
            COHORT_SAMPLES,
          );
          learnedHere.add(cohortKey);
        }
        if (!learnedHere.has(b.metric)) {
          addSample(
            entry(state.baselines, b.metric, () => newBaseline(dp.at)),
            dp.at,
            v,
            DEVICE_SAMPLES,
          );
          learnedHere.add(b.metric);
        }
      }
    }
  }

  #window(profileId: string, behaviour: string): CohortWindow {
    return cached(this.#windows, ruleKey(profileId, behaviour), () => new CohortWindow());
  }

  #stateOf(deviceId: string, at: number): DeviceState {
    let s = this.#devices.get(deviceId);
    if (!s) {
      s = { firstAt: at, lastAt: at, baselines: {}, learned: {}, rules: {} };
      this.#devices.set(deviceId, s);
    }
    return s;
  }

  /** Restores a persisted device; `heardAt` resets the silence clock (a server outage is not the device's silence). */
  restore(deviceId: string, state: DeviceState, heardAt: number): void {
    const s = { ...state, lastAt: Math.max(state.lastAt, heardAt) };
    this.#devices.set(deviceId, s);
  }

  has(deviceId: string): boolean {
    return this.#devices.has(deviceId);
  }

  /** Marks a device's rule as not alarmed (an operator cleared the alarm), so it can be raised again. */
  resetRule(deviceId: string, profileId: string, behaviour: string): void {
    const s = this.#devices.get(deviceId);
    if (s?.rules[ruleKey(profileId, behaviour)]) {
      s.rules[ruleKey(profileId, behaviour)] = newRuleState();
      this.#dirty.add(deviceId);
    }
  }

  forget(deviceId: string): void {
    this.#devices.delete(deviceId);
    this.#dirty.delete(deviceId);
    for (const w of this.#windows.values()) w.remove(deviceId);
  }

  /** Devices changed since the last call, with their state to persist. */
  takeDirty(): Array<[string, DeviceState]> {
    const out: Array<[string, DeviceState]> = [];
    for (const id of this.#dirty) {
      const s = this.#devices.get(id);
      if (s) out.push([id, s]);
    }
    this.#dirty.clear();
    return out;
  }
}
