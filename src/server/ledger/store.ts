import type { AnyDb, SqlDialect } from '../store/store.types.ts';

export type LedgerTables = {
  ledger: {
    seq: number;
    at: number;
    actor: string;
    action: string;
    target: string | null;
    source: string | null;
    result: string;
    details: string;
    prev_hash: string;
    hash: string;
  };
  ledger_head: { id: number; seq: number; hash: string };
};

export type LedgerRow = LedgerTables['ledger'];

const t = (db: AnyDb) => db.withTables<LedgerTables>();

/** Reads the chain head; on PostgreSQL it row-locks it until the transaction ends (SQLite writers are serial already). */
export async function lockHead(tx: AnyDb, dialect: SqlDialect): Promise<{ seq: number; hash: string }> {
  let q = t(tx).selectFrom('ledger_head').select(['seq', 'hash']).where('id', '=', 1);
  if (dialect === 'postgres') q = q.forUpdate();
  return q.executeTakeFirstOrThrow();
}

export async function insertEntry(tx: AnyDb, row: LedgerRow): Promise<void> {
  await t(tx).insertInto('ledger').values(row).execute();
  await t(tx).updateTable('ledger_head').set({ seq: row.seq, hash: row.hash }).where('id', '=', 1).execute();
}

export async function readHead(db: AnyDb): Promise<{ seq: number; hash: string }> {
  return t(db).selectFrom('ledger_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
}

export async function readBatch(db: AnyDb, afterSeq: number, limit: number): Promise<LedgerRow[]> {
  return t(db).selectFrom('ledger').selectAll().where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
}

export interface LedgerQuery {
  /** Newest first: entries with seq below this. */
  before?: number | undefined;
  limit: number;
  target?: string | undefined;
  action?: string | undefined;
  actor?: string | undefined;
}

export async function queryEntries(db: AnyDb, q: LedgerQuery): Promise<LedgerRow[]> {
  let sel = t(db).selectFrom('ledger').selectAll();
  if (q.before !== undefined) sel = sel.where('seq', '<', q.before);
  if (q.target) sel = sel.where('target', '=', q.target);
  if (q.action) sel = sel.where('action', '=', q.action);
  if (q.actor) sel = sel.where('actor', '=', q.actor);
  return sel.orderBy('seq', 'desc').limit(q.limit).execute();
}
