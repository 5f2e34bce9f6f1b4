import type { AnyDb } from '../store/store.types.ts';
import type { ApiTokenInfo, Operator, Role } from './model.ts';

export type AccessTables = {
  settings: { key: string; value: string };
  operators: { id: string; name: string; role: string; created_at: number; disabled_at: number | null };
  api_tokens: {
    id: string;
    operator_id: string;
    name: string;
    secret_hash: string;
    created_at: number;
    expires_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
  };
};

const t = (db: AnyDb) => db.withTables<AccessTables>();
type OperatorRow = AccessTables['operators'];
type TokenRow = AccessTables['api_tokens'];

const toOperator = (r: OperatorRow): Operator => ({
  id: r.id,
  name: r.name,
  role: r.role as Role,
  createdAt: r.created_at,
  disabledAt: r.disabled_at,
});

const toToken = (r: TokenRow): ApiTokenInfo => ({
  id: r.id,
  operatorId: r.operator_id,
  name: r.name,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

export async function getSetting(db: AnyDb, key: string): Promise<string | undefined> {
  const row = await t(db).selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return row?.value;
}

export async function putSetting(db: AnyDb, key: string, value: string): Promise<void> {
  await t(db)
    .insertInto('settings')
    .values({ key, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
    .execute();
}

export async function deleteSetting(db: AnyDb, key: string): Promise<void> {
  await t(db).deleteFrom('settings').where('key', '=', key).execute();
}

export async function countOperators(db: AnyDb, role?: Role): Promise<number> {
  let q = t(db)
    .selectFrom('operators')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('disabled_at', 'is', null);
  if (role) q = q.where('role', '=', role);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

export async function insertOperator(db: AnyDb, op: Operator): Promise<void> {
  await t(db)
    .insertInto('operators')
    .values({ id: op.id, name: op.name, role: op.role, created_at: op.createdAt, disabled_at: op.disabledAt })
    .execute();
}

export async function findOperator(db: AnyDb, id: string): Promise<Operator | undefined> {
  const r = await t(db).selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toOperator(r);
}

export async function findOperatorByName(db: AnyDb, name: string): Promise<Operator | undefined> {
  const r = await t(db).selectFrom('operators').selectAll().where('name', '=', name).executeTakeFirst();
  return r && toOperator(r);
}

export async function listOperators(db: AnyDb): Promise<Operator[]> {
  return (await t(db).selectFrom('operators').selectAll().orderBy('name').execute()).map(toOperator);
}

export async function updateOperator(
  db: AnyDb,
  id: string,
  patch: { role?: Role; disabled_at?: number | null },
): Promise<void> {
  await t(db).updateTable('operators').set(patch).where('id', '=', id).execute();
}

export async function insertToken(db: AnyDb, info: ApiTokenInfo, secretHash: string): Promise<void> {
  await t(db)
    .insertInto('api_tokens')
    .values({
      id: info.id,
      operator_id: info.operatorId,
      name: info.name,
      secret_hash: secretHash,
      created_at: info.createdAt,
      expires_at: info.expiresAt,
      last_used_at: null,
      revoked_at: null,
    })
    .execute();
}

export async function findTokenWithHash(
  db: AnyDb,
  id: string,
): Promise<{ info: ApiTokenInfo; hash: string } | undefined> {
  const r = await t(db).selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return r && { info: toToken(r), hash: r.secret_hash };
}

export async function listTokens(db: AnyDb, operatorId?: string): Promise<ApiTokenInfo[]> {
  let q = t(db).selectFrom('api_tokens').selectAll();
  if (operatorId) q = q.where('operator_id', '=', operatorId);
  return (await q.orderBy('created_at').execute()).map(toToken);
}

export async function revokeToken(db: AnyDb, id: string, at: number): Promise<void> {
  await t(db).updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).execute();
}

export async function revokeTokensOf(db: AnyDb, operatorId: string, at: number): Promise<void> {
  await t(db)
    .updateTable('api_tokens')
    .set({ revoked_at: at })
    .where('operator_id', '=', operatorId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function touchToken(db: AnyDb, id: string, at: number): Promise<void> {
  await t(db).updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
}
