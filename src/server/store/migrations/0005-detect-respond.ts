import { sql } from 'kysely';
import type { AnyDb, SqlDialect } from '../store.types.ts';

/**
 * Detection and response: security profiles, the detector's per-device learned state, alarms with
 * their suppressions, mitigations applied, and fleet-wide emergency actions awaiting a second admin.
 * Timestamps are epoch milliseconds; JSON documents are text (one schema for both dialects).
 */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('security_profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('targets', 'text', (c) => c.notNull())
    .addColumn('behaviours', 'text', (c) => c.notNull())
    .addColumn('mitigations', 'text', (c) => c.notNull())
    .addColumn('notify_url', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // Baselines, learned values and consecutive counts: what makes detection resume after a restart.
  await db.schema
    .createTable('detect_device_state')
    .addColumn('device_id', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('alarms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('profile_id', 'text', (c) => c.notNull())
    .addColumn('behaviour', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('dedup_key', 'text', (c) => c.notNull())
    .addColumn('raised_at', 'bigint', (c) => c.notNull())
    .addColumn('last_raised_at', 'bigint', (c) => c.notNull())
    .addColumn('raise_count', 'integer', (c) => c.notNull())
    .addColumn('acknowledged_at', 'bigint')
    .addColumn('acknowledged_by', 'text')
    .addColumn('cleared_at', 'bigint')
    .addColumn('cleared_by', 'text')
    .addColumn('clear_reason', 'text')
    .addColumn('suppressed_until', 'bigint')
    .addColumn('suppression_reason', 'text')
    .addColumn('evidence', 'text', (c) => c.notNull())
    .execute();
  // De-duplication is a database guarantee, not a race: one open alarm per (device, profile, behaviour).
  await sql`create unique index alarms_open on alarms (dedup_key) where state <> 'cleared'`.execute(db);
  await db.schema.createIndex('alarms_state').on('alarms').columns(['state', 'id']).execute();
  await db.schema.createIndex('alarms_device').on('alarms').columns(['device_id', 'id']).execute();

  await db.schema
    .createTable('alarm_suppressions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('dedup_key', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('until', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('alarm_suppressions_key')
    .on('alarm_suppressions')
    .columns(['dedup_key', 'until'])
    .execute();

  await db.schema
    .createTable('mitigations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('alarm_id', 'text')
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('mitigations_device').on('mitigations').columns(['device_id', 'id']).execute();

  await db.schema
    .createTable('emergency_actions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text', (c) => c.notNull())
    .addColumn('requested_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('result', 'text')
    .execute();
}
