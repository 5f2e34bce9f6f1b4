import type { AnyDb } from '../store/store.types.ts';
import type { DeviceState } from './engine/detector.ts';
import type { SecurityProfile } from './model.ts';

export type DetectTables = {
  security_profiles: {
    id: string;
    name: string;
    description: string;
    enabled: number;
    targets: string;
    behaviours: string;
    mitigations: string;
    notify_url: string | null;
    created_at: number;
    updated_at: number;
  };
  detect_device_state: { device_id: string; state: string; updated_at: number };
};

type ProfileRow = DetectTables['security_profiles'];
const t = (db: AnyDb) => db.withTables<DetectTables>();

const toProfile = (r: ProfileRow): SecurityProfile => ({
  id: r.id,
  name: r.name,
  description: r.description,
  enabled: r.enabled === 1,
  targets: JSON.parse(r.targets),
  behaviours: JSON.parse(r.behaviours),
  mitigations: JSON.parse(r.mitigations),
  notifyUrl: r.notify_url,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const fromProfile = (p: SecurityProfile): ProfileRow => ({
  id: p.id,
  name: p.name,
  description: p.description,
  enabled: p.enabled ? 1 : 0,
  targets: JSON.stringify(p.targets),
  behaviours: JSON.stringify(p.behaviours),
  mitigations: JSON.stringify(p.mitigations),
  notify_url: p.notifyUrl,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

export async function insertProfile(db: AnyDb, p: SecurityProfile): Promise<void> {
  await t(db).insertInto('security_profiles').values(fromProfile(p)).execute();
}

export async function updateProfile(db: AnyDb, p: SecurityProfile): Promise<void> {
  await t(db).updateTable('security_profiles').set(fromProfile(p)).where('id', '=', p.id).execute();
}

export async function deleteProfile(db: AnyDb, id: string): Promise<void> {
  await t(db).deleteFrom('security_profiles').where('id', '=', id).execute();
}

export async function findProfile(db: AnyDb, id: string): Promise<SecurityProfile | undefined> {
  const r = await t(db).selectFrom('security_profiles').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toProfile(r);
}

export async function listProfiles(db: AnyDb): Promise<SecurityProfile[]> {
  return (await t(db).selectFrom('security_profiles').selectAll().orderBy('id').execute()).map(toProfile);
}

export async function loadDeviceStates(db: AnyDb): Promise<Array<[string, DeviceState]>> {
  const rows = await t(db).selectFrom('detect_device_state').selectAll().execute();
  return rows.map((r) => [r.device_id, JSON.parse(r.state) as DeviceState]);
}

/** Upserts in one statement per device; the caller wraps a batch in one transaction. */
export async function saveDeviceState(db: AnyDb, deviceId: string, state: DeviceState, at: number): Promise<void> {
  const text = JSON.stringify(state);
  await t(db)
    .insertInto('detect_device_state')
    .values({ device_id: deviceId, state: text, updated_at: at })
    .onConflict((oc) => oc.column('device_id').doUpdateSet({ state: text, updated_at: at }))
    .execute();
}

export async function deleteDeviceState(db: AnyDb, deviceId: string): Promise<void> {
  await t(db).deleteFrom('detect_device_state').where('device_id', '=', deviceId).execute();
}
