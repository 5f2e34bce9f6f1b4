import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { FleetwardError } from '../../protocol/errors.ts';
import { migrateToLatest } from './migrate.ts';
import { openSqlite } from './sqlite-dialect.ts';
import type { AnyDb, SqlDialect, Store } from './store.types.ts';

export type StoreErrorCode = 'STORE_UNREACHABLE' | 'STORE_URL_INVALID' | 'STORE_MIGRATION_FAILED';

// PostgreSQL returns int8 as strings; our int8 columns hold millisecond timestamps and counters,
// all far below 2^53, so numbers are exact.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenStoreOptions {
  /** `postgres://…` for PostgreSQL; empty for the embedded SQLite file in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

/** Opens the database and applies every pending migration. Throws STORE_* codes. */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const { db, dialect } = connect(options);
  const store = makeStore(db, dialect);
  try {
    await migrateToLatest(db, dialect);
  } catch (err) {
    await db.destroy().catch(() => {});
    if (err instanceof FleetwardError) throw err;
    throw new FleetwardError<StoreErrorCode>('STORE_MIGRATION_FAILED', 'database migration failed', { cause: err });
  }
  return store;
}

function connect(options: OpenStoreOptions): { db: AnyDb; dialect: SqlDialect } {
  const url = options.databaseUrl?.trim();
  if (!url || url.startsWith('sqlite:')) {
    const file = url ? url.slice('sqlite:'.length) : join(options.dataDir, 'fleetward.db');
    if (!url) mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const { dialect } = openSqlite(file);
    return { db: new Kysely({ dialect }), dialect: 'sqlite' };
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new FleetwardError<StoreErrorCode>(
      'STORE_URL_INVALID',
      'database URL must start with postgres:// or sqlite:',
    );
  }
  const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
  // An idle client that loses its server emits 'error'; without a listener that would crash the process.
  pool.on('error', () => {});
  return { db: new Kysely({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}

function makeStore(db: AnyDb, dialect: SqlDialect): Store {
  return {
    dialect,
    db,
    transaction: (fn) => db.transaction().execute((tx) => fn(tx)),
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}
