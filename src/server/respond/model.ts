import type { Evidence, MitigationKind, Severity } from '../detect/index.ts';

/**
 * Response: alarms raised by detection, their lifecycle (active → acknowledged → cleared), suppression
 * and de-duplication; mitigations on devices; fleet-wide emergency actions that need two admins.
 */
export const ALARM_STATES = ['active', 'acknowledged', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

export interface Alarm {
  id: string;
  deviceId: string;
  profileId: string;
  behaviour: string;
  kind: string;
  severity: Severity;
  state: AlarmState;
  raisedAt: number;
  /** The behaviour fired again while this alarm was open (de-duplicated into it). */
  lastRaisedAt: number;
  raiseCount: number;
  acknowledgedAt: number | null;
  acknowledgedBy: string | null;
  clearedAt: number | null;
  /** `system` when the condition ended on its own, else the operator. */
  clearedBy: string | null;
  clearReason: string | null;
  /** While suppressed: no automatic mitigation and no notification. */
  suppressedUntil: number | null;
  suppressionReason: string | null;
  /** The values and the threshold or baseline that fired it (the latest firing). */
  evidence: Evidence;
}

export interface AlarmFilter {
  state?: AlarmState | 'open' | undefined;
  deviceId?: string | undefined;
  profileId?: string | undefined;
  severity?: Severity | undefined;
}

/** One change to an alarm, as the SSE stream and CLI see it. */
export interface AlarmEvent {
  /** Monotonic per server run: the SSE event id (Last-Event-ID resumes after it). */
  seq: number;
  type: 'raised' | 'repeated' | 'acknowledged' | 'suppressed' | 'cleared';
  alarm: Alarm;
}

export const MITIGATION_ACTIONS = ['quarantine', 'release-quarantine', 'revoke', 'force-update', 'notify'] as const;
export type MitigationAction = (typeof MITIGATION_ACTIONS)[number];

export interface MitigationRecord {
  id: string;
  deviceId: string;
  action: MitigationAction;
  alarmId: string | null;
  actor: string;
  state: 'applied' | 'failed';
  details: Record<string, unknown>;
  createdAt: number;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'rejected', 'exhausted'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * One webhook notification in the outbox, as operators see it. Only the URL's origin is shown: a
 * receiver's URL may carry a token in its path or query, and auditors can read this list.
 */
export interface WebhookDelivery {
  id: string;
  origin: string;
  alarmId: string | null;
  deviceId: string | null;
  status: DeliveryStatus;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  /** Last HTTP status, or null when no answer came. */
  lastStatus: number | null;
  /** `timeout`, `network`, `http-<status>`, `not-configured`; never a body or a secret. */
  lastError: string | null;
  updatedAt: number;
}

export const EMERGENCY_KINDS = ['quarantine-product', 'revoke-ca', 'rotate-product-credentials'] as const;
export type EmergencyKind = (typeof EMERGENCY_KINDS)[number];
export type EmergencyState = 'pending' | 'executed' | 'failed' | 'rejected' | 'expired';

export interface EmergencyAction {
  id: string;
  kind: EmergencyKind;
  /** Product id, or CA id for `revoke-ca`. */
  target: string;
  reason: string;
  state: EmergencyState;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
  decidedBy: string | null;
  decidedAt: number | null;
  result: Record<string, unknown> | null;
}

/**
 * What response needs from identity and updates, wired in main.ts through their index.ts. Absent ports
 * make the matching mitigation fail with MITIGATION_UNAVAILABLE instead of pretending.
 */
export interface IdentityPort {
  /** Revokes every active certificate of the device and ends its sessions. */
  revokeDevice(deviceId: string, reason: string, ctx: { actor: string; source: string | null }): Promise<unknown>;
  /** Revokes a CA: every device certificate it issued stops working. */
  revokeCa?(caId: string, reason: string, ctx: { actor: string; source: string | null }): Promise<unknown>;
  /** Sends the device a credential rotation (a fresh key; the old certificate retires after a grace period). */
  rotateDevice?(deviceId: string, ctx: { actor: string; source: string | null }): Promise<unknown>;
}

export interface UpdatesPort {
  /** Starts an immediate update of one device to the newest release it is eligible for. */
  forceUpdate(deviceId: string, reason: string, ctx: { actor: string; source: string | null }): Promise<unknown>;
}

export type RespondErrorCode =
  | 'ALARM_NOT_FOUND'
  | 'ALARM_STATE_CONFLICT'
  | 'MITIGATION_UNAVAILABLE'
  | 'MITIGATION_FAILED'
  | 'EMERGENCY_NOT_FOUND'
  | 'EMERGENCY_SAME_ADMIN'
  | 'EMERGENCY_NOT_PENDING'
  | 'EMERGENCY_EXPIRED'
  | 'STREAM_NOT_ACCEPTABLE';

export type { MitigationKind };
