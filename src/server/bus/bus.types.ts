import type { Report } from '../../protocol/report.ts';

/**
 * Cross-capability flows go through events, not calls into each other's stores (DESIGN.md).
 * The in-process bus serves one process; a NATS JetStream bus serves roles at scale.
 */
export interface BusEvents {
  'device.created': { deviceId: string; productId: string };
  'device.updated': { deviceId: string };
  'device.deleted': { deviceId: string };
  'product.created': { productId: string };
  'product.updated': { productId: string };
  'product.deleted': { productId: string };
  // Telemetry (telemetry/): batched per group commit, after the reports are durable.
  'telemetry.accepted': {
    reports: Array<{ deviceId: string; receivedAt: number; report: Report }>;
  };
  /** Malformed reports, counted per device: a tampered or fuzzing agent is itself a signal. */
  'telemetry.rejected': { rejections: Array<{ deviceId: string; code: string; receivedAt: number }> };
  // Identity and transport (identity/, mqtt/).
  'device.enrolled': {
    deviceId: string;
    productId: string;
    serial: string;
    via: 'token' | 'rotation' | 'manufacturer-ca';
  };
  'device.certificate.revoked': { deviceId: string; serial: string; reason: string };
  'device.connected': { deviceId: string; source: string };
  'device.disconnected': { deviceId: string; source: string };
  /** A second live connection with the same identity: the older session was taken over (cloned key?). */
  'device.connection.duplicate': { deviceId: string; source: string; previousSource: string };
  /** A refused TLS handshake, CONNECT, publish or subscribe; deviceId null when the peer was never identified. */
  'mqtt.refused': { deviceId: string | null; source: string; reason: string };
  /** The set of CAs devices may present changed (manufacturer CA added or removed): reload TLS trust. */
  'identity.trust.changed': { manufacturerCaId: string };
  // Detection and response (detect/, respond/). Evidence is detect's `Evidence` (detect/model.ts).
  /** A behaviour of a security profile fired for a device (after its consecutive datapoints). */
  'alarm.raised': {
    deviceId: string;
    profileId: string;
    behaviour: string;
    kind: string;
    severity: 'low' | 'medium' | 'high' | 'critical';
    at: number;
    evidence: { metric: string; threshold: string };
    mitigations: Array<'quarantine' | 'revoke' | 'force-update' | 'notify'>;
    notifyUrl: string | null;
  };
  /** The behaviour's condition ended (consecutive clean datapoints). */
  'alarm.cleared': { deviceId: string; profileId: string; behaviour: string; at: number };
  /** An operator closed an alarm: detection forgets its state so a persisting condition raises it again. */
  'alarm.closed': { deviceId: string; profileId: string; behaviour: string };
  'device.quarantined': { deviceId: string; reason: string };
  'device.quarantine.released': { deviceId: string };
  // Secure updates (updates/). The advisory says what a release fixes, for operators' notifications.
  'release.created': {
    releaseId: string;
    productId: string;
    version: string;
    advisory: { cves: string[]; severity: 'none' | 'low' | 'medium' | 'high' | 'critical' };
    /** E.g. the product is past its support period. */
    warnings: string[];
  };
  /** A rollout started, advanced a phase, paused, resumed, aborted itself, finished or was cancelled. */
  'rollout.changed': { rolloutId: string; releaseId: string; status: string; phase: number; reason: string | null };
}

export type BusTopic = keyof BusEvents;

export interface Bus {
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): Promise<void>;
  /** Returns a function that removes the handler. A failing handler never affects the publisher. */
  subscribe<T extends BusTopic>(topic: T, handler: (event: BusEvents[T]) => void | Promise<void>): () => void;
  close(): Promise<void>;
}
