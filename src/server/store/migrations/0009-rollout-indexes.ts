import { sql } from 'kysely';
import type { AnyDb, SqlDialect } from '../store.types.ts';

/**
 * Rollout evaluation counts devices per state and phase and fetches only the devices due a command.
 * This index covers those queries (state first: "finished", "pending in phases ≤ p" are range seeks),
 * so a status message at 100k devices does not read the whole rollout.
 */
export async function up(db: AnyDb, _dialect: SqlDialect): Promise<void> {
  await sql`create index rollout_devices_state on rollout_devices (rollout_id, state, phase, ordinal)`.execute(db);
}
