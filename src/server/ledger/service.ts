import { createHash } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import { canonicalJson } from './canonical-json.ts';
import type { LedgerEntry, LedgerEvent, LedgerVerification } from './model.ts';
import { insertEntry, type LedgerQuery, type LedgerRow, lockHead, queryEntries, readBatch, readHead } from './store.ts';

const GENESIS_HASH = '0'.repeat(64);
const VERIFY_BATCH = 1000;

/**
 * The tamper-evident ledger: each entry's hash covers its content and the previous hash, so altering,
 * removing or reordering an entry breaks the chain from that point on.
 */
export class LedgerService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** Appends inside the caller's transaction, so the entry lands exactly when the change does. */
  async appendIn(tx: AnyDb, event: LedgerEvent): Promise<LedgerEntry> {
    const head = await lockHead(tx, this.#store.dialect);
    const row = makeRow(head.seq + 1, this.#clock.now(), event, head.hash);
    await insertEntry(tx, row);
    return toEntry(row);
  }

  /** Appends in a transaction of its own (attempts that changed nothing: rejections, denials). */
  async record(event: LedgerEvent): Promise<LedgerEntry> {
    return this.#store.transaction((tx) => this.appendIn(tx, event));
  }

  async list(query: LedgerQuery): Promise<LedgerEntry[]> {
    return (await queryEntries(this.#store.db, query)).map(toEntry);
  }

  /** Walks the whole chain; names the first entry altered or removed. */
  async verify(): Promise<LedgerVerification> {
    const db = this.#store.db;
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    let checked = 0;
    for (;;) {
      const rows = await readBatch(db, expectedSeq - 1, VERIFY_BATCH);
      for (const row of rows) {
        if (row.seq !== expectedSeq) return { ok: false, checked, firstBad: { seq: expectedSeq, problem: 'removed' } };
        // A self-consistent entry whose link does not match: the entry before it was rewritten (hash and all).
        if (row.prev_hash !== prevHash)
          return { ok: false, checked, firstBad: { seq: row.seq - 1, problem: 'altered' } };
        if (hashRow(row) !== row.hash) return { ok: false, checked, firstBad: { seq: row.seq, problem: 'altered' } };
        prevHash = row.hash;
        expectedSeq++;
        checked++;
      }
      if (rows.length < VERIFY_BATCH) break;
    }
    // Entries deleted from the end leave an intact but shorter chain: the head row still remembers them.
    const head = await readHead(db);
    if (head.seq !== checked || head.hash !== prevHash) {
      return { ok: false, checked, firstBad: { seq: checked + 1, problem: 'removed' } };
    }
    return { ok: true, checked };
  }
}

function makeRow(seq: number, at: number, e: LedgerEvent, prevHash: string): LedgerRow {
  const row: LedgerRow = {
    seq,
    at,
    actor: e.actor,
    action: e.action,
    target: e.target ?? null,
    source: e.source ?? null,
    result: e.result,
    details: canonicalJson(e.details ?? {}),
    prev_hash: prevHash,
    hash: '',
  };
  row.hash = hashRow(row);
  return row;
}

function hashRow(row: LedgerRow): string {
  const { hash: _hash, ...content } = row;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    source: row.source,
    result: row.result as LedgerEntry['result'],
    details: JSON.parse(row.details) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
