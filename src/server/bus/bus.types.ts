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
}

export type BusTopic = keyof BusEvents;

export interface Bus {
  publish<T extends BusTopic>(topic: T, event: BusEvents[T]): Promise<void>;
  /** Returns a function that removes the handler. A failing handler never affects the publisher. */
  subscribe<T extends BusTopic>(topic: T, handler: (event: BusEvents[T]) => void | Promise<void>): () => void;
  close(): Promise<void>;
}
