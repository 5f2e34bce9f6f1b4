import { readdir } from 'node:fs/promises';
import { type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { FleetwardError } from '../../protocol/errors.ts';
import type { AnyDb, SqlDialect } from './store.types.ts';

/**
 * Migrations are the files `migrations/NNNN-name.ts`, applied in name order, each once. One set serves
 * both dialects: a migration exports `up(db, dialect)` and branches only where SQL differs.
 */
export interface FleetwardMigration {
  up(db: AnyDb, dialect: SqlDialect): Promise<void>;
}

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

class DirectoryProvider implements MigrationProvider {
  readonly dialect: SqlDialect;
  constructor(dialect: SqlDialect) {
    this.dialect = dialect;
  }
  async getMigrations(): Promise<Record<string, Migration>> {
    const names = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}-[a-z0-9-]+\.ts$/.test(f)).sort();
    const out: Record<string, Migration> = {};
    for (const file of names) {
      const mod = (await import(new URL(file, MIGRATIONS_DIR).href)) as FleetwardMigration;
      const dialect = this.dialect;
      out[file.replace(/\.ts$/, '')] = { up: (db) => mod.up(db as AnyDb, dialect) };
    }
    return out;
  }
}

export async function migrateToLatest(db: AnyDb, dialect: SqlDialect): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new DirectoryProvider(dialect),
    migrationTableName: 'fleetward_migration',
    migrationLockTableName: 'fleetward_migration_lock',
    // On PostgreSQL, Kysely looks for its tables in every schema unless told which: name the one the
    // connection uses (search_path), so databases that share a server in separate schemas never meet.
    ...(dialect === 'postgres' ? { migrationTableSchema: await currentSchema(db) } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw new FleetwardError('STORE_MIGRATION_FAILED', 'database migration failed', { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

async function currentSchema(db: AnyDb): Promise<string> {
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  return rows[0]?.schema ?? 'public';
}
