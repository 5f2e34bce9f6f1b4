import type { Behaviour, MitigationKind, ProfileTarget, SecurityProfile } from './model.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/**
 * The behaviours we recommend for a fleet of Linux devices, one per attack the simulator labels (and
 * the bench measures): a new listening port (backdoor, `port-open`), outbound traffic far above the
 * device's own hour-of-day baseline or its peers (`botnet-ddos`, `exfiltration`), talking to far more
 * addresses than its peers (`scanner`), failed logins (`brute-force`), unexpected resets
 * (`reset-storm`), silence and malformed reports. Thresholds are deliberately conservative: two
 * consecutive datapoints to alarm, three to clear.
 */
export function recommendedBehaviours(): Behaviour[] {
  const c = { toAlarm: 2, toClear: 3 };
  return [
    {
      ...c,
      name: 'new-listening-port',
      kind: 'new-value',
      metric: 'listening-ports',
      learningMs: 6 * HOUR,
      severity: 'high',
    },
    {
      ...c,
      name: 'new-destination',
      kind: 'new-value',
      metric: 'destinations',
      learningMs: 6 * HOUR,
      severity: 'high',
    },
    {
      ...c,
      name: 'outbound-burst',
      kind: 'baseline',
      metric: 'bytes-out',
      sensitivity: 'medium',
      direction: 'above',
      minConfidence: 'low',
      trainingMs: 6 * HOUR,
      severity: 'high',
    },
    {
      ...c,
      name: 'outbound-vs-fleet',
      kind: 'percentile',
      metric: 'packets-out',
      percentile: 99,
      windowMs: HOUR,
      factor: 5,
      margin: 100,
      minCohort: 20,
      severity: 'high',
    },
    {
      ...c,
      name: 'fan-out',
      kind: 'percentile',
      metric: 'remote-addresses',
      percentile: 99,
      windowMs: HOUR,
      factor: 3,
      margin: 10,
      minCohort: 20,
      severity: 'high',
    },
    { ...c, name: 'auth-failures', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5, severity: 'medium' },
    {
      ...c,
      name: 'reset-storm',
      kind: 'static',
      metric: 'unexpected-resets',
      op: 'gte',
      value: 0.5,
      severity: 'medium',
    },
    {
      ...c,
      toAlarm: 1,
      name: 'malformed-reports',
      kind: 'static',
      metric: 'malformed-reports',
      op: 'gte',
      value: 3,
      severity: 'low',
    },
    { ...c, toAlarm: 1, toClear: 1, name: 'silent', kind: 'silent', intervalMs: MIN, missed: 10, severity: 'low' },
  ];
}

/** Which behaviour should catch which simulator scenario (the end-to-end test and bench check this). */
export const SCENARIO_BEHAVIOURS: Record<string, readonly string[]> = {
  'botnet-ddos': ['outbound-burst', 'outbound-vs-fleet', 'fan-out', 'new-destination'],
  'port-open': ['new-listening-port'],
  exfiltration: ['outbound-burst', 'outbound-vs-fleet', 'new-destination'],
  'reset-storm': ['reset-storm', 'silent'],
  'brute-force': ['auth-failures'],
  scanner: ['fan-out', 'new-destination'],
};

/** The same for the static-only comparison detector. */
export const STATIC_SCENARIO_BEHAVIOURS: Record<string, readonly string[]> = {
  'botnet-ddos': ['bytes-out', 'connections'],
  'port-open': ['listening-ports'],
  exfiltration: ['bytes-out'],
  'reset-storm': ['reset-storm'],
  'brute-force': ['auth-failures'],
  scanner: ['connections'],
};

export function recommendedProfile(
  id: string,
  targets: ProfileTarget[],
  mitigations: MitigationKind[] = [],
): Omit<SecurityProfile, 'createdAt' | 'updatedAt'> {
  return {
    id,
    name: 'Recommended (Linux devices)',
    description:
      'New ports, outbound bursts against own baseline and fleet, fan-out, failed logins, reset storms, silence',
    enabled: true,
    targets,
    behaviours: recommendedBehaviours(),
    mitigations,
    notifyUrl: null,
  };
}

/**
 * The comparison detector of the bench: static thresholds only (what a rules-only product offers), one
 * fleet-wide value per metric set just above the busiest healthy device (a camera at its peak hour).
 */
export function staticOnlyBehaviours(): Behaviour[] {
  const c = { toAlarm: 2, toClear: 3, severity: 'medium' as const };
  return [
    { ...c, name: 'bytes-out', kind: 'static', metric: 'bytes-out', op: 'gt', value: 8_000_000 },
    { ...c, name: 'connections', kind: 'static', metric: 'connections', op: 'gt', value: 50 },
    { ...c, name: 'listening-ports', kind: 'static', metric: 'listening-port-count', op: 'gt', value: 2 },
    { ...c, name: 'auth-failures', kind: 'static', metric: 'auth-failures', op: 'gt', value: 5 },
    { ...c, name: 'reset-storm', kind: 'static', metric: 'unexpected-resets', op: 'gte', value: 0.5 },
  ];
}
