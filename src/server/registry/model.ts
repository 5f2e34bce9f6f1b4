/**
 * Products carry the model designation and the published end of security support
 * (ETSI EN 303 645 provisions 5.3-13 and 5.3-16); devices belong to exactly one product.
 */
export interface Product {
  id: string;
  name: string;
  model: string;
  manufacturer: string;
  description: string;
  /** Last day of security updates, `YYYY-MM-DD`. */
  supportEnd: string;
  createdAt: number;
  updatedAt: number;
}

export const DEVICE_STATUSES = ['registered', 'active', 'quarantined', 'revoked', 'retired'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

export interface Device {
  id: string;
  productId: string;
  serial: string;
  tags: string[];
  group: string | null;
  zone: string;
  status: DeviceStatus;
  firstSeen: number | null;
  lastSeen: number | null;
  createdAt: number;
  updatedAt: number;
}

export const DEFAULT_ZONE = 'default';

export interface DeviceFilter {
  productId?: string | undefined;
  status?: DeviceStatus | undefined;
  group?: string | undefined;
  zone?: string | undefined;
  /** Every tag must be present. */
  tags?: string[] | undefined;
  /** Id prefix. */
  idPrefix?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Cursor for the next page, null on the last. */
  next: string | null;
}

export type RegistryErrorCode =
  | 'PRODUCT_NOT_FOUND'
  | 'PRODUCT_EXISTS'
  | 'PRODUCT_IN_USE'
  | 'DEVICE_NOT_FOUND'
  | 'DEVICE_EXISTS';
