import { FleetwardError } from '../../protocol/errors.ts';
import { isValidAllowEntry } from './engine/allow-list.ts';
import {
  type Behaviour,
  type DetectErrorCode,
  type DeviceFacts,
  isNumericMetric,
  type ProfileTarget,
  type SecurityProfile,
} from './model.ts';

/** Limits on one profile (an operator's typo must not become a million-entry allow-list). */
export const PROFILE_LIMITS = {
  behaviours: 32,
  targets: 32,
  allowedEntries: 256,
  /** Longest window or learning period, ms (30 days). */
  windowMs: 30 * 86_400_000,
  consecutive: 100,
} as const;

const invalid = (message: string, details: Record<string, unknown> = {}) =>
  new FleetwardError<DetectErrorCode>('PROFILE_INVALID', message, { details });

/** Checks what a schema cannot: unique names, well-formed allow entries, ranges. Throws PROFILE_INVALID. */
export function checkProfile(p: Pick<SecurityProfile, 'targets' | 'behaviours' | 'mitigations' | 'notifyUrl'>): void {
  if (p.targets.length === 0) throw invalid('a profile needs at least one target');
  if (p.targets.length > PROFILE_LIMITS.targets) throw invalid('too many targets');
  if (p.behaviours.length > PROFILE_LIMITS.behaviours) throw invalid('too many behaviours');
  for (const t of p.targets) {
    if (t.kind !== 'all' && !t.value) throw invalid(`a ${t.kind} target needs a value`);
  }
  const names = new Set<string>();
  for (const b of p.behaviours) {
    if (names.has(b.name)) throw invalid('behaviour names must be unique', { behaviour: b.name });
    names.add(b.name);
    checkBehaviour(b);
  }
  if (p.mitigations.includes('notify') && !p.notifyUrl) throw invalid('the notify mitigation needs a notifyUrl');
  if (p.notifyUrl !== null && !/^https?:\/\//.test(p.notifyUrl)) throw invalid('notifyUrl must be http(s)');
}

function checkBehaviour(b: Behaviour): void {
  const where = { behaviour: b.name };
  if (
    b.toAlarm < 1 ||
    b.toClear < 1 ||
    b.toAlarm > PROFILE_LIMITS.consecutive ||
    b.toClear > PROFILE_LIMITS.consecutive
  )
    throw invalid('toAlarm and toClear are 1 to 100', where);
  if ('metric' in b && (b.kind === 'static' || b.kind === 'percentile' || b.kind === 'baseline')) {
    if (!isNumericMetric(b.metric)) throw invalid(`unknown metric ${b.metric}`, where);
  }
  if (b.kind === 'set-membership') {
    if (b.allowed.length > PROFILE_LIMITS.allowedEntries) throw invalid('too many allowed entries', where);
    const bad = b.allowed.find((e) => !isValidAllowEntry(b.metric, e));
    if (bad !== undefined) throw invalid(`not a valid entry for ${b.metric}: ${bad.slice(0, 64)}`, where);
  }
  if (b.kind === 'percentile' && (b.percentile < 50 || b.percentile > 99.9))
    throw invalid('percentile is 50 to 99.9', where);
  const spans = [
    b.kind === 'percentile' ? b.windowMs : 0,
    b.kind === 'new-value' ? b.learningMs : 0,
    b.kind === 'baseline' ? b.trainingMs : 0,
    b.kind === 'silent' ? b.intervalMs * b.missed : 0,
  ];
  if (spans.some((s) => s < 0 || s > PROFILE_LIMITS.windowMs)) throw invalid('windows are 0 to 30 days', where);
  if (b.kind === 'silent' && (b.intervalMs < 1000 || b.missed < 1))
    throw invalid('silent: interval ≥ 1 s, missed ≥ 1', where);
}

/** A device is covered by a profile when any of its targets matches. */
export function profileCovers(targets: readonly ProfileTarget[], d: DeviceFacts): boolean {
  return targets.some((t) => {
    switch (t.kind) {
      case 'all':
        return true;
      case 'product':
        return d.productId === t.value;
      case 'group':
        return d.group === t.value;
      case 'tag':
        return d.tags.includes(t.value);
      default:
        return false;
    }
  });
}
