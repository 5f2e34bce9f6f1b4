import type { AnyDb } from '../store/store.types.ts';
import type { DeviceUpdateState, RolloutDevice, StateCount } from './model.ts';
import type { RolloutTables } from './rollout-store.ts';

/**
 * The devices of rollouts: membership, per-device state, and the aggregates evaluation reads. Nothing
 * here returns a whole rollout's devices: counts come from GROUP BY over the index
 * (rollout_id, state, phase, ordinal) of migration 0009, device rows in bounded pages.
 */

const t = (db: AnyDb) => db.withTables<RolloutTables>();

export async function insertRolloutDevices(db: AnyDb, rows: RolloutDevice[]): Promise<void> {
  // Chunked: SQLite allows 32766 bound parameters per statement.
  for (let i = 0; i < rows.length; i += 500) {
    await t(db)
      .insertInto('rollout_devices')
      .values(
        rows.slice(i, i + 500).map((d) => ({
          rollout_id: d.rolloutId,
          device_id: d.deviceId,
          ordinal: d.ordinal,
          phase: d.phase,
          state: d.state,
          reason: d.reason,
          updated_at: d.updatedAt,
        })),
      )
      .onConflict((oc) => oc.columns(['rollout_id', 'device_id']).doNothing())
      .execute();
  }
}

const toDevice = (r: RolloutTables['rollout_devices']): RolloutDevice => ({
  rolloutId: r.rollout_id,
  deviceId: r.device_id,
  ordinal: Number(r.ordinal),
  phase: Number(r.phase),
  state: r.state as DeviceUpdateState,
  reason: r.reason,
  updatedAt: Number(r.updated_at),
});

/** One page of a rollout's devices in ordinal order, after ordinal `after`. */
export async function pageRolloutDevices(
  db: AnyDb,
  rolloutId: string,
  after: number,
  limit: number,
): Promise<RolloutDevice[]> {
  const rows = await t(db)
    .selectFrom('rollout_devices')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .where('ordinal', '>', after)
    .orderBy('ordinal')
    .limit(limit)
    .execute();
  return rows.map(toDevice);
}

/** Devices in `states`, at most `limit` (what operators see of failures). */
export async function listDevicesIn(
  db: AnyDb,
  rolloutId: string,
  states: DeviceUpdateState[],
  limit: number,
): Promise<RolloutDevice[]> {
  const rows = await t(db)
    .selectFrom('rollout_devices')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', states)
    .orderBy('ordinal')
    .limit(limit)
    .execute();
  return rows.map(toDevice);
}

/** Devices per phase and state: one GROUP BY over the covering index (rollout_id, state, phase, ordinal). */
export async function countByPhaseAndState(db: AnyDb, rolloutId: string): Promise<StateCount[]> {
  const rows = await t(db)
    .selectFrom('rollout_devices')
    .select((eb) => ['phase', 'state', eb.fn.countAll<number | string | bigint>().as('n')])
    .where('rollout_id', '=', rolloutId)
    .groupBy(['phase', 'state'])
    .execute();
  return rows.map((r) => ({ phase: Number(r.phase), state: r.state as DeviceUpdateState, n: Number(r.n) }));
}

/**
 * Devices per state among `states` only: range scans of the index for those states, so the cost grows
 * with the devices in them (e.g. the finished ones), not with the whole rollout.
 */
export async function countInStates(
  db: AnyDb,
  rolloutId: string,
  states: DeviceUpdateState[],
): Promise<Map<DeviceUpdateState, number>> {
  const rows = await t(db)
    .selectFrom('rollout_devices')
    .select((eb) => ['state', eb.fn.countAll<number | string | bigint>().as('n')])
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', states)
    .groupBy('state')
    .execute();
  return new Map(rows.map((r) => [r.state as DeviceUpdateState, Number(r.n)]));
}

/** The most frequent reasons among devices in `states`, at most `limit`. */
export async function topReasons(
  db: AnyDb,
  rolloutId: string,
  states: DeviceUpdateState[],
  limit: number,
): Promise<Array<{ reason: string; n: number }>> {
  const rows = await t(db)
    .selectFrom('rollout_devices')
    .select((eb) => ['reason', eb.fn.countAll<number | string | bigint>().as('n')])
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', states)
    .groupBy('reason')
    .orderBy('n', 'desc')
    .orderBy('reason')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ reason: r.reason ?? 'UNKNOWN', n: Number(r.n) }));
}

/** True when a device of phase ≤ `phase` is in one of `states` (an index seek per state, stops at the first). */
export async function anyInPhases(
  db: AnyDb,
  rolloutId: string,
  states: DeviceUpdateState[],
  phase: number,
): Promise<boolean> {
  const row = await t(db)
    .selectFrom('rollout_devices')
    .select('device_id')
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', states)
    .where('phase', '<=', phase)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * The next page of devices in `state` with phase ≤ `phase`, after the cursor (phase, ordinal): the
 * ones a command must go to. The cursor lets a caller walk past devices it put back (send failures).
 */
export async function pageInState(
  db: AnyDb,
  rolloutId: string,
  state: DeviceUpdateState,
  phase: number,
  after: { phase: number; ordinal: number } | null,
  limit: number,
): Promise<RolloutDevice[]> {
  let q = t(db)
    .selectFrom('rollout_devices')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .where('state', '=', state)
    .where('phase', '<=', phase);
  if (after) {
    q = q.where((eb) =>
      eb.or([
        eb('phase', '>', after.phase),
        eb.and([eb('phase', '=', after.phase), eb('ordinal', '>', after.ordinal)]),
      ]),
    );
  }
  return (await q.orderBy('phase').orderBy('ordinal').limit(limit).execute()).map(toDevice);
}

/** Moves every device of the rollout in `from` to `to` in one statement; returns how many moved. */
export async function moveStates(
  db: AnyDb,
  rolloutId: string,
  from: DeviceUpdateState[],
  to: DeviceUpdateState,
  now: number,
): Promise<number> {
  const r = await t(db)
    .updateTable('rollout_devices')
    .set({ state: to, reason: null, updated_at: now })
    .where('rollout_id', '=', rolloutId)
    .where('state', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function findRolloutDevice(
  db: AnyDb,
  rolloutId: string,
  deviceId: string,
): Promise<RolloutDevice | undefined> {
  const all = await t(db)
    .selectFrom('rollout_devices')
    .selectAll()
    .where('rollout_id', '=', rolloutId)
    .where('device_id', '=', deviceId)
    .executeTakeFirst();
  return all && toDevice(all);
}

export async function setDeviceState(
  db: AnyDb,
  rolloutId: string,
  deviceIds: string[],
  state: DeviceUpdateState,
  reason: string | null,
  now: number,
): Promise<void> {
  for (let i = 0; i < deviceIds.length; i += 500) {
    await t(db)
      .updateTable('rollout_devices')
      .set({ state, reason, updated_at: now })
      .where('rollout_id', '=', rolloutId)
      .where('device_id', 'in', deviceIds.slice(i, i + 500))
      .execute();
  }
}

export async function maxOrdinal(db: AnyDb, rolloutId: string): Promise<number> {
  const r = await t(db)
    .selectFrom('rollout_devices')
    .select((eb) => eb.fn.max('ordinal').as('max'))
    .where('rollout_id', '=', rolloutId)
    .executeTakeFirst();
  return r?.max === null || r?.max === undefined ? -1 : Number(r.max);
}
