import { assertNever } from '../../../protocol/errors.ts';
import type {
  BaselineBehaviour,
  Behaviour,
  ComparisonOp,
  Datapoint,
  Evidence,
  NewValueBehaviour,
  PercentileBehaviour,
  SetMembershipBehaviour,
  StaticBehaviour,
} from '../model.ts';
import type { AllowList } from './allow-list.ts';
import { type BaselineEstimate, confidenceAtLeast, deviationLimit } from './baseline.ts';

/** One behaviour's judgement of one datapoint; null when it has nothing to say (no data, training). */
export interface Verdict {
  violated: boolean;
  value: number | string[] | null;
  evidence: Omit<Evidence, 'recent'>;
}

/** What a verdict may need beyond the datapoint; the detector supplies it. */
export interface EvalContext {
  allowList(b: SetMembershipBehaviour): AllowList;
  cohortPercentile(b: PercentileBehaviour): { value: number; cohort: number };
  /** Values the device learned for the metric and when its learning began; null if never seen. */
  learned(b: NewValueBehaviour): { since: number; values: Record<string, number> } | null;
  baseline(b: BaselineBehaviour): BaselineEstimate | null;
}

export function compare(op: ComparisonOp, a: number, b: number): boolean {
  switch (op) {
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    default:
      return assertNever(op, 'comparison');
  }
}

const OP_TEXT: Record<ComparisonOp, string> = { gt: '>', gte: '≥', lt: '<', lte: '≤' };
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** Judges one datapoint against one behaviour. Silent-device behaviours see a datapoint as "heard from". */
export function evaluate(b: Behaviour, dp: Datapoint, ctx: EvalContext): Verdict | null {
  switch (b.kind) {
    case 'static':
      return evaluateStatic(b, dp);
    case 'set-membership':
      return evaluateMembership(b, dp, ctx);
    case 'percentile':
      return evaluatePercentile(b, dp, ctx);
    case 'new-value':
      return evaluateNewValue(b, dp, ctx);
    case 'baseline':
      return evaluateBaseline(b, dp, ctx);
    case 'silent':
      return { violated: false, value: null, evidence: { metric: 'last-seen', value: null, threshold: '' } };
    default:
      return assertNever(b, 'behaviour');
  }
}

function evaluateStatic(b: StaticBehaviour, dp: Datapoint): Verdict | null {
  const v = dp.numbers[b.metric];
  if (v === undefined) return null;
  return {
    violated: compare(b.op, v, b.value),
    value: v,
    evidence: { metric: b.metric, value: v, threshold: `${OP_TEXT[b.op]} ${fmt(b.value)}` },
  };
}

function evaluateMembership(b: SetMembershipBehaviour, dp: Datapoint, ctx: EvalContext): Verdict | null {
  const values = dp.sets[b.metric];
  if (values === undefined) return null;
  const list = ctx.allowList(b);
  const offending = values.filter((v) => !list.allows(v));
  return {
    violated: offending.length > 0,
    value: offending,
    evidence: { metric: b.metric, value: offending, threshold: `only ${b.allowed.join(', ') || '(nothing)'}` },
  };
}

function evaluatePercentile(b: PercentileBehaviour, dp: Datapoint, ctx: EvalContext): Verdict | null {
  const v = dp.numbers[b.metric];
  if (v === undefined) return null;
  const p = ctx.cohortPercentile(b);
  if (p.cohort < b.minCohort || Number.isNaN(p.value)) return null;
  const limit = p.value * b.factor + b.margin;
  return {
    violated: v > limit,
    value: v,
    evidence: {
      metric: b.metric,
      value: v,
      threshold: `> p${b.percentile} ${fmt(p.value)} × ${b.factor} + ${b.margin} = ${fmt(limit)}`,
      percentile: { p: b.percentile, value: p.value, cohort: p.cohort },
    },
  };
}

function evaluateNewValue(b: NewValueBehaviour, dp: Datapoint, ctx: EvalContext): Verdict | null {
  const values = dp.sets[b.metric];
  const learned = ctx.learned(b);
  if (values === undefined || learned === null) return null;
  // Still learning: everything seen now is, by definition, normal for this device.
  if (dp.at < learned.since + b.learningMs) return null;
  const known = (v: string) => {
    const first = learned.values[v];
    return first !== undefined && first < learned.since + b.learningMs;
  };
  const fresh = values.filter((v) => !known(v));
  return {
    violated: fresh.length > 0,
    value: fresh,
    evidence: {
      metric: b.metric,
      value: fresh,
      threshold: `seen while learning: ${Object.keys(learned.values).length} values`,
    },
  };
}

function evaluateBaseline(b: BaselineBehaviour, dp: Datapoint, ctx: EvalContext): Verdict | null {
  const v = dp.numbers[b.metric];
  if (v === undefined) return null;
  const est = ctx.baseline(b);
  if (est === null || !confidenceAtLeast(est.confidence, b.minConfidence)) return null;
  const k = deviationLimit(b.sensitivity, est.confidence);
  const limit = b.direction === 'above' ? est.median + k * est.scale : est.median - k * est.scale;
  return {
    violated: b.direction === 'above' ? v > limit : v < limit,
    value: v,
    evidence: {
      metric: b.metric,
      value: v,
      threshold: `${b.direction === 'above' ? '>' : '<'} median ${fmt(est.median)} ${b.direction === 'above' ? '+' : '−'} ${k} × ${fmt(est.scale)} = ${fmt(limit)}`,
      baseline: {
        median: est.median,
        scale: est.scale,
        confidence: est.confidence,
        source: est.source,
        samples: est.samples,
      },
    },
  };
}
