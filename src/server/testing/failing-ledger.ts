import { type LedgerEntry, type LedgerEvent, LedgerService } from '../ledger/index.ts';
import type { AnyDb } from '../store/store.types.ts';

/**
 * The real ledger, except that an append of the armed action throws: a write failing in the middle of
 * a transaction (disk full, lost connection, crash), to prove a state change lands whole or not at all.
 */
export class FailingLedger extends LedgerService {
  failOn: string | null = null;

  override async appendIn(tx: AnyDb, event: LedgerEvent): Promise<LedgerEntry> {
    if (event.action === this.failOn) throw new Error(`injected failure at ${event.action}`);
    return super.appendIn(tx, event);
  }
}
