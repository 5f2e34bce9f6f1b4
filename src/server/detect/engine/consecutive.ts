/**
 * Consecutive datapoints to alarm and to clear (Device Defender's datapointsToAlarm/ToClear): one
 * noisy datapoint neither raises nor clears an alarm. A datapoint with no verdict (metric absent,
 * baseline still training) leaves the counts as they are.
 */
export interface RuleState {
  alarmed: boolean;
  /** Consecutive violating datapoints so far. */
  violations: number;
  /** Consecutive clean datapoints while alarmed. */
  clears: number;
  /** Values of the latest violating datapoints, oldest first, for the evidence. */
  recent: Array<number | string[]>;
}

export const RECENT_KEPT = 10;

export function newRuleState(): RuleState {
  return { alarmed: false, violations: 0, clears: 0, recent: [] };
}

export type Transition = 'raise' | 'clear' | null;

/** Advances `state` (mutated) by one verdict; says whether the alarm is raised or cleared by it. */
export function step(
  state: RuleState,
  verdict: { violated: boolean; value: number | string[] | null } | null,
  toAlarm: number,
  toClear: number,
): Transition {
  if (verdict === null) return null;
  if (verdict.violated) {
    state.violations++;
    state.clears = 0;
    if (verdict.value !== null) {
      state.recent.push(verdict.value);
      if (state.recent.length > RECENT_KEPT) state.recent.shift();
    }
    if (!state.alarmed && state.violations >= toAlarm) {
      state.alarmed = true;
      return 'raise';
    }
    return null;
  }
  state.violations = 0;
  if (!state.alarmed) {
    state.recent = [];
    return null;
  }
  state.clears++;
  if (state.clears >= toClear) {
    state.alarmed = false;
    state.clears = 0;
    state.recent = [];
    return 'clear';
  }
  return null;
}
