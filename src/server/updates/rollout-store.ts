import type { AnyDb } from '../store/store.types.ts';
import type { Rollout, RolloutStatus, RolloutTarget } from './model.ts';

export type RolloutTables = {
  rollouts: {
    id: string;
    release_id: string;
    product_id: string;
    target: string;
    phases: string;
    soak_ms: number;
    max_failure_pct: number;
    min_finished: number;
    auto_rollback: number;
    status: string;
    phase: number;
    phase_started_at: number;
    phase_finished_at: number | null;
    reason: string | null;
    created_at: number;
    updated_at: number;
    created_by: string;
    previous_release_id: string | null;
  };
  rollout_devices: {
    rollout_id: string;
    device_id: string;
    ordinal: number;
    phase: number;
    state: string;
    reason: string | null;
    updated_at: number;
  };
};

type Row = RolloutTables['rollouts'];
const t = (db: AnyDb) => db.withTables<RolloutTables>();

const toRollout = (r: Row): Rollout => ({
  id: r.id,
  releaseId: r.release_id,
  target: JSON.parse(r.target) as RolloutTarget,
  phases: JSON.parse(r.phases) as number[],
  soakMs: Number(r.soak_ms),
  maxFailurePct: Number(r.max_failure_pct),
  minFinished: Number(r.min_finished),
  autoRollback: Number(r.auto_rollback) === 1,
  status: r.status as RolloutStatus,
  phase: Number(r.phase),
  phaseStartedAt: Number(r.phase_started_at),
  phaseFinishedAt: r.phase_finished_at === null ? null : Number(r.phase_finished_at),
  reason: r.reason,
  previousReleaseId: r.previous_release_id,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  createdBy: r.created_by,
});

export async function insertRollout(db: AnyDb, r: Rollout): Promise<void> {
  await t(db)
    .insertInto('rollouts')
    .values({
      id: r.id,
      release_id: r.releaseId,
      product_id: r.target.productId,
      target: JSON.stringify(r.target),
      phases: JSON.stringify(r.phases),
      soak_ms: r.soakMs,
      max_failure_pct: r.maxFailurePct,
      min_finished: r.minFinished,
      auto_rollback: r.autoRollback ? 1 : 0,
      status: r.status,
      phase: r.phase,
      phase_started_at: r.phaseStartedAt,
      phase_finished_at: r.phaseFinishedAt,
      reason: r.reason,
      created_at: r.createdAt,
      updated_at: r.updatedAt,
      created_by: r.createdBy,
      previous_release_id: r.previousReleaseId,
    })
    .execute();
}

/** Writes the mutable fields of a rollout. */
export async function updateRollout(db: AnyDb, r: Rollout): Promise<void> {
  await t(db)
    .updateTable('rollouts')
    .set({
      status: r.status,
      phase: r.phase,
      phase_started_at: r.phaseStartedAt,
      phase_finished_at: r.phaseFinishedAt,
      reason: r.reason,
      updated_at: r.updatedAt,
    })
    .where('id', '=', r.id)
    .execute();
}

export async function findRollout(db: AnyDb, id: string): Promise<Rollout | undefined> {
  const r = await t(db).selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toRollout(r);
}

export async function listRollouts(
  db: AnyDb,
  filter: { status?: RolloutStatus[] | undefined; productId?: string | undefined },
  after: string | undefined,
  limit: number,
): Promise<Rollout[]> {
  let q = t(db).selectFrom('rollouts').selectAll();
  if (filter.status?.length) q = q.where('status', 'in', filter.status);
  if (filter.productId) q = q.where('product_id', '=', filter.productId);
  if (after) q = q.where('id', '>', after);
  return (await q.orderBy('id').limit(limit).execute()).map(toRollout);
}
