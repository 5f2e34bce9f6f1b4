import {
  type Behaviour,
  Detector,
  reportToDatapoint,
  SCENARIO_BEHAVIOURS,
  type SecurityProfile,
} from '../src/server/detect/index.ts';
import {
  recommendedBehaviours,
  STATIC_SCENARIO_BEHAVIOURS,
  staticOnlyBehaviours,
} from '../src/server/detect/recommended-profile.ts';
import {
  type LabelLike,
  medianOf,
  type RaiseLike,
  type Score,
  scoreDetections,
} from '../src/server/detect/testing/detection-score.ts';
import { profileFor } from '../src/simulator/profiles.ts';
import { deriveSeed, intBetween, seededRng } from '../src/simulator/random.ts';
import { SCENARIOS, type ScenarioName } from '../src/simulator/scenarios.ts';
import { VirtualDevice } from '../src/simulator/virtual-device.ts';
import type { BenchResult } from './bench.types.ts';

const DEVICES = 1000;
const ATTACKS_PER_SCENARIO = 8;
const INTERVAL_MS = 5 * 60_000;
const DAY = 86_400_000;
const HOUR = 3_600_000;
/** An alarm up to this long after an attack ended still belongs to it (consecutive datapoints to clear). */
const GRACE_MS = 30 * 60_000;
const START = Date.UTC(2026, 2, 2, 0, 0, 0);
const SEED = 20260302;

/**
 * Detection quality over one simulated day of the simulator's fleet (mixed products, diurnal traffic,
 * labelled attacks placed after the first 8 hours, one to two hours each), evaluated by the real
 * detection engine in simulated time. The recommended profile is compared with a static-thresholds-only
 * detector measured in the same run on the same reports.
 */
export async function run(): Promise<BenchResult> {
  const { labels, rounds } = simulateDay();
  const deviceDays = DEVICES * 1;
  const ours = evaluate(recommendedBehaviours(), rounds, labels, SCENARIO_BEHAVIOURS);
  const baseline = evaluate(staticOnlyBehaviours(), rounds, labels, STATIC_SCENARIO_BEHAVIOURS);
  // Ablation: only what is learned (own hour-of-day baseline, fleet percentiles), no rules at all.
  const learned = evaluate(
    recommendedBehaviours().filter((b) => b.kind === 'baseline' || b.kind === 'percentile'),
    rounds,
    labels,
    SCENARIO_BEHAVIOURS,
  );
  const rows: BenchResult['rows'] = [];
  for (const scenario of SCENARIOS) {
    const o = ours.perScenario.find((s) => s.scenario === scenario)!;
    const b = baseline.perScenario.find((s) => s.scenario === scenario)!;
    const ttd = medianOf(o.timesToDetect);
    const bttd = medianOf(b.timesToDetect);
    const l = learned.perScenario.find((s) => s.scenario === scenario)!;
    rows.push({
      scenario,
      attacks: o.attacks,
      'detection rate': pct(o.detected / o.attacks),
      'median time to detect (sim min)': ttd === null ? '-' : Number((ttd / 60_000).toFixed(1)),
      'static-only detection rate': pct(b.detected / b.attacks),
      'static-only time to detect (sim min)': bttd === null ? '-' : Number((bttd / 60_000).toFixed(1)),
      'learned-only detection rate': pct(l.detected / l.attacks),
    });
  }
  const fa = (s: Score) => (s.falseAlarms.length / deviceDays) * 1000;
  const rate = (s: Score) =>
    s.perScenario.reduce((n, x) => n + x.detected, 0) / s.perScenario.reduce((n, x) => n + x.attacks, 0);
  rows.push({
    scenario: 'all',
    attacks: labels.length,
    'detection rate': pct(rate(ours)),
    'median time to detect (sim min)': minutes(ours),
    'static-only detection rate': pct(rate(baseline)),
    'static-only time to detect (sim min)': minutes(baseline),
    'learned-only detection rate': pct(rate(learned)),
  });
  const summary = [
    `${DEVICES} devices × 1 simulated day (${deviceDays} device-days), reports every ${INTERVAL_MS / 60_000} min, ${labels.length} labelled attacks`,
    `false alarms per 1,000 device-days: recommended ${fa(ours).toFixed(1)} (${ours.falseAlarms.length}), static-only ${fa(baseline).toFixed(1)} (${baseline.falseAlarms.length}), learned-only ${fa(learned).toFixed(1)} (${learned.falseAlarms.length})`,
    `detection rate ratio recommended/static-only: ${(rate(ours) / Math.max(rate(baseline), 1e-9)).toFixed(2)}; alarms of another behaviour on an attacked device: ${ours.misattributed.length}`,
    ours.falseAlarms.length
      ? `false alarms: ${ours.falseAlarms.map((r) => `${r.deviceId}/${r.behaviour}@${new Date(r.at).toISOString().slice(11, 16)}`).join(', ')}`
      : '',
  ].filter(Boolean);
  return { name: 'detection: simulated fleet, one day, labelled attacks', rows, summary: summary.join('\n') };
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
const minutes = (s: Score) =>
  Number(((medianOf(s.perScenario.flatMap((x) => x.timesToDetect)) ?? 0) / 60_000).toFixed(1));

interface Round {
  at: number;
  reports: Array<{ deviceId: string; at: number; report: ReturnType<VirtualDevice['reportAt']> }>;
}

/** The simulator's devices and scenarios, run in-process: labels plus every report in time order. */
function simulateDay(): { labels: LabelLike[]; rounds: Round[] } {
  const rng = seededRng(SEED);
  const ids = Array.from({ length: DEVICES }, (_, i) => `sim-${String(i).padStart(4, '0')}`);
  const labels: Array<LabelLike & { scenario: ScenarioName }> = [];
  let next = 0;
  for (const scenario of SCENARIOS) {
    for (let k = 0; k < ATTACKS_PER_SCENARIO; k++) {
      const start = START + intBetween(rng, 8 * 12, 21 * 12) * INTERVAL_MS;
      labels.push({ device: ids[next++]!, scenario, start, end: start + intBetween(rng, 12, 24) * INTERVAL_MS });
    }
  }
  const devices = ids.map(
    (id, i) => new VirtualDevice(id, profileFor('mixed', i), seededRng(deriveSeed(SEED, id)), START),
  );
  const offsets = ids.map((id) => Math.floor(seededRng(deriveSeed(SEED + 1, id)).next() * INTERVAL_MS));
  const rounds: Round[] = [];
  for (let t = START; t < START + DAY; t += INTERVAL_MS) {
    const reports = devices
      .map((d, i) => {
        const at = t + offsets[i]!;
        const active = labels.filter((l) => l.device === d.id && at >= l.start && at < l.end).map((l) => l.scenario);
        return { deviceId: d.id, at, report: d.reportAt(at, active) };
      })
      .sort((a, b) => a.at - b.at);
    rounds.push({ at: t, reports });
  }
  return { labels, rounds };
}

function evaluate(
  behaviours: Behaviour[],
  rounds: Round[],
  labels: LabelLike[],
  expected: Record<string, readonly string[]>,
): Score {
  const profile: SecurityProfile = {
    id: 'bench',
    name: 'bench',
    description: '',
    enabled: true,
    targets: [{ kind: 'all', value: '' }],
    behaviours,
    mitigations: [],
    notifyUrl: null,
    createdAt: 0,
    updatedAt: 0,
  };
  const detector = new Detector();
  const raises: RaiseLike[] = [];
  for (const round of rounds) {
    for (const r of round.reports) {
      for (const s of detector.observe([profile], reportToDatapoint(r.deviceId, r.at, r.report))) {
        if (s.type === 'raise') raises.push({ deviceId: s.deviceId, behaviour: s.behaviour, at: s.at });
      }
    }
    if ((round.at - START) % HOUR === 0) {
      for (const s of detector.tick(round.at, () => [profile])) {
        if (s.type === 'raise') raises.push({ deviceId: s.deviceId, behaviour: s.behaviour, at: s.at });
      }
    }
  }
  return scoreDetections(labels, raises, expected, GRACE_MS);
}
