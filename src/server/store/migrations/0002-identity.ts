import type { AnyDb, SqlDialect } from '../store.types.ts';

/** Device identity: enrollment tokens, issued certificates, manufacturer CAs. Timestamps are epoch ms. */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await db.schema
    .createTable('enrollment_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
    .addColumn('device_id', 'text')
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('used_by', 'text')
    .execute();
  await db.schema
    .createIndex('enrollment_tokens_product')
    .on('enrollment_tokens')
    .columns(['product_id', 'id'])
    .execute();

  // No foreign key to devices: a certificate's record (and its revocation) must outlive the device row.
  await db.schema
    .createTable('device_certificates')
    .addColumn('serial', 'text', (c) => c.primaryKey())
    .addColumn('device_id', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('not_after', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('retire_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoke_reason', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('pem', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('device_certificates_device').on('device_certificates').columns(['device_id']).execute();
  await db.schema
    .createIndex('device_certificates_status')
    .on('device_certificates')
    .columns(['status', 'retire_at'])
    .execute();

  await db.schema
    .createTable('manufacturer_cas')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('product_id', 'text', (c) => c.notNull().references('products.id'))
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('fingerprint', 'text', (c) => c.notNull().unique())
    .addColumn('auto_register', 'integer', (c) => c.notNull())
    .addColumn('pem', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}
