import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { openStore } from '../store/open-store.ts';
import type { SqlDialect, Store } from '../store/store.types.ts';

/** The PostgreSQL the storage tests use: FLEETWARD_TEST_PG, else this machine's server (trust auth, database `test`). */
export const TEST_PG_URL = process.env.FLEETWARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgReachable: Promise<string | null> | undefined;

/** Null when reachable, else the reason. In CI an unreachable server is a failure, not a skip. */
export function postgresUnavailable(): Promise<string | null> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (err) {
      if (process.env.CI) throw new Error(`PostgreSQL at ${TEST_PG_URL} is required in CI: ${(err as Error).message}`);
      return `PostgreSQL not reachable at ${TEST_PG_URL}: ${(err as Error).message}`;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgReachable;
}

/**
 * A fresh, empty database for one test: a temp SQLite file, or a new PostgreSQL schema dropped afterwards.
 * Returns the database URL to give `serve`, so whole-server tests can use it too.
 */
export async function freshDatabase(t: TestContext, dialect: SqlDialect): Promise<{ url: string; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fleetward-test-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  if (dialect === 'sqlite') return { url: '', dataDir };
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  t.after(async () => {
    const c = new pg.Client({ connectionString: TEST_PG_URL });
    await c.connect();
    await c.query(`drop schema ${schema} cascade`);
    await c.end();
  });
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), dataDir };
}

/** Opens a migrated store on a fresh database, closed when the test ends. */
export async function freshStore(t: TestContext, dialect: SqlDialect): Promise<Store> {
  const { url, dataDir } = await freshDatabase(t, dialect);
  const store = await openStore({ databaseUrl: url, dataDir });
  t.after(() => store.close());
  return store;
}

export const DIALECTS: SqlDialect[] = ['sqlite', 'postgres'];

/**
 * Runs `body` once per dialect as a subtest. PostgreSQL subtests skip with the reason when no server is
 * reachable outside CI.
 */
export async function forEachDialect(
  t: TestContext,
  body: (t: TestContext, dialect: SqlDialect) => Promise<void>,
): Promise<void> {
  for (const dialect of DIALECTS) {
    await t.test(dialect, async (st) => {
      if (dialect === 'postgres') {
        const why = await postgresUnavailable();
        if (why) return st.skip(why);
      }
      await body(st, dialect);
    });
  }
}
