import { type Generated, sql } from 'kysely';
import { countResets, type Report } from '../../protocol/report.ts';
import type { AnyDb } from '../store/store.types.ts';
import type { MalformedCount, StoredReport } from './model.ts';

export type TelemetryTables = {
  telemetry_reports: {
    id: Generated<number>;
    device_id: string;
    boot_id: string;
    seq: number;
    device_time: number;
    received_at: number;
    span_ms: number;
    uptime_s: number;
    firmware: string;
    bytes_in: number;
    bytes_out: number;
    packets_in: number;
    packets_out: number;
    listen_count: number;
    conn_count: number;
    remote_count: number;
    resets_expected: number;
    resets_unexpected: number;
    auth_failures: number;
    body: string;
  };
  telemetry_rejections: { device_id: string; count: number; last_code: string; last_at: number };
};

type ReportRow = TelemetryTables['telemetry_reports'];
const t = (db: AnyDb) => db.withTables<TelemetryTables>();

/** Rows per INSERT: 20 parameters each stays far below SQLite's and PostgreSQL's parameter limits. */
const INSERT_CHUNK = 500;

export interface NewReportRow {
  deviceId: string;
  receivedAt: number;
  report: Report;
}

export const identityKey = (deviceId: string, boot: string, seq: number) => `${deviceId}\u0000${boot}\u0000${seq}`;

function toRow(r: NewReportRow): Omit<ReportRow, 'id'> {
  const { report } = r;
  const resets = countResets(report);
  return {
    device_id: r.deviceId,
    boot_id: report.boot,
    seq: report.seq,
    device_time: report.at,
    received_at: r.receivedAt,
    span_ms: report.span,
    uptime_s: report.uptime,
    firmware: report.firmware,
    bytes_in: report.traffic.bytesIn,
    bytes_out: report.traffic.bytesOut,
    packets_in: report.traffic.packetsIn,
    packets_out: report.traffic.packetsOut,
    listen_count: report.listening.length,
    conn_count: report.totals.connections,
    remote_count: report.totals.remotes,
    resets_expected: resets.expected,
    resets_unexpected: resets.unexpected,
    auth_failures: report.authFailures,
    body: JSON.stringify(report),
  };
}

/**
 * Inserts reports whose (device, boot, seq) is new; returns the identity keys actually inserted, so the
 * caller tells stored from duplicate. The unique index decides, not a read-then-write race.
 */
export async function insertReports(db: AnyDb, rows: NewReportRow[]): Promise<Set<string>> {
  const inserted = new Set<string>();
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    const chunk = rows.slice(i, i + INSERT_CHUNK).map(toRow);
    const out = await t(db)
      .insertInto('telemetry_reports')
      .values(chunk)
      .onConflict((oc) => oc.columns(['device_id', 'boot_id', 'seq']).doNothing())
      .returning(['device_id', 'boot_id', 'seq'])
      .execute();
    for (const r of out) inserted.add(identityKey(r.device_id, r.boot_id, Number(r.seq)));
  }
  return inserted;
}

export async function addRejections(
  db: AnyDb,
  rows: Array<{ deviceId: string; count: number; lastCode: string; lastAt: number }>,
): Promise<void> {
  for (const r of rows) {
    await t(db)
      .insertInto('telemetry_rejections')
      .values({ device_id: r.deviceId, count: r.count, last_code: r.lastCode, last_at: r.lastAt })
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet({
          count: sql`telemetry_rejections.count + excluded.count`,
          last_code: sql`excluded.last_code`,
          last_at: sql`excluded.last_at`,
        }),
      )
      .execute();
  }
}

/** Reports of one device received at or after `since`, in arrival order, after cursor `after`. */
export async function listDeviceReports(
  db: AnyDb,
  deviceId: string,
  since: number | undefined,
  after: number | undefined,
  limit: number,
): Promise<StoredReport[]> {
  let q = t(db)
    .selectFrom('telemetry_reports')
    .select(['id', 'device_id', 'device_time', 'received_at', 'body'])
    .where('device_id', '=', deviceId);
  if (since !== undefined) q = q.where('received_at', '>=', since);
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    id: Number(r.id),
    deviceId: r.device_id,
    deviceTime: Number(r.device_time),
    receivedAt: Number(r.received_at),
    report: JSON.parse(r.body) as Report,
  }));
}

export async function countReports(db: AnyDb): Promise<number> {
  const r = await t(db)
    .selectFrom('telemetry_reports')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function topMalformed(db: AnyDb, limit: number): Promise<MalformedCount[]> {
  const rows = await t(db)
    .selectFrom('telemetry_rejections')
    .selectAll()
    .orderBy('count', 'desc')
    .orderBy('device_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    deviceId: r.device_id,
    count: Number(r.count),
    lastCode: r.last_code,
    lastAt: Number(r.last_at),
  }));
}
