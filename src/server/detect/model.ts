/**
 * Detection: security profiles attached to products, groups or tags, each a list of behaviours that
 * are evaluated against every datapoint of a device (AWS IoT Device Defender Detect is the reference:
 * rule-based, statistical and ML-ish "learned" behaviours, consecutive datapoints to alarm/clear).
 */

/**
 * Numeric metrics of one datapoint. Counters are per-minute rates (a report's delta scaled by its span),
 * so a threshold means the same whatever a device's report interval. Device-side metrics come from the
 * agent's report; `mqtt-*` and `malformed-reports` are measured by the broker and ingest (cloud side),
 * which a compromised device cannot forge.
 */
export const NUMERIC_METRICS = [
  'bytes-in',
  'bytes-out',
  'packets-in',
  'packets-out',
  'connections',
  'remote-addresses',
  'listening-port-count',
  'resets',
  'unexpected-resets',
  'auth-failures',
  'mqtt-messages',
  'mqtt-bytes',
  'mqtt-connects',
  'mqtt-disconnects',
  'mqtt-authz-failures',
  'malformed-reports',
] as const;
export type BuiltinNumericMetric = (typeof NUMERIC_METRICS)[number];
/** A built-in metric or `custom:<name>` (the report's custom metrics). */
export type NumericMetric = BuiltinNumericMetric | `custom:${string}`;

/**
 * Set-valued metrics: `listening-ports` as `tcp/22`, `destinations` (remote addresses of outbound
 * connections), `destination-ports` as `tcp/443`, `source-addresses` (where the device connects from).
 */
export const SET_METRICS = ['listening-ports', 'destinations', 'destination-ports', 'source-addresses'] as const;
export type SetMetric = (typeof SET_METRICS)[number];

export function isNumericMetric(m: string): m is NumericMetric {
  return (NUMERIC_METRICS as readonly string[]).includes(m) || /^custom:[a-z][a-z0-9_.]{0,63}$/.test(m);
}

/** What detection sees of one report (or one broker sample) of one device. */
export interface Datapoint {
  deviceId: string;
  /** Server time the data arrived, epoch ms (the device's own clock is not trusted). */
  at: number;
  numbers: Partial<Record<string, number>>;
  sets: Partial<Record<SetMetric, string[]>>;
}

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

interface BehaviourBase {
  /** Unique within its profile; names the alarm. */
  name: string;
  severity: Severity;
  /** Consecutive violating datapoints before the alarm is raised (Device Defender's datapointsToAlarm). */
  toAlarm: number;
  /** Consecutive clean datapoints before it clears on its own. */
  toClear: number;
}

export type ComparisonOp = 'gt' | 'gte' | 'lt' | 'lte';

export interface StaticBehaviour extends BehaviourBase {
  kind: 'static';
  metric: NumericMetric;
  op: ComparisonOp;
  value: number;
}

/** Every value of the set must be allowed: ports (`tcp/22`, `22`), addresses, CIDRs (`10.0.0.0/8`). */
export interface SetMembershipBehaviour extends BehaviourBase {
  kind: 'set-membership';
  metric: SetMetric;
  allowed: string[];
}

/** Above `factor` × the pN of the cohort's latest values within `windowMs`, plus `margin`. */
export interface PercentileBehaviour extends BehaviourBase {
  kind: 'percentile';
  metric: NumericMetric;
  /** 50 … 99.9. */
  percentile: number;
  windowMs: number;
  factor: number;
  margin: number;
  /** Fewer devices in the window: no verdict (a percentile of three devices means little). */
  minCohort: number;
}

/** A value never seen during the device's learning window (a new port, a new endpoint). */
export interface NewValueBehaviour extends BehaviourBase {
  kind: 'new-value';
  metric: SetMetric;
  learningMs: number;
}

/** Far above (or below) the device's own learned hour-of-day baseline. */
export interface BaselineBehaviour extends BehaviourBase {
  kind: 'baseline';
  metric: NumericMetric;
  sensitivity: 'low' | 'medium' | 'high';
  direction: 'above' | 'below';
  /** A device (or cohort) history younger than this gives no verdict; 1 day by default. */
  trainingMs: number;
  /** Verdicts only from baselines at least this confident. */
  minConfidence: Confidence;
}

/** No datapoint for `missed` × `intervalMs`. */
export interface SilentBehaviour extends BehaviourBase {
  kind: 'silent';
  intervalMs: number;
  missed: number;
}

export type Behaviour =
  | StaticBehaviour
  | SetMembershipBehaviour
  | PercentileBehaviour
  | NewValueBehaviour
  | BaselineBehaviour
  | SilentBehaviour;
export type BehaviourKind = Behaviour['kind'];
export const BEHAVIOUR_KINDS = ['static', 'set-membership', 'percentile', 'new-value', 'baseline', 'silent'] as const;

export const TARGET_KINDS = ['product', 'group', 'tag', 'all'] as const;
export interface ProfileTarget {
  kind: (typeof TARGET_KINDS)[number];
  /** Product id, group name or tag; empty for `all`. */
  value: string;
}

export const MITIGATION_KINDS = ['quarantine', 'revoke', 'force-update', 'notify'] as const;
export type MitigationKind = (typeof MITIGATION_KINDS)[number];

export interface SecurityProfile {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  /** A device is covered when any target matches it. */
  targets: ProfileTarget[];
  behaviours: Behaviour[];
  /** Applied automatically when one of this profile's alarms is raised (not while suppressed). */
  mitigations: MitigationKind[];
  /** Where `notify` posts (HMAC-signed). */
  notifyUrl: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The facts a device is matched on. */
export interface DeviceFacts {
  id: string;
  productId: string;
  group: string | null;
  tags: string[];
}

/** What fired an alarm: the values and the threshold or baseline they were measured against. */
export interface Evidence {
  metric: string;
  /** The offending value: a number, or the offending members of a set. */
  value: number | string[] | null;
  /** Human-readable rule, e.g. `> 1000`, `p99 × 3 = 4211`, `median 120 + 6 × 15`. */
  threshold: string;
  /** The last violating datapoints' values, oldest first (consecutive datapoints). */
  recent: Array<number | string[]>;
  baseline?: {
    median: number;
    scale: number;
    confidence: Confidence;
    source: 'own-hour' | 'own-all' | 'cohort';
    samples: number;
  };
  percentile?: { p: number; value: number; cohort: number };
  /** Silent devices: when it was last heard from. */
  lastSeenAt?: number;
}

/** What the detector emits; published on the bus as `alarm.raised` / `alarm.cleared`. */
export type DetectionSignal =
  | {
      type: 'raise';
      deviceId: string;
      profileId: string;
      behaviour: string;
      kind: BehaviourKind;
      severity: Severity;
      at: number;
      evidence: Evidence;
      mitigations: MitigationKind[];
      notifyUrl: string | null;
    }
  | { type: 'clear'; deviceId: string; profileId: string; behaviour: string; at: number };

export type DetectErrorCode = 'PROFILE_NOT_FOUND' | 'PROFILE_EXISTS' | 'PROFILE_INVALID';

/** Cumulative broker-side counters of one device (the MQTT adapter measures them; a device cannot forge them). */
export interface CloudCounterSnapshot {
  messages: number;
  bytes: number;
  connects: number;
  disconnects: number;
  authzFailures: number;
  /** Remote address of its current or last connection. */
  source: string | null;
}

/** Where detection reads broker counters from (wired in main.ts to the MQTT adapter). */
export interface CloudCounterSource {
  snapshot(deviceId: string): CloudCounterSnapshot | null;
}
