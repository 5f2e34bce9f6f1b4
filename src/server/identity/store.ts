import type { AnyDb } from '../store/store.types.ts';
import type { CertificateStatus, DeviceCertificate, EnrollmentTokenInfo, ManufacturerCa } from './model.ts';

export type IdentityTables = {
  enrollment_tokens: {
    id: string;
    secret_hash: string;
    kind: string;
    product_id: string;
    device_id: string | null;
    created_by: string;
    created_at: number;
    expires_at: number;
    used_at: number | null;
    used_by: string | null;
  };
  device_certificates: {
    serial: string;
    device_id: string;
    issuer: string;
    fingerprint: string;
    not_before: number;
    not_after: number;
    status: string;
    retire_at: number | null;
    revoked_at: number | null;
    revoke_reason: string | null;
    created_at: number;
    pem: string;
  };
  manufacturer_cas: {
    id: string;
    product_id: string;
    subject: string;
    fingerprint: string;
    auto_register: number;
    pem: string;
    created_at: number;
  };
};
type TokenRow = IdentityTables['enrollment_tokens'];
type CertRow = IdentityTables['device_certificates'];
type McaRow = IdentityTables['manufacturer_cas'];

const t = (db: AnyDb) => db.withTables<IdentityTables>();

export type StoredToken = EnrollmentTokenInfo & { secretHash: string };

const toToken = (r: TokenRow): StoredToken => ({
  id: r.id,
  kind: r.kind as EnrollmentTokenInfo['kind'],
  productId: r.product_id,
  deviceId: r.device_id,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  usedAt: r.used_at,
  usedBy: r.used_by,
  secretHash: r.secret_hash,
});

const toCert = (r: CertRow): DeviceCertificate => ({
  serial: r.serial,
  deviceId: r.device_id,
  issuer: r.issuer,
  fingerprint: r.fingerprint,
  notBefore: r.not_before,
  notAfter: r.not_after,
  status: r.status as CertificateStatus,
  retireAt: r.retire_at,
  revokedAt: r.revoked_at,
  revokeReason: r.revoke_reason,
  createdAt: r.created_at,
});

const toMca = (r: McaRow): ManufacturerCa => ({
  id: r.id,
  productId: r.product_id,
  subject: r.subject,
  fingerprint: r.fingerprint,
  autoRegister: r.auto_register === 1,
  certificate: r.pem,
  createdAt: r.created_at,
});

export async function insertToken(db: AnyDb, tok: StoredToken, createdBy: string): Promise<void> {
  await t(db)
    .insertInto('enrollment_tokens')
    .values({
      id: tok.id,
      secret_hash: tok.secretHash,
      kind: tok.kind,
      product_id: tok.productId,
      device_id: tok.deviceId,
      created_by: createdBy,
      created_at: tok.createdAt,
      expires_at: tok.expiresAt,
      used_at: null,
      used_by: null,
    })
    .execute();
}

export async function findToken(db: AnyDb, id: string): Promise<StoredToken | undefined> {
  const r = await t(db).selectFrom('enrollment_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toToken(r);
}

/** Marks a token used; false when another request used it first (the single-use guarantee under concurrency). */
export async function claimToken(db: AnyDb, id: string, at: number, by: string): Promise<boolean> {
  const r = await t(db)
    .updateTable('enrollment_tokens')
    .set({ used_at: at, used_by: by })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function deleteToken(db: AnyDb, id: string): Promise<boolean> {
  const r = await t(db).deleteFrom('enrollment_tokens').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}

export async function listTokens(
  db: AnyDb,
  productId: string | undefined,
  after: string | undefined,
  limit: number,
): Promise<StoredToken[]> {
  let q = t(db).selectFrom('enrollment_tokens').selectAll();
  if (productId) q = q.where('product_id', '=', productId);
  if (after) q = q.where('id', '>', after);
  return (await q.orderBy('id').limit(limit).execute()).map(toToken);
}

export async function insertCertificate(db: AnyDb, c: DeviceCertificate, pem: string): Promise<void> {
  await t(db)
    .insertInto('device_certificates')
    .values({
      serial: c.serial,
      device_id: c.deviceId,
      issuer: c.issuer,
      fingerprint: c.fingerprint,
      not_before: c.notBefore,
      not_after: c.notAfter,
      status: c.status,
      retire_at: c.retireAt,
      revoked_at: c.revokedAt,
      revoke_reason: c.revokeReason,
      created_at: c.createdAt,
      pem,
    })
    .execute();
}

export async function findCertificateByFingerprint(db: AnyDb, fp: string): Promise<DeviceCertificate | undefined> {
  const r = await t(db).selectFrom('device_certificates').selectAll().where('fingerprint', '=', fp).executeTakeFirst();
  return r && toCert(r);
}

export async function listDeviceCertificates(db: AnyDb, deviceId: string): Promise<DeviceCertificate[]> {
  const rows = await t(db)
    .selectFrom('device_certificates')
    .selectAll()
    .where('device_id', '=', deviceId)
    .orderBy('created_at', 'desc')
    .orderBy('serial')
    .execute();
  return rows.map(toCert);
}

/** Certificates of a device still usable (active, or superseded but within their grace period). */
export async function liveCertificates(db: AnyDb, deviceId: string): Promise<DeviceCertificate[]> {
  const rows = await t(db)
    .selectFrom('device_certificates')
    .selectAll()
    .where('device_id', '=', deviceId)
    .where('status', 'in', ['active', 'superseded'])
    .execute();
  return rows.map(toCert);
}

export async function supersede(db: AnyDb, serial: string, retireAt: number): Promise<void> {
  await t(db)
    .updateTable('device_certificates')
    .set({ status: 'superseded', retire_at: retireAt })
    .where('serial', '=', serial)
    .execute();
}

export async function revoke(db: AnyDb, serial: string, at: number, reason: string): Promise<void> {
  await t(db)
    .updateTable('device_certificates')
    .set({ status: 'revoked', revoked_at: at, revoke_reason: reason, retire_at: null })
    .where('serial', '=', serial)
    .where('status', '!=', 'revoked')
    .execute();
}

/** Superseded certificates whose grace period has ended. */
export async function dueForRetirement(db: AnyDb, now: number): Promise<DeviceCertificate[]> {
  const rows = await t(db)
    .selectFrom('device_certificates')
    .selectAll()
    .where('status', '=', 'superseded')
    .where('retire_at', '<=', now)
    .execute();
  return rows.map(toCert);
}

/** Revoked certificates we issued and that have not yet expired: the CRL's entries. */
export async function revokedForCrl(db: AnyDb, now: number): Promise<Array<{ serial: string; revokedAt: number }>> {
  const rows = await t(db)
    .selectFrom('device_certificates')
    .select(['serial', 'revoked_at'])
    .where('status', '=', 'revoked')
    .where('issuer', '=', 'fleetward')
    .where('not_after', '>', now)
    .orderBy('serial')
    .execute();
  return rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at ?? now }));
}

export async function insertManufacturerCa(db: AnyDb, m: ManufacturerCa): Promise<void> {
  await t(db)
    .insertInto('manufacturer_cas')
    .values({
      id: m.id,
      product_id: m.productId,
      subject: m.subject,
      fingerprint: m.fingerprint,
      auto_register: m.autoRegister ? 1 : 0,
      pem: m.certificate,
      created_at: m.createdAt,
    })
    .execute();
}

export async function listManufacturerCas(db: AnyDb): Promise<ManufacturerCa[]> {
  return (await t(db).selectFrom('manufacturer_cas').selectAll().orderBy('id').execute()).map(toMca);
}

export async function findManufacturerCa(db: AnyDb, id: string): Promise<ManufacturerCa | undefined> {
  const r = await t(db).selectFrom('manufacturer_cas').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toMca(r);
}

export async function findManufacturerCaByFingerprint(db: AnyDb, fp: string): Promise<ManufacturerCa | undefined> {
  const r = await t(db).selectFrom('manufacturer_cas').selectAll().where('fingerprint', '=', fp).executeTakeFirst();
  return r && toMca(r);
}

export async function deleteManufacturerCa(db: AnyDb, id: string): Promise<boolean> {
  const r = await t(db).deleteFrom('manufacturer_cas').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) === 1;
}
