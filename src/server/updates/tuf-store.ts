import type { AnyDb } from '../store/store.types.ts';
import type { TufKeyInfo, TufPublicKey } from './model.ts';

export type TufTables = {
  tuf_keys: { key_id: string; role: string; public_key: string; sealed: string | null; created_at: number };
  tuf_metadata: { role: string; version: number; body: string; expires: number; created_at: number };
  tuf_drafts: { role: string; body: string; created_at: number };
};

const t = (db: AnyDb) => db.withTables<TufTables>();

export interface StoredKey extends TufKeyInfo {
  sealed: string | null;
}

export async function insertKey(db: AnyDb, key: StoredKey): Promise<void> {
  await t(db)
    .insertInto('tuf_keys')
    .values({
      key_id: key.keyId,
      role: key.role,
      public_key: JSON.stringify(key.publicKey),
      sealed: key.sealed,
      created_at: key.createdAt,
    })
    .onConflict((oc) => oc.columns(['role', 'key_id']).doNothing())
    .execute();
}

export async function listKeys(db: AnyDb, role?: string): Promise<StoredKey[]> {
  let q = t(db).selectFrom('tuf_keys').selectAll();
  if (role !== undefined) q = q.where('role', '=', role);
  const rows = await q.orderBy('role').orderBy('created_at').orderBy('key_id').execute();
  return rows.map((r) => ({
    keyId: r.key_id,
    role: r.role,
    publicKey: JSON.parse(r.public_key) as TufPublicKey,
    online: r.sealed !== null,
    sealed: r.sealed,
    createdAt: Number(r.created_at),
  }));
}

export async function insertMetadata(
  db: AnyDb,
  row: { role: string; version: number; body: string; expires: number; createdAt: number },
): Promise<void> {
  await t(db)
    .insertInto('tuf_metadata')
    .values({ role: row.role, version: row.version, body: row.body, expires: row.expires, created_at: row.createdAt })
    .execute();
}

/** The newest version of a role's metadata, or a given version. */
export async function findMetadata(
  db: AnyDb,
  role: string,
  version?: number,
): Promise<{ version: number; body: string; expires: number } | undefined> {
  let q = t(db).selectFrom('tuf_metadata').select(['version', 'body', 'expires']).where('role', '=', role);
  q = version === undefined ? q.orderBy('version', 'desc').limit(1) : q.where('version', '=', version);
  const r = await q.executeTakeFirst();
  return r && { version: Number(r.version), body: r.body, expires: Number(r.expires) };
}

/** Newest version of every role. */
export async function latestVersions(db: AnyDb): Promise<Map<string, { version: number; expires: number }>> {
  const rows = await t(db)
    .selectFrom('tuf_metadata')
    .select(['role', 'version', 'expires'])
    .orderBy('role')
    .orderBy('version')
    .execute();
  const out = new Map<string, { version: number; expires: number }>();
  for (const r of rows) out.set(r.role, { version: Number(r.version), expires: Number(r.expires) });
  return out;
}

export async function findDraft(db: AnyDb, role: string): Promise<string | undefined> {
  const r = await t(db).selectFrom('tuf_drafts').select('body').where('role', '=', role).executeTakeFirst();
  return r?.body;
}

export async function listDraftRoles(db: AnyDb): Promise<string[]> {
  const rows = await t(db).selectFrom('tuf_drafts').select('role').orderBy('role').execute();
  return rows.map((r) => r.role);
}

export async function saveDraft(db: AnyDb, role: string, body: string, now: number): Promise<void> {
  await t(db).deleteFrom('tuf_drafts').where('role', '=', role).execute();
  await t(db).insertInto('tuf_drafts').values({ role, body, created_at: now }).execute();
}

export async function deleteDraft(db: AnyDb, role: string): Promise<void> {
  await t(db).deleteFrom('tuf_drafts').where('role', '=', role).execute();
}
