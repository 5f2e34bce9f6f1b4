import type { Report } from '../../protocol/report.ts';

/** A stored report: the canonical body plus where and when it arrived. */
export interface StoredReport {
  /** Arrival order; the pagination cursor. */
  id: number;
  deviceId: string;
  /** Device time of the report (simulated time under the simulator), epoch ms. */
  deviceTime: number;
  /** Server time of receipt, epoch ms. */
  receivedAt: number;
  report: Report;
}

/** One report as accepted by ingest, on the `telemetry.accepted` bus event. */
export interface AcceptedReport {
  deviceId: string;
  receivedAt: number;
  report: Report;
}

export interface IngestMessage {
  deviceId: string;
  payload: Uint8Array | string;
  /** Server receive time, epoch ms. */
  receivedAt: number;
}

/** What ingest did with a well-formed report. */
export type IngestOutcome = 'stored' | 'duplicate';

export interface MalformedCount {
  deviceId: string;
  count: number;
  lastCode: string;
  lastAt: number;
}

export interface TelemetryStats {
  /** Rows in the reports table. */
  storedReports: number;
  /** Since this server started. */
  sinceStart: {
    stored: number;
    duplicates: number;
    rejected: number;
    batches: number;
    largestBatch: number;
    /** Transactions the database refused (outage, a poisoned row); the reports were retried or refused. */
    storeFailures: number;
  };
  /** Devices that sent malformed reports, most first (top 100). */
  malformed: MalformedCount[];
}

/** Group commit tuning: a batch closes after `maxDelayMs` or at `maxBatch` messages, whichever is first. */
export interface IngestOptions {
  maxBatch: number;
  maxDelayMs: number;
  /** Messages waiting beyond this are refused with TELEMETRY_OVERLOADED (the device retries later). */
  maxPending: number;
}

export const DEFAULT_INGEST: IngestOptions = { maxBatch: 256, maxDelayMs: 5, maxPending: 20_000 };

export type TelemetryErrorCode = 'TELEMETRY_OVERLOADED' | 'TELEMETRY_STORE_FAILED';
