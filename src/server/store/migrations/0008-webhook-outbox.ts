import type { AnyDb, SqlDialect } from '../store.types.ts';

/**
 * The webhook outbox (transactional outbox pattern): a notification is a row written in the same
 * transaction as the alarm that causes it, then delivered by a worker, so a restart neither loses a
 * pending one nor sends one for a change that was rolled back.
 */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('alarm_id', 'text')
    .addColumn('device_id', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    // pending | delivered | rejected | exhausted
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // The worker's query: due pending deliveries, oldest first; the operators' list filters on status.
  await db.schema
    .createIndex('webhook_deliveries_due')
    .on('webhook_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
}
