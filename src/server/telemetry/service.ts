import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError, isFleetwardError } from '../../protocol/errors.ts';
import { parseReportPayload, type Report } from '../../protocol/report.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { Page, RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import { Batcher } from './batcher.ts';
import {
  type AcceptedReport,
  DEFAULT_INGEST,
  type IngestMessage,
  type IngestOptions,
  type IngestOutcome,
  type StoredReport,
  type TelemetryErrorCode,
  type TelemetryStats,
} from './model.ts';
import * as db from './store.ts';

type Item =
  | { kind: 'report'; deviceId: string; receivedAt: number; report: Report }
  | { kind: 'rejected'; deviceId: string; receivedAt: number; error: FleetwardError };

/** Contact is written at most this often per device: last_seen is accurate to this, writes stay few. */
const SEEN_RESOLUTION_MS = 30_000;

/**
 * Device reports in, durable and deduplicated. `ingest` validates first (parseReport), then joins a
 * group commit; its promise settles only after the transaction holding the report committed, so the
 * broker's PUBACK means "stored" (FINDINGS.md: aedes PUBACKs after the publish hook calls back).
 */
export class TelemetryService {
  readonly #store: Store;
  readonly #bus: Bus;
  readonly #registry: RegistryService;
  readonly #opts: IngestOptions;
  readonly #batcher: Batcher<Item, IngestOutcome | FleetwardError>;
  readonly #seenWritten = new Map<string, number>();
  readonly #counts = { stored: 0, duplicates: 0, rejected: 0, batches: 0, largestBatch: 0, storeFailures: 0 };

  constructor(store: Store, bus: Bus, registry: RegistryService, _clock: Clock, options: Partial<IngestOptions> = {}) {
    this.#store = store;
    this.#bus = bus;
    this.#registry = registry;
    this.#opts = { ...DEFAULT_INGEST, ...options };
    this.#batcher = new Batcher((items) => this.#commit(items), this.#opts);
  }

  /**
   * Stores one report from an authenticated device; resolves 'stored' or 'duplicate' once durable.
   * Rejects with REPORT_TOO_LARGE / REPORT_NOT_JSON / REPORT_INVALID (counted against the device, durably),
   * TELEMETRY_OVERLOADED (too much waiting: retry later), TELEMETRY_STORE_FAILED (database down).
   */
  async ingest(msg: IngestMessage): Promise<IngestOutcome> {
    if (this.#batcher.pending >= this.#opts.maxPending) {
      throw new FleetwardError<TelemetryErrorCode>('TELEMETRY_OVERLOADED', 'ingest is overloaded; retry later');
    }
    let item: Item;
    try {
      item = {
        kind: 'report',
        deviceId: msg.deviceId,
        receivedAt: msg.receivedAt,
        report: parseReportPayload(msg.payload),
      };
    } catch (err) {
      if (!isFleetwardError(err)) throw err;
      item = { kind: 'rejected', deviceId: msg.deviceId, receivedAt: msg.receivedAt, error: err };
    }
    const outcome = await this.#batcher.add(item);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  /** One transaction for the whole batch: reports, rejection counts, device contact. */
  async #commit(items: Item[]): Promise<Array<IngestOutcome | FleetwardError>> {
    const reports = dedupeWithinBatch(items);
    const rejections = countRejections(items);
    const seen = this.#seenToWrite(items);
    let inserted: Set<string>;
    try {
      inserted = await this.#store.transaction(async (tx) => {
        const ins = await db.insertReports(tx, reports);
        await db.addRejections(tx, rejections);
        await this.#registry.markSeenIn(tx, seen);
        return ins;
      });
    } catch (err) {
      for (const s of seen) this.#seenWritten.delete(s.deviceId);
      this.#counts.storeFailures++;
      // Isolate: one report the database refuses must not take the others of its batch down with it.
      if (items.length > 1) return this.#commitEach(items);
      return [
        new FleetwardError<TelemetryErrorCode>('TELEMETRY_STORE_FAILED', 'report could not be stored', { cause: err }),
      ];
    }
    return this.#settle(items, inserted);
  }

  async #commitEach(items: Item[]): Promise<Array<IngestOutcome | FleetwardError>> {
    const out: Array<IngestOutcome | FleetwardError> = [];
    for (const it of items) out.push(...(await this.#commit([it])));
    return out;
  }

  #settle(items: Item[], inserted: Set<string>): Array<IngestOutcome | FleetwardError> {
    const accepted: AcceptedReport[] = [];
    const rejected: Array<{ deviceId: string; code: string; receivedAt: number }> = [];
    const outcomes = items.map((it): IngestOutcome | FleetwardError => {
      if (it.kind === 'rejected') {
        rejected.push({ deviceId: it.deviceId, code: it.error.code, receivedAt: it.receivedAt });
        return it.error;
      }
      const key = db.identityKey(it.deviceId, it.report.boot, it.report.seq);
      // The first copy in the batch takes the insert; later copies (and re-sends) are duplicates.
      if (inserted.delete(key)) {
        accepted.push({ deviceId: it.deviceId, receivedAt: it.receivedAt, report: it.report });
        return 'stored';
      }
      return 'duplicate';
    });
    this.#counts.stored += accepted.length;
    this.#counts.rejected += rejected.length;
    this.#counts.duplicates += items.length - accepted.length - rejected.length;
    this.#counts.batches++;
    this.#counts.largestBatch = Math.max(this.#counts.largestBatch, items.length);
    if (accepted.length > 0) void this.#bus.publish('telemetry.accepted', { reports: accepted });
    if (rejected.length > 0) void this.#bus.publish('telemetry.rejected', { rejections: rejected });
    return outcomes;
  }

  /** Devices whose last_seen is older than SEEN_RESOLUTION_MS, with the newest contact in this batch. */
  #seenToWrite(items: Item[]): Array<{ deviceId: string; at: number }> {
    const newest = new Map<string, number>();
    for (const it of items) newest.set(it.deviceId, Math.max(newest.get(it.deviceId) ?? 0, it.receivedAt));
    const out: Array<{ deviceId: string; at: number }> = [];
    for (const [deviceId, at] of newest) {
      if (at - (this.#seenWritten.get(deviceId) ?? Number.NEGATIVE_INFINITY) < SEEN_RESOLUTION_MS) continue;
      this.#seenWritten.set(deviceId, at);
      out.push({ deviceId, at });
    }
    return out;
  }

  /** A device's stored reports, oldest first. Throws DEVICE_NOT_FOUND. */
  async listReports(
    deviceId: string,
    q: { since?: number | undefined; after?: number | undefined; limit: number },
  ): Promise<Page<StoredReport>> {
    await this.#registry.getDevice(deviceId);
    const rows = await db.listDeviceReports(this.#store.db, deviceId, q.since, q.after, q.limit + 1);
    const items = rows.slice(0, q.limit);
    return { items, next: rows.length > q.limit ? String(items.at(-1)!.id) : null };
  }

  async stats(): Promise<TelemetryStats> {
    return {
      storedReports: await db.countReports(this.#store.db),
      sinceStart: { ...this.#counts },
      malformed: await db.topMalformed(this.#store.db, 100),
    };
  }

  /** Commits what is waiting (call before closing the store). */
  async flush(): Promise<void> {
    await this.#batcher.flush();
  }
}

function dedupeWithinBatch(items: Item[]): db.NewReportRow[] {
  const seen = new Set<string>();
  const out: db.NewReportRow[] = [];
  for (const it of items) {
    if (it.kind !== 'report') continue;
    const key = db.identityKey(it.deviceId, it.report.boot, it.report.seq);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ deviceId: it.deviceId, receivedAt: it.receivedAt, report: it.report });
  }
  return out;
}

function countRejections(items: Item[]): Array<{ deviceId: string; count: number; lastCode: string; lastAt: number }> {
  const byDevice = new Map<string, { deviceId: string; count: number; lastCode: string; lastAt: number }>();
  for (const it of items) {
    if (it.kind !== 'rejected') continue;
    const r = byDevice.get(it.deviceId) ?? { deviceId: it.deviceId, count: 0, lastCode: it.error.code, lastAt: 0 };
    r.count++;
    r.lastCode = it.error.code;
    r.lastAt = Math.max(r.lastAt, it.receivedAt);
    byDevice.set(it.deviceId, r);
  }
  return [...byDevice.values()];
}
