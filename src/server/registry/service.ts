import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import {
  DEFAULT_ZONE,
  type Device,
  type DeviceFilter,
  type DeviceStatus,
  type Page,
  type Product,
  type RegistryErrorCode,
} from './model.ts';
import * as db from './store.ts';

const fail = (code: RegistryErrorCode, message: string, details: Record<string, unknown>) =>
  new FleetwardError<RegistryErrorCode>(code, message, { details });

export type NewProduct = Omit<Product, 'createdAt' | 'updatedAt'>;
export type ProductPatch = Partial<Omit<Product, 'id' | 'createdAt' | 'updatedAt'>>;
export interface NewDevice {
  id: string;
  productId: string;
  serial: string;
  tags?: string[] | undefined;
  group?: string | null | undefined;
  zone?: string | undefined;
}
export interface DevicePatch {
  tags?: string[] | undefined;
  group?: string | null | undefined;
  zone?: string | undefined;
}

/** Products and devices: the inventory every other capability refers to. */
export class RegistryService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #bus: Bus;
  readonly #clock: Clock;

  constructor(store: Store, ledger: LedgerService, bus: Bus, clock: Clock) {
    this.#store = store;
    this.#ledger = ledger;
    this.#bus = bus;
    this.#clock = clock;
  }

  /** Throws PRODUCT_EXISTS. */
  async createProduct(input: NewProduct, ctx: ActionContext): Promise<Product> {
    const now = this.#clock.now();
    const product: Product = { ...input, createdAt: now, updatedAt: now };
    await this.#store.transaction(async (tx) => {
      if (await db.findProduct(tx, input.id)) throw fail('PRODUCT_EXISTS', 'a product has this id', { id: input.id });
      await db.insertProduct(tx, product);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'product.create',
        target: `product:${product.id}`,
        result: 'ok',
        details: { name: product.name, model: product.model, supportEnd: product.supportEnd },
      });
    });
    await this.#bus.publish('product.created', { productId: product.id });
    return product;
  }

  /** Throws PRODUCT_NOT_FOUND. */
  async getProduct(id: string): Promise<Product> {
    const p = await db.findProduct(this.#store.db, id);
    if (!p) throw fail('PRODUCT_NOT_FOUND', 'no such product', { id });
    return p;
  }

  async listProducts(after: string | undefined, limit: number): Promise<Page<Product>> {
    const rows = await db.listProducts(this.#store.db, after, limit + 1);
    return page(rows, limit);
  }

  /** Throws PRODUCT_NOT_FOUND. */
  async updateProduct(id: string, patch: ProductPatch, ctx: ActionContext): Promise<Product> {
    const updated = await this.#store.transaction(async (tx) => {
      const p = await db.findProduct(tx, id);
      if (!p) throw fail('PRODUCT_NOT_FOUND', 'no such product', { id });
      const next: Product = { ...p, ...definedOnly(patch), updatedAt: this.#clock.now() };
      await db.updateProduct(tx, next);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'product.update',
        target: `product:${id}`,
        result: 'ok',
        details: { changed: Object.keys(definedOnly(patch)) },
      });
      return next;
    });
    await this.#bus.publish('product.updated', { productId: id });
    return updated;
  }

  /** Throws PRODUCT_NOT_FOUND, PRODUCT_IN_USE (devices still belong to it). */
  async deleteProduct(id: string, ctx: ActionContext): Promise<void> {
    await this.#store.transaction(async (tx) => {
      if (!(await db.findProduct(tx, id))) throw fail('PRODUCT_NOT_FOUND', 'no such product', { id });
      if (await db.productHasDevices(tx, id))
        throw fail('PRODUCT_IN_USE', 'devices still belong to this product', { id });
      await db.deleteProduct(tx, id);
      await this.#ledger.appendIn(tx, { ...ctx, action: 'product.delete', target: `product:${id}`, result: 'ok' });
    });
    await this.#bus.publish('product.deleted', { productId: id });
  }

  /** Throws PRODUCT_NOT_FOUND, DEVICE_EXISTS (same id, or same serial within the product). */
  async createDevice(input: NewDevice, ctx: ActionContext): Promise<Device> {
    const now = this.#clock.now();
    const device: Device = {
      id: input.id,
      productId: input.productId,
      serial: input.serial,
      tags: normalizeTags(input.tags ?? []),
      group: input.group ?? null,
      zone: input.zone ?? DEFAULT_ZONE,
      status: 'registered',
      firstSeen: null,
      lastSeen: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.#store.transaction(async (tx) => {
      if (!(await db.findProduct(tx, input.productId))) {
        throw fail('PRODUCT_NOT_FOUND', 'no such product', { id: input.productId });
      }
      if (await db.findDevice(tx, input.id)) throw fail('DEVICE_EXISTS', 'a device has this id', { id: input.id });
      if (await db.findDeviceBySerial(tx, input.productId, input.serial)) {
        throw fail('DEVICE_EXISTS', 'a device of this product has this serial', { serial: input.serial });
      }
      await db.insertDevice(tx, device);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'device.create',
        target: `device:${device.id}`,
        result: 'ok',
        details: { productId: device.productId, serial: device.serial },
      });
    });
    await this.#bus.publish('device.created', { deviceId: device.id, productId: device.productId });
    return device;
  }

  /** Throws DEVICE_NOT_FOUND. */
  async getDevice(id: string): Promise<Device> {
    const d = await db.findDevice(this.#store.db, id);
    if (!d) throw fail('DEVICE_NOT_FOUND', 'no such device', { id });
    return d;
  }

  async listDevices(filter: DeviceFilter, after: string | undefined, limit: number): Promise<Page<Device>> {
    const rows = await db.listDevices(this.#store.db, filter, after, limit + 1);
    return page(rows, limit);
  }

  /** Throws DEVICE_NOT_FOUND. */
  async updateDevice(id: string, patch: DevicePatch, ctx: ActionContext): Promise<Device> {
    const updated = await this.#store.transaction(async (tx) => {
      const d = await db.findDevice(tx, id);
      if (!d) throw fail('DEVICE_NOT_FOUND', 'no such device', { id });
      const next: Device = {
        ...d,
        tags: patch.tags ? normalizeTags(patch.tags) : d.tags,
        group: patch.group !== undefined ? patch.group : d.group,
        zone: patch.zone ?? d.zone,
        updatedAt: this.#clock.now(),
      };
      await db.updateDevice(tx, next);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'device.update',
        target: `device:${id}`,
        result: 'ok',
        details: { changed: Object.keys(definedOnly(patch)) },
      });
      return next;
    });
    await this.#bus.publish('device.updated', { deviceId: id });
    return updated;
  }

  /** Status changes come from identity and response, never from a plain edit. Throws DEVICE_NOT_FOUND. */
  async setDeviceStatus(id: string, status: DeviceStatus, reason: string, ctx: ActionContext): Promise<Device> {
    const updated = await this.#store.transaction((tx) => this.setDeviceStatusIn(tx, id, status, reason, ctx));
    await this.announceUpdated(id);
    return updated;
  }

  /**
   * A status change (and optionally the zone) inside the caller's transaction, so it lands together with
   * the caller's own writes or not at all (revocation: certificates and status; quarantine: status, zone
   * and the mitigation record). Call `announceUpdated` after the commit. Throws DEVICE_NOT_FOUND.
   */
  async setDeviceStatusIn(
    tx: AnyDb,
    id: string,
    status: DeviceStatus,
    reason: string,
    ctx: ActionContext,
    patch: { zone?: string | undefined } = {},
  ): Promise<Device> {
    const d = await db.findDevice(tx, id);
    if (!d) throw fail('DEVICE_NOT_FOUND', 'no such device', { id });
    const zone = patch.zone ?? d.zone;
    const next: Device = { ...d, status, zone, updatedAt: this.#clock.now() };
    await db.updateDevice(tx, next);
    await this.#ledger.appendIn(tx, {
      ...ctx,
      action: 'device.status',
      target: `device:${id}`,
      result: 'ok',
      details: { from: d.status, to: status, reason, ...(zone !== d.zone ? { zone: { from: d.zone, to: zone } } : {}) },
    });
    return next;
  }

  /** Publishes `device.updated` once the transaction that changed the device has committed. */
  async announceUpdated(id: string): Promise<void> {
    await this.#bus.publish('device.updated', { deviceId: id });
  }

  /** The device as the caller's transaction sees it (identity checks it before enrolling). */
  async findDeviceIn(tx: AnyDb, id: string): Promise<Device | undefined> {
    return db.findDevice(tx, id);
  }

  /**
   * Enrollment, inside the caller's transaction (identity claims the token and stores the certificate in
   * the same one): creates the device as `active`, or marks a `registered` one `active`. Call
   * `announceEnrolled` after the commit. Throws PRODUCT_NOT_FOUND, DEVICE_EXISTS (serial taken).
   */
  async enrollDeviceIn(
    tx: AnyDb,
    input: { id: string; productId: string; serial: string },
    ctx: ActionContext,
  ): Promise<{ device: Device; created: boolean }> {
    const now = this.#clock.now();
    const existing = await db.findDevice(tx, input.id);
    if (existing) {
      // Only a pre-registered device becomes active; a quarantined one stays quarantined (rotation, re-enrollment).
      if (existing.status !== 'registered') return { device: existing, created: false };
      const next: Device = { ...existing, status: 'active', firstSeen: existing.firstSeen ?? now, updatedAt: now };
      await db.updateDevice(tx, next);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'device.status',
        target: `device:${input.id}`,
        result: 'ok',
        details: { from: existing.status, to: 'active', reason: 'enrolled' },
      });
      return { device: next, created: false };
    }
    if (!(await db.findProduct(tx, input.productId))) {
      throw fail('PRODUCT_NOT_FOUND', 'no such product', { id: input.productId });
    }
    if (await db.findDeviceBySerial(tx, input.productId, input.serial)) {
      throw fail('DEVICE_EXISTS', 'a device of this product has this serial', { serial: input.serial });
    }
    const device: Device = {
      id: input.id,
      productId: input.productId,
      serial: input.serial,
      tags: [],
      group: null,
      zone: DEFAULT_ZONE,
      status: 'active',
      firstSeen: now,
      lastSeen: null,
      createdAt: now,
      updatedAt: now,
    };
    await db.insertDevice(tx, device);
    await this.#ledger.appendIn(tx, {
      ...ctx,
      action: 'device.create',
      target: `device:${device.id}`,
      result: 'ok',
      details: { productId: device.productId, serial: device.serial, via: 'enrollment' },
    });
    return { device, created: true };
  }

  /** Publishes the registry's events for an enrollment once its transaction has committed. */
  async announceEnrolled(device: Device, created: boolean): Promise<void> {
    if (created) await this.#bus.publish('device.created', { deviceId: device.id, productId: device.productId });
    await this.#bus.publish('device.updated', { deviceId: device.id });
  }

  /**
   * Records device contact inside the caller's transaction (telemetry's group commit), so it is durable
   * with the reports that prove it. No ledger entry and no event: contact is not a change anyone made.
   */
  async markSeenIn(tx: AnyDb, seen: ReadonlyArray<{ deviceId: string; at: number }>): Promise<void> {
    for (const s of seen) await db.markSeen(tx, s.deviceId, s.at);
  }

  /** Throws DEVICE_NOT_FOUND. */
  async deleteDevice(id: string, ctx: ActionContext): Promise<void> {
    await this.#store.transaction(async (tx) => {
      if (!(await db.findDevice(tx, id))) throw fail('DEVICE_NOT_FOUND', 'no such device', { id });
      await db.deleteDevice(tx, id);
      await this.#ledger.appendIn(tx, { ...ctx, action: 'device.delete', target: `device:${id}`, result: 'ok' });
    });
    await this.#bus.publish('device.deleted', { deviceId: id });
  }
}

function page<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
}

function normalizeTags(tags: string[]): string[] {
  return [...new Set(tags)].sort();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
