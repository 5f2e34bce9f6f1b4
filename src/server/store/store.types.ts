import type { Kysely } from 'kysely';

export type SqlDialect = 'sqlite' | 'postgres';

/**
 * The database as every domain sees it. Domains declare their own table types and narrow with
 * `db.withTables<TheirTables>()`, so no module needs to know the whole schema.
 */
// biome-ignore lint/complexity/noBannedTypes: the empty schema is the point; domains add their tables.
export type AnyDb = Kysely<{}>;

export interface Store {
  readonly dialect: SqlDialect;
  readonly db: AnyDb;
  /** Runs `fn` in one transaction: all of its writes land, or none. */
  transaction<T>(fn: (tx: AnyDb) => Promise<T>): Promise<T>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
