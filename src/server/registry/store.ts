import { sql } from 'kysely';
import type { AnyDb } from '../store/store.types.ts';
import type { Device, DeviceFilter, DeviceStatus, Product } from './model.ts';

export type RegistryTables = {
  products: {
    id: string;
    name: string;
    model: string;
    manufacturer: string;
    description: string;
    support_end: string;
    created_at: number;
    updated_at: number;
  };
  devices: {
    id: string;
    product_id: string;
    serial: string;
    group_name: string | null;
    zone: string;
    status: string;
    tags: string;
    first_seen: number | null;
    last_seen: number | null;
    created_at: number;
    updated_at: number;
  };
  device_tags: { device_id: string; tag: string };
};

type ProductRow = RegistryTables['products'];
type DeviceRow = RegistryTables['devices'];
const t = (db: AnyDb) => db.withTables<RegistryTables>();

const toProduct = (r: ProductRow): Product => ({
  id: r.id,
  name: r.name,
  model: r.model,
  manufacturer: r.manufacturer,
  description: r.description,
  supportEnd: r.support_end,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const fromProduct = (p: Product): ProductRow => ({
  id: p.id,
  name: p.name,
  model: p.model,
  manufacturer: p.manufacturer,
  description: p.description,
  support_end: p.supportEnd,
  created_at: p.createdAt,
  updated_at: p.updatedAt,
});

const toDevice = (r: DeviceRow): Device => ({
  id: r.id,
  productId: r.product_id,
  serial: r.serial,
  tags: JSON.parse(r.tags) as string[],
  group: r.group_name,
  zone: r.zone,
  status: r.status as DeviceStatus,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const fromDevice = (d: Device): DeviceRow => ({
  id: d.id,
  product_id: d.productId,
  serial: d.serial,
  group_name: d.group,
  zone: d.zone,
  status: d.status,
  tags: JSON.stringify(d.tags),
  first_seen: d.firstSeen,
  last_seen: d.lastSeen,
  created_at: d.createdAt,
  updated_at: d.updatedAt,
});

export async function insertProduct(db: AnyDb, p: Product): Promise<void> {
  await t(db).insertInto('products').values(fromProduct(p)).execute();
}

export async function updateProduct(db: AnyDb, p: Product): Promise<void> {
  await t(db).updateTable('products').set(fromProduct(p)).where('id', '=', p.id).execute();
}

export async function deleteProduct(db: AnyDb, id: string): Promise<void> {
  await t(db).deleteFrom('products').where('id', '=', id).execute();
}

export async function findProduct(db: AnyDb, id: string): Promise<Product | undefined> {
  const r = await t(db).selectFrom('products').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toProduct(r);
}

export async function listProducts(db: AnyDb, after: string | undefined, limit: number): Promise<Product[]> {
  let q = t(db).selectFrom('products').selectAll();
  if (after) q = q.where('id', '>', after);
  return (await q.orderBy('id').limit(limit).execute()).map(toProduct);
}

export async function productHasDevices(db: AnyDb, id: string): Promise<boolean> {
  const r = await t(db).selectFrom('devices').select('id').where('product_id', '=', id).limit(1).executeTakeFirst();
  return r !== undefined;
}

export async function insertDevice(db: AnyDb, d: Device): Promise<void> {
  await t(db).insertInto('devices').values(fromDevice(d)).execute();
  await writeTags(db, d.id, d.tags);
}

export async function updateDevice(db: AnyDb, d: Device): Promise<void> {
  await t(db).updateTable('devices').set(fromDevice(d)).where('id', '=', d.id).execute();
  await t(db).deleteFrom('device_tags').where('device_id', '=', d.id).execute();
  await writeTags(db, d.id, d.tags);
}

async function writeTags(db: AnyDb, id: string, tags: string[]): Promise<void> {
  if (tags.length > 0) {
    await t(db)
      .insertInto('device_tags')
      .values(tags.map((tag) => ({ device_id: id, tag })))
      .execute();
  }
}

/** first_seen is set once; last_seen only moves forward (reports may arrive out of order). */
export async function markSeen(db: AnyDb, id: string, at: number): Promise<void> {
  await t(db)
    .updateTable('devices')
    .set({
      first_seen: sql<number>`coalesce(first_seen, ${at})`,
      last_seen: sql<number>`case when last_seen is null or last_seen < ${at} then ${at} else last_seen end`,
    })
    .where('id', '=', id)
    .execute();
}

export async function deleteDevice(db: AnyDb, id: string): Promise<void> {
  await t(db).deleteFrom('device_tags').where('device_id', '=', id).execute();
  await t(db).deleteFrom('devices').where('id', '=', id).execute();
}

export async function findDevice(db: AnyDb, id: string): Promise<Device | undefined> {
  const r = await t(db).selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toDevice(r);
}

export async function findDeviceBySerial(db: AnyDb, productId: string, serial: string): Promise<Device | undefined> {
  const r = await t(db)
    .selectFrom('devices')
    .selectAll()
    .where('product_id', '=', productId)
    .where('serial', '=', serial)
    .executeTakeFirst();
  return r && toDevice(r);
}

/**
 * One page in id order; every filter is served by an index (migration 0001). With tags, the first tag's
 * index (tag, device_id) drives the walk in id order and further tags are point lookups, so a rare tag
 * costs no more than a page (bench/registry.bench.ts).
 */
export async function listDevices(
  db: AnyDb,
  f: DeviceFilter,
  after: string | undefined,
  limit: number,
): Promise<Device[]> {
  const [first, ...more] = f.tags ?? [];
  let q = first
    ? t(db)
        .selectFrom('device_tags as t0')
        .innerJoin('devices', 'devices.id', 't0.device_id')
        .where('t0.tag', '=', first)
        .selectAll('devices')
    : t(db).selectFrom('devices').selectAll('devices');
  const idCol = first ? 't0.device_id' : 'devices.id';
  if (f.productId) q = q.where('devices.product_id', '=', f.productId);
  if (f.status) q = q.where('devices.status', '=', f.status);
  if (f.group) q = q.where('devices.group_name', '=', f.group);
  if (f.zone) q = q.where('devices.zone', '=', f.zone);
  if (f.idPrefix) {
    // A range instead of LIKE: index-friendly on both dialects and free of wildcard escaping.
    q = q.where(idCol, '>=', f.idPrefix).where(idCol, '<', `${f.idPrefix}\u{10FFFF}`);
  }
  for (const tag of more) {
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('device_tags as tx')
          .select('tx.tag')
          .where('tx.tag', '=', tag)
          .whereRef('tx.device_id', '=', 'devices.id'),
      ),
    );
  }
  if (after) {
    q = q.where(idCol, '>', after);
    // Redundant through the join, but it lets PostgreSQL start the devices index at the cursor too,
    // instead of merging from the first device (bench/registry.bench.ts: 8.8x → 1.4x of baseline).
    if (first) q = q.where('devices.id', '>', after);
  }
  return (await q.orderBy(idCol).limit(limit).execute()).map(toDevice);
}
