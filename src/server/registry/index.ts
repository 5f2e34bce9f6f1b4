export type { Device, DeviceFilter, DeviceStatus, Page, Product, RegistryErrorCode } from './model.ts';
export { DEFAULT_ZONE, DEVICE_STATUSES } from './model.ts';
export { registerRegistryRoutes } from './routes.ts';
export type { DevicePatch, NewDevice, NewProduct, ProductPatch } from './service.ts';
export { RegistryService } from './service.ts';
