import type { AnyDb } from '../store/store.types.ts';
import type { Alarm, AlarmFilter, AlarmState } from './model.ts';

export type AlarmTables = {
  alarms: {
    id: string;
    device_id: string;
    profile_id: string;
    behaviour: string;
    kind: string;
    severity: string;
    state: string;
    dedup_key: string;
    raised_at: number;
    last_raised_at: number;
    raise_count: number;
    acknowledged_at: number | null;
    acknowledged_by: string | null;
    cleared_at: number | null;
    cleared_by: string | null;
    clear_reason: string | null;
    suppressed_until: number | null;
    suppression_reason: string | null;
    evidence: string;
  };
  alarm_suppressions: {
    id: string;
    dedup_key: string;
    reason: string;
    until: number;
    created_by: string;
    created_at: number;
  };
};

type Row = AlarmTables['alarms'];
const t = (db: AnyDb) => db.withTables<AlarmTables>();

/** One open alarm per (device, profile, behaviour): the de-duplication key. */
export function dedupKey(a: Pick<Alarm, 'deviceId' | 'profileId' | 'behaviour'>): string {
  return `${a.deviceId}/${a.profileId}/${a.behaviour}`;
}

const toAlarm = (r: Row): Alarm => ({
  id: r.id,
  deviceId: r.device_id,
  profileId: r.profile_id,
  behaviour: r.behaviour,
  kind: r.kind,
  severity: r.severity as Alarm['severity'],
  state: r.state as AlarmState,
  raisedAt: r.raised_at,
  lastRaisedAt: r.last_raised_at,
  raiseCount: r.raise_count,
  acknowledgedAt: r.acknowledged_at,
  acknowledgedBy: r.acknowledged_by,
  clearedAt: r.cleared_at,
  clearedBy: r.cleared_by,
  clearReason: r.clear_reason,
  suppressedUntil: r.suppressed_until,
  suppressionReason: r.suppression_reason,
  evidence: JSON.parse(r.evidence),
});

const fromAlarm = (a: Alarm): Row => ({
  id: a.id,
  device_id: a.deviceId,
  profile_id: a.profileId,
  behaviour: a.behaviour,
  kind: a.kind,
  severity: a.severity,
  state: a.state,
  dedup_key: dedupKey(a),
  raised_at: a.raisedAt,
  last_raised_at: a.lastRaisedAt,
  raise_count: a.raiseCount,
  acknowledged_at: a.acknowledgedAt,
  acknowledged_by: a.acknowledgedBy,
  cleared_at: a.clearedAt,
  cleared_by: a.clearedBy,
  clear_reason: a.clearReason,
  suppressed_until: a.suppressedUntil,
  suppression_reason: a.suppressionReason,
  evidence: JSON.stringify(a.evidence),
});

export async function insertAlarm(db: AnyDb, a: Alarm): Promise<void> {
  await t(db).insertInto('alarms').values(fromAlarm(a)).execute();
}

export async function updateAlarm(db: AnyDb, a: Alarm): Promise<void> {
  await t(db).updateTable('alarms').set(fromAlarm(a)).where('id', '=', a.id).execute();
}

export async function findAlarm(db: AnyDb, id: string): Promise<Alarm | undefined> {
  const r = await t(db).selectFrom('alarms').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toAlarm(r);
}

export async function findOpenAlarm(db: AnyDb, key: string): Promise<Alarm | undefined> {
  const r = await t(db)
    .selectFrom('alarms')
    .selectAll()
    .where('dedup_key', '=', key)
    .where('state', '<>', 'cleared')
    .executeTakeFirst();
  return r && toAlarm(r);
}

/** Newest first; `after` is the last id of the previous page. */
export async function listAlarms(
  db: AnyDb,
  f: AlarmFilter,
  after: string | undefined,
  limit: number,
): Promise<Alarm[]> {
  let q = t(db).selectFrom('alarms').selectAll();
  if (f.state === 'open') q = q.where('state', '<>', 'cleared');
  else if (f.state) q = q.where('state', '=', f.state);
  if (f.deviceId) q = q.where('device_id', '=', f.deviceId);
  if (f.profileId) q = q.where('profile_id', '=', f.profileId);
  if (f.severity) q = q.where('severity', '=', f.severity);
  if (after) q = q.where('id', '<', after);
  return (await q.orderBy('id', 'desc').limit(limit).execute()).map(toAlarm);
}

export async function insertSuppression(db: AnyDb, s: AlarmTables['alarm_suppressions']): Promise<void> {
  await t(db).insertInto('alarm_suppressions').values(s).execute();
}

/** The suppression in force for `key` at `now` that lasts longest, if any. */
export async function activeSuppression(
  db: AnyDb,
  key: string,
  now: number,
): Promise<AlarmTables['alarm_suppressions'] | undefined> {
  return t(db)
    .selectFrom('alarm_suppressions')
    .selectAll()
    .where('dedup_key', '=', key)
    .where('until', '>', now)
    .orderBy('until', 'desc')
    .executeTakeFirst();
}
