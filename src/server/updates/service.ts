import { join } from 'node:path';
import type { Clock } from '../../protocol/clock.ts';
import { parseUpdateStatus } from '../../protocol/update-status.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import type { LedgerService } from '../ledger/index.ts';
import type { RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import { ArtifactFiles } from './artifacts.ts';
import { type ArtifactScorer, DEFAULT_EXPIRY, type ExpiryPolicy, type KeySealer } from './model.ts';
import { ReleaseService } from './releases.ts';
import { RolloutService } from './rollouts.ts';
import { type InitOptions, TufRepository } from './tuf-repository.ts';
import { TufService } from './tuf-service.ts';

export interface UpdatesDeps {
  store: Store;
  ledger: LedgerService;
  registry: RegistryService;
  bus: Bus;
  clock: Clock;
  sealer: KeySealer;
  /** Artifacts live in `<dataDir>/artifacts`. */
  dataDir: string;
  scorer: ArtifactScorer | null;
  expiry?: ExpiryPolicy | undefined;
  init?: InitOptions | undefined;
}

/** The updates capability assembled: TUF repository, releases, rollouts, and the timers that keep them moving. */
export class UpdatesService {
  readonly repo: TufRepository;
  readonly tuf: TufService;
  readonly artifacts: ArtifactFiles;
  readonly releases: ReleaseService;
  readonly rollouts: RolloutService;
  readonly #deps: UpdatesDeps;
  readonly #unsubscribe: () => void;

  constructor(deps: UpdatesDeps) {
    this.#deps = deps;
    this.repo = new TufRepository(deps.store, deps.sealer, deps.clock, deps.expiry ?? DEFAULT_EXPIRY);
    this.tuf = new TufService(this.repo, deps.ledger);
    this.artifacts = new ArtifactFiles(join(deps.dataDir, 'artifacts'));
    this.releases = new ReleaseService({ ...deps, tuf: this.tuf, artifacts: this.artifacts });
    this.rollouts = new RolloutService({ ...deps, releases: this.releases });
    // Newly enrolled devices that match a running rollout join it.
    this.#unsubscribe = deps.bus.subscribe('device.enrolled', (e) => this.rollouts.onDeviceJoined(e.deviceId));
  }

  /** Wires the device transport: commands out, and where devices fetch the TUF repository. */
  useOutbox(outbox: DeviceOutbox, metadataUrl: () => string): void {
    this.rollouts.useOutbox(outbox, metadataUrl);
  }

  /** An `update-status` message from a device. Throws UPDATE_STATUS_INVALID for a malformed one (the broker counts it). */
  async handleStatusMessage(deviceId: string, payload: Uint8Array): Promise<void> {
    await this.rollouts.handleStatus(deviceId, parseUpdateStatus(payload));
  }

  close(): void {
    this.#unsubscribe();
  }

  /** Creates the TUF repository on first start (server-held keys; rotate to offline keys with `fleetward tuf rotate-root`). */
  async initialize(): Promise<void> {
    await this.repo.initialize(this.#deps.init);
  }

  /**
   * One turn of the scheduler: re-sign metadata nearing expiry. Driven by the injected Clock, so tests
   * call it after moving a ManualClock instead of waiting.
   */
  async tick(): Promise<{ renewed: string[] }> {
    const renewed = await this.tuf.refreshExpiring();
    await this.rollouts.tick();
    return { renewed };
  }
}
