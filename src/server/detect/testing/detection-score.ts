/**
 * Scoring detections against the simulator's ground truth (labels): used by the end-to-end test and
 * the detection-quality bench, so both count the same way.
 */
export interface LabelLike {
  device: string;
  scenario: string;
  start: number;
  end: number;
}

export interface RaiseLike {
  deviceId: string;
  behaviour: string;
  at: number;
}

export interface ScenarioScore {
  scenario: string;
  attacks: number;
  detected: number;
  /** Simulated ms from the attack's start to its first right alarm, for each detected attack. */
  timesToDetect: number[];
}

export interface Score {
  perScenario: ScenarioScore[];
  /** Alarms on a device while no attack (± grace) was under way on it. */
  falseAlarms: RaiseLike[];
  /** Right device, wrong behaviour for the scenario (counted apart: not false, not right). */
  misattributed: RaiseLike[];
}

/**
 * An attack is detected when its device raises one of the scenario's expected behaviours between its
 * start and `graceMs` after its end; an alarm outside every attack window of its device (± grace) is a
 * false alarm.
 */
export function scoreDetections(
  labels: readonly LabelLike[],
  raises: readonly RaiseLike[],
  expected: Readonly<Record<string, readonly string[]>>,
  graceMs: number,
): Score {
  const inWindow = (r: RaiseLike, l: LabelLike) =>
    r.deviceId === l.device && r.at >= l.start && r.at <= l.end + graceMs;
  const perScenario = new Map<string, ScenarioScore>();
  for (const l of labels) {
    const s = perScenario.get(l.scenario) ?? { scenario: l.scenario, attacks: 0, detected: 0, timesToDetect: [] };
    perScenario.set(l.scenario, s);
    s.attacks++;
    const right = raises.filter((r) => inWindow(r, l) && (expected[l.scenario] ?? []).includes(r.behaviour));
    if (right.length > 0) {
      s.detected++;
      s.timesToDetect.push(Math.min(...right.map((r) => r.at)) - l.start);
    }
  }
  const falseAlarms: RaiseLike[] = [];
  const misattributed: RaiseLike[] = [];
  for (const r of raises) {
    const windows = labels.filter((l) => inWindow(r, l));
    if (windows.length === 0) falseAlarms.push(r);
    else if (!windows.some((l) => (expected[l.scenario] ?? []).includes(r.behaviour))) misattributed.push(r);
  }
  return { perScenario: [...perScenario.values()], falseAlarms, misattributed };
}

export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
