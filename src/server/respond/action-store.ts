import type { AnyDb } from '../store/store.types.ts';
import type { EmergencyAction, EmergencyKind, EmergencyState, MitigationAction, MitigationRecord } from './model.ts';

export type ActionTables = {
  mitigations: {
    id: string;
    device_id: string;
    kind: string;
    alarm_id: string | null;
    actor: string;
    state: string;
    details: string;
    created_at: number;
    updated_at: number;
  };
  emergency_actions: {
    id: string;
    kind: string;
    target: string;
    reason: string;
    state: string;
    requested_by: string;
    requested_at: number;
    expires_at: number;
    decided_by: string | null;
    decided_at: number | null;
    result: string | null;
  };
};

const t = (db: AnyDb) => db.withTables<ActionTables>();

export async function insertMitigation(db: AnyDb, m: MitigationRecord): Promise<void> {
  await t(db)
    .insertInto('mitigations')
    .values({
      id: m.id,
      device_id: m.deviceId,
      kind: m.action,
      alarm_id: m.alarmId,
      actor: m.actor,
      state: m.state,
      details: JSON.stringify(m.details),
      created_at: m.createdAt,
      updated_at: m.createdAt,
    })
    .execute();
}

/** Replaces a mitigation's details (what happened after its state change committed, e.g. the notice). */
export async function updateMitigationDetails(
  db: AnyDb,
  id: string,
  details: Record<string, unknown>,
  now: number,
): Promise<void> {
  await t(db)
    .updateTable('mitigations')
    .set({ details: JSON.stringify(details), updated_at: now })
    .where('id', '=', id)
    .execute();
}

const toMitigation = (r: ActionTables['mitigations']): MitigationRecord => ({
  id: r.id,
  deviceId: r.device_id,
  action: r.kind as MitigationAction,
  alarmId: r.alarm_id,
  actor: r.actor,
  state: r.state as MitigationRecord['state'],
  details: JSON.parse(r.details),
  createdAt: r.created_at,
});

/** Newest first (ids are time-ordered). */
export async function listMitigations(db: AnyDb, deviceId: string, limit: number): Promise<MitigationRecord[]> {
  const rows = await t(db)
    .selectFrom('mitigations')
    .selectAll()
    .where('device_id', '=', deviceId)
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(toMitigation);
}

export async function lastApplied(
  db: AnyDb,
  deviceId: string,
  action: MitigationAction,
): Promise<MitigationRecord | undefined> {
  const r = await t(db)
    .selectFrom('mitigations')
    .selectAll()
    .where('device_id', '=', deviceId)
    .where('kind', '=', action)
    .where('state', '=', 'applied')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return r && toMitigation(r);
}

const toEmergency = (r: ActionTables['emergency_actions']): EmergencyAction => ({
  id: r.id,
  kind: r.kind as EmergencyKind,
  target: r.target,
  reason: r.reason,
  state: r.state as EmergencyState,
  requestedBy: r.requested_by,
  requestedAt: r.requested_at,
  expiresAt: r.expires_at,
  decidedBy: r.decided_by,
  decidedAt: r.decided_at,
  result: r.result === null ? null : JSON.parse(r.result),
});

const fromEmergency = (e: EmergencyAction): ActionTables['emergency_actions'] => ({
  id: e.id,
  kind: e.kind,
  target: e.target,
  reason: e.reason,
  state: e.state,
  requested_by: e.requestedBy,
  requested_at: e.requestedAt,
  expires_at: e.expiresAt,
  decided_by: e.decidedBy,
  decided_at: e.decidedAt,
  result: e.result === null ? null : JSON.stringify(e.result),
});

export async function insertEmergency(db: AnyDb, e: EmergencyAction): Promise<void> {
  await t(db).insertInto('emergency_actions').values(fromEmergency(e)).execute();
}

export async function updateEmergency(db: AnyDb, e: EmergencyAction): Promise<void> {
  await t(db).updateTable('emergency_actions').set(fromEmergency(e)).where('id', '=', e.id).execute();
}

export async function findEmergency(db: AnyDb, id: string): Promise<EmergencyAction | undefined> {
  const r = await t(db).selectFrom('emergency_actions').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toEmergency(r);
}

export async function listEmergencies(db: AnyDb, limit: number): Promise<EmergencyAction[]> {
  const rows = await t(db).selectFrom('emergency_actions').selectAll().orderBy('id', 'desc').limit(limit).execute();
  return rows.map(toEmergency);
}
