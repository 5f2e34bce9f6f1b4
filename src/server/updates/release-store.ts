import type { AnyDb } from '../store/store.types.ts';
import type { Advisory, Release, ReleaseState, StoredArtifact } from './model.ts';

export type ReleaseTables = {
  update_artifacts: { sha256: string; length: number; created_at: number };
  releases: {
    id: string;
    product_id: string;
    version: string;
    security_version: number;
    notes: string;
    advisory: string;
    min_safety_score: number | null;
    safety_score: number | null;
    target_path: string;
    sha256: string;
    length: number;
    state: string;
    created_at: number;
    created_by: string;
  };
};

type Row = ReleaseTables['releases'];
const t = (db: AnyDb) => db.withTables<ReleaseTables>();

const toRelease = (r: Row): Release => ({
  id: r.id,
  productId: r.product_id,
  version: r.version,
  securityVersion: Number(r.security_version),
  notes: r.notes,
  advisory: JSON.parse(r.advisory) as Advisory,
  minSafetyScore: r.min_safety_score === null ? null : Number(r.min_safety_score),
  safetyScore: r.safety_score === null ? null : Number(r.safety_score),
  targetPath: r.target_path,
  sha256: r.sha256,
  length: Number(r.length),
  state: r.state as ReleaseState,
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
});

export async function insertArtifact(db: AnyDb, a: StoredArtifact, now: number): Promise<void> {
  await t(db)
    .insertInto('update_artifacts')
    .values({ sha256: a.sha256, length: a.length, created_at: now })
    .onConflict((oc) => oc.column('sha256').doNothing())
    .execute();
}

export async function findArtifact(db: AnyDb, sha256: string): Promise<StoredArtifact | undefined> {
  const r = await t(db).selectFrom('update_artifacts').selectAll().where('sha256', '=', sha256).executeTakeFirst();
  return r && { sha256: r.sha256, length: Number(r.length) };
}

export async function insertRelease(db: AnyDb, r: Release): Promise<void> {
  await t(db)
    .insertInto('releases')
    .values({
      id: r.id,
      product_id: r.productId,
      version: r.version,
      security_version: r.securityVersion,
      notes: r.notes,
      advisory: JSON.stringify(r.advisory),
      min_safety_score: r.minSafetyScore,
      safety_score: r.safetyScore,
      target_path: r.targetPath,
      sha256: r.sha256,
      length: r.length,
      state: r.state,
      created_at: r.createdAt,
      created_by: r.createdBy,
    })
    .execute();
}

export async function findRelease(db: AnyDb, id: string): Promise<Release | undefined> {
  const r = await t(db).selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toRelease(r);
}

export async function findReleaseByVersion(
  db: AnyDb,
  productId: string,
  version: string,
): Promise<Release | undefined> {
  const r = await t(db)
    .selectFrom('releases')
    .selectAll()
    .where('product_id', '=', productId)
    .where('version', '=', version)
    .executeTakeFirst();
  return r && toRelease(r);
}

/** Releases of a product, oldest security version first. */
export async function listProductReleases(db: AnyDb, productId: string): Promise<Release[]> {
  const rows = await t(db)
    .selectFrom('releases')
    .selectAll()
    .where('product_id', '=', productId)
    .orderBy('security_version')
    .execute();
  return rows.map(toRelease);
}

export async function listReleases(
  db: AnyDb,
  filter: { productId?: string | undefined },
  after: string | undefined,
  limit: number,
): Promise<Release[]> {
  let q = t(db).selectFrom('releases').selectAll();
  if (filter.productId) q = q.where('product_id', '=', filter.productId);
  if (after) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(limit).execute();
  return rows.map(toRelease);
}

export async function highestSecurityVersion(db: AnyDb, productId: string): Promise<number | null> {
  const r = await t(db)
    .selectFrom('releases')
    .select((eb) => eb.fn.max('security_version').as('max'))
    .where('product_id', '=', productId)
    .executeTakeFirst();
  return r?.max === null || r?.max === undefined ? null : Number(r.max);
}

export async function setReleaseState(db: AnyDb, id: string, state: ReleaseState): Promise<void> {
  await t(db).updateTable('releases').set({ state }).where('id', '=', id).execute();
}

export async function setSafetyScore(db: AnyDb, id: string, score: number): Promise<void> {
  await t(db).updateTable('releases').set({ safety_score: score }).where('id', '=', id).execute();
}

export async function productsAwaitingSignature(db: AnyDb): Promise<string[]> {
  const rows = await t(db)
    .selectFrom('releases')
    .select('product_id')
    .distinct()
    .where('state', '=', 'awaiting-signature')
    .execute();
  return rows.map((r) => r.product_id);
}
