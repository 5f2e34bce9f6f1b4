import { sql } from 'kysely';
import type { AnyDb, SqlDialect } from '../store.types.ts';

/**
 * Device reports (telemetry/): the columns detection reads (deltas, counts) beside the canonical body,
 * and malformed-report counts per device. Timestamps are epoch milliseconds.
 */
export async function up(db: AnyDb, dialect: SqlDialect): Promise<void> {
  // A surrogate key in arrival order: keyset pagination and "everything after X" scans walk it.
  await db.schema
    .createTable('telemetry_reports')
    .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
      dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
    )
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('boot_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('device_time', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('span_ms', 'bigint', (c) => c.notNull())
    .addColumn('uptime_s', 'bigint', (c) => c.notNull())
    .addColumn('firmware', 'text', (c) => c.notNull())
    .addColumn('bytes_in', 'bigint', (c) => c.notNull())
    .addColumn('bytes_out', 'bigint', (c) => c.notNull())
    .addColumn('packets_in', 'bigint', (c) => c.notNull())
    .addColumn('packets_out', 'bigint', (c) => c.notNull())
    .addColumn('listen_count', 'integer', (c) => c.notNull())
    .addColumn('conn_count', 'bigint', (c) => c.notNull())
    .addColumn('remote_count', 'bigint', (c) => c.notNull())
    .addColumn('resets_expected', 'integer', (c) => c.notNull())
    .addColumn('resets_unexpected', 'integer', (c) => c.notNull())
    .addColumn('auth_failures', 'bigint', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .execute();
  // The report's identity: a report re-sent after a lost PUBACK hits this and is stored once.
  await db.schema
    .createIndex('telemetry_reports_identity')
    .on('telemetry_reports')
    .columns(['device_id', 'boot_id', 'seq'])
    .unique()
    .execute();
  await sql`create index telemetry_reports_device on telemetry_reports (device_id, id)`.execute(db);
  await sql`create index telemetry_reports_received on telemetry_reports (received_at)`.execute(db);

  // Malformed reports are a signal in themselves (fuzzing, a tampered agent): counted per device.
  await db.schema
    .createTable('telemetry_rejections')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addColumn('last_code', 'text', (c) => c.notNull())
    .addColumn('last_at', 'bigint', (c) => c.notNull())
    .execute();
}
