import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import { type SqliteDatabase, SqliteDialect, type SqliteStatement } from 'kysely';

/**
 * Kysely's SQLite dialect speaks better-sqlite3's interface; this adapts Node's built-in
 * `node:sqlite` to it, so the embedded default needs no native add-on.
 */
function adaptStatement(stmt: StatementSync): SqliteStatement {
  const params = (p: ReadonlyArray<unknown>) => p as SQLInputValue[];
  return {
    // A statement returns rows when it has result columns (SELECT, or INSERT … RETURNING).
    reader: stmt.columns().length > 0,
    all: (p) => stmt.all(...params(p)),
    run: (p) => stmt.run(...params(p)),
    iterate: (p) => stmt.iterate(...params(p)),
  };
}

export function openSqlite(path: string): { dialect: SqliteDialect; raw: DatabaseSync } {
  const raw = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  // WAL lets readers proceed during a write; NORMAL sync is durable across process crashes in WAL mode.
  raw.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  const database: SqliteDatabase = {
    close: () => raw.close(),
    prepare: (sql) => adaptStatement(raw.prepare(sql)),
  };
  return { dialect: new SqliteDialect({ database }), raw };
}
