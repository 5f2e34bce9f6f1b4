import type { Bus } from '../bus/bus.types.ts';
import type { DeviceStatus, RegistryService } from '../registry/index.ts';

/**
 * Registry status of the devices connected now, kept current from `device.updated` / `device.deleted`
 * events so the ACL costs no database query per publish. `onChange` sees every change (revocation,
 * quarantine, deletion → null) so the broker can end sessions at once.
 */
export class DeviceStatusCache {
  readonly #statuses = new Map<string, DeviceStatus>();
  readonly #registry: RegistryService;
  readonly #unsubscribe: Array<() => void>;

  constructor(registry: RegistryService, bus: Bus, onChange: (deviceId: string, status: DeviceStatus | null) => void) {
    this.#registry = registry;
    this.#unsubscribe = [
      bus.subscribe('device.updated', async ({ deviceId }) => {
        if (!this.#statuses.has(deviceId)) return;
        const device = await this.#registry.getDevice(deviceId).catch(() => null);
        const status = device?.status ?? null;
        if (status === null) this.#statuses.delete(deviceId);
        else if (this.#statuses.has(deviceId)) this.#statuses.set(deviceId, status);
        onChange(deviceId, status);
      }),
      bus.subscribe('device.deleted', ({ deviceId }) => {
        if (this.#statuses.delete(deviceId)) onChange(deviceId, null);
      }),
    ];
  }

  set(deviceId: string, status: DeviceStatus): void {
    this.#statuses.set(deviceId, status);
  }

  /** Unknown devices read as revoked: the safe default if a session outlives its cache entry. */
  get(deviceId: string): DeviceStatus {
    return this.#statuses.get(deviceId) ?? 'revoked';
  }

  forget(deviceId: string): void {
    this.#statuses.delete(deviceId);
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
  }
}
