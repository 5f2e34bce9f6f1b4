import { sql } from 'kysely';
import type { AnyDb, SqlDialect } from '../store.types.ts';

/** The TUF repository (keys, signed metadata, drafts awaiting offline signatures), artifacts, releases and rollouts. */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('tuf_keys')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('public_key', 'text', (c) => c.notNull())
    // AES-256-GCM under the master key; null for offline keys (the server never sees them).
    .addColumn('sealed', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tuf_keys_pk', ['role', 'key_id'])
    .execute();
  await db.schema
    .createTable('tuf_metadata')
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    // The exact bytes served: signatures are over the canonical form of `signed`, not these bytes.
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('expires', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('tuf_metadata_pk', ['role', 'version'])
    .execute();
  await db.schema
    .createTable('tuf_drafts')
    .addColumn('role', 'text', (c) => c.primaryKey())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('update_artifacts')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('length', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('releases')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('security_version', 'integer', (c) => c.notNull())
    .addColumn('notes', 'text', (c) => c.notNull())
    .addColumn('advisory', 'text', (c) => c.notNull())
    .addColumn('min_safety_score', 'integer')
    .addColumn('safety_score', 'integer')
    .addColumn('target_path', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('length', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('releases_product_version')
    .on('releases')
    .columns(['product_id', 'version'])
    .unique()
    .execute();
  // Anti-rollback at the source: two releases of a product never share a security version.
  await db.schema
    .createIndex('releases_product_secver')
    .on('releases')
    .columns(['product_id', 'security_version'])
    .unique()
    .execute();
  await db.schema
    .createTable('rollouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
    .addColumn('product_id', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('phases', 'text', (c) => c.notNull())
    .addColumn('soak_ms', 'bigint', (c) => c.notNull())
    .addColumn('max_failure_pct', 'integer', (c) => c.notNull())
    .addColumn('min_finished', 'integer', (c) => c.notNull())
    .addColumn('auto_rollback', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('phase_started_at', 'bigint', (c) => c.notNull())
    .addColumn('phase_finished_at', 'bigint')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('previous_release_id', 'text')
    .execute();
  await db.schema.createIndex('rollouts_status').on('rollouts').columns(['status', 'id']).execute();
  await db.schema
    .createTable('rollout_devices')
    .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('ordinal', 'integer', (c) => c.notNull())
    // The phase the device belongs to: cut from the ordinal at creation; late joiners take the current one.
    .addColumn('phase', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('rollout_devices_pk', ['rollout_id', 'device_id'])
    .execute();
  await sql`create index rollout_devices_device on rollout_devices (device_id)`.execute(db);
  await sql`create index rollout_devices_order on rollout_devices (rollout_id, ordinal)`.execute(db);
}
