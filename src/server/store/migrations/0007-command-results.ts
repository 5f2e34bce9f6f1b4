import type { AnyDb, SqlDialect } from '../store.types.ts';

/** What devices answered to commands (`devices/{id}/command-results`), for operators to see. */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('command_results')
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('command_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('code', 'text')
    .addColumn('detail', 'text')
    .addColumn('device_time', 'bigint', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    // A device re-sending a result (QoS 1 redelivery) does not make a second row.
    .addPrimaryKeyConstraint('command_results_pk', ['device_id', 'command_id'])
    .execute();
  await db.schema
    .createIndex('command_results_received')
    .on('command_results')
    .columns(['device_id', 'received_at'])
    .execute();
}
