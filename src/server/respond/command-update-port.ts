import type { Clock } from '../../protocol/clock.ts';
import { COMMAND_VERSION } from '../../protocol/commands.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import type { RegistryService } from '../registry/index.ts';
import { commandId } from './mitigation-service.ts';
import type { RespondErrorCode, UpdatesPort } from './model.ts';

export interface LatestRelease {
  id: string;
  version: string;
  /** TUF target path `{product}/{file}`. */
  targetPath: string;
  securityVersion: number;
}

/**
 * "Force an update" until the updates capability offers a per-device forced rollout: sends the device
 * the `update` command for the newest published release of its product. The agent still verifies the
 * release through TUF before installing it, so this path grants no trust the metadata does not.
 */
export class CommandUpdatePort implements UpdatesPort {
  readonly #outbox: DeviceOutbox;
  readonly #registry: RegistryService;
  readonly #clock: Clock;
  readonly #latest: (productId: string) => Promise<LatestRelease | null>;
  readonly #metadataUrl: () => string;

  constructor(deps: {
    outbox: DeviceOutbox;
    registry: RegistryService;
    clock: Clock;
    latestRelease: (productId: string) => Promise<LatestRelease | null>;
    /** Where the agent fetches TUF metadata (`…/device/v1/tuf/`); known once the server listens. */
    metadataUrl: () => string;
  }) {
    this.#outbox = deps.outbox;
    this.#registry = deps.registry;
    this.#clock = deps.clock;
    this.#latest = deps.latestRelease;
    this.#metadataUrl = deps.metadataUrl;
  }

  /** Throws DEVICE_NOT_FOUND, MITIGATION_FAILED (no published release). */
  async forceUpdate(deviceId: string): Promise<{ sent: boolean }> {
    const device = await this.#registry.getDevice(deviceId);
    const release = await this.#latest(device.productId);
    if (!release) {
      throw new FleetwardError<RespondErrorCode>('MITIGATION_FAILED', 'no published release for this product', {
        details: { productId: device.productId },
      });
    }
    await this.#outbox.sendCommand(deviceId, {
      v: COMMAND_VERSION,
      id: commandId(this.#clock),
      issuedAt: this.#clock.now(),
      type: 'update',
      release: release.id,
      version: release.version,
      metadataUrl: this.#metadataUrl(),
      target: release.targetPath,
      securityVersion: release.securityVersion,
    });
    return { sent: true };
  }
}
