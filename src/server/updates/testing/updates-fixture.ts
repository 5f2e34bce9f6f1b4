import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../../protocol/clock.ts';
import { InProcessBus } from '../../bus/in-process-bus.ts';
import type { DeviceOutbox } from '../../gateway/gateway.types.ts';
import { seal, unseal } from '../../identity/index.ts';
import { LedgerService } from '../../ledger/index.ts';
import { RegistryService } from '../../registry/index.ts';
import type { SqlDialect, Store } from '../../store/store.types.ts';
import { freshDatabase, freshStore } from '../../testing/test-stores.ts';
import type { ArtifactScorer, Release } from '../model.ts';
import { UpdatesService } from '../service.ts';
import { TEST_CTX } from './tuf-fixture.ts';

/** An outbox that records what it was asked to send: the rollout engine's view of the transport. */
export class RecordingOutbox implements DeviceOutbox {
  readonly sent: Array<{ deviceId: string; command: Record<string, unknown> }> = [];
  unreachable = new Set<string>();
  async sendCommand(deviceId: string, command: unknown): Promise<void> {
    if (this.unreachable.has(deviceId)) throw new Error('device not reachable');
    this.sent.push({ deviceId, command: command as Record<string, unknown> });
  }
  async disconnect(): Promise<void> {}
  to(deviceId: string) {
    return this.sent.filter((s) => s.deviceId === deviceId).map((s) => s.command);
  }
}

export interface UpdatesFixture {
  store: Store;
  clock: ManualClock;
  bus: InProcessBus;
  registry: RegistryService;
  updates: UpdatesService;
  outbox: RecordingOutbox;
  scores: Map<string, number>;
  /** Creates product `lock` and `n` active devices lock-000…; returns their ids. */
  fleet(n: number, opts?: { productId?: string; tags?: string[] }): Promise<string[]>;
  release(
    version: string,
    securityVersion: number,
    opts?: { productId?: string; minSafetyScore?: number },
  ): Promise<Release>;
}

/** The updates capability over a real database with a ManualClock and a recording outbox. */
export async function updatesFixture(t: TestContext, dialect: SqlDialect = 'sqlite'): Promise<UpdatesFixture> {
  const { dataDir } = await freshDatabase(t, 'sqlite');
  const store = await freshStore(t, dialect);
  const clock = new ManualClock(Date.UTC(2026, 2, 1));
  const bus = new InProcessBus((topic, err) => pino({ level: 'silent' }).error({ topic, err }));
  t.after(() => bus.close());
  const ledger = new LedgerService(store, clock);
  const registry = new RegistryService(store, ledger, bus, clock);
  const masterKey = randomBytes(32);
  const scores = new Map<string, number>();
  const scorer: ArtifactScorer = { score: async (_p, a) => scores.get(a.sha256) ?? 100 };
  const updates = new UpdatesService({
    store,
    ledger,
    registry,
    bus,
    clock,
    dataDir,
    scorer,
    sealer: { seal: (p, d) => seal(masterKey, p, d), unseal: (p, s) => unseal(masterKey, p, s) },
  });
  t.after(() => updates.close());
  await updates.initialize();
  const outbox = new RecordingOutbox();
  updates.useOutbox(outbox, () => 'http://127.0.0.1:1/device/v1/tuf/');
  const products = new Set<string>();
  const ensureProduct = async (id: string) => {
    if (products.has(id)) return;
    products.add(id);
    await registry.createProduct(
      { id, name: id, model: 'M', manufacturer: 'Acme', description: '', supportEnd: '2099-12-31' },
      TEST_CTX,
    );
  };
  return {
    ...{ store, clock, bus, registry, updates, outbox, scores },
    async fleet(n, opts = {}) {
      const productId = opts.productId ?? 'lock';
      await ensureProduct(productId);
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const id = `${productId}-${String(i).padStart(3, '0')}`;
        await registry.createDevice({ id, productId, serial: `S${id}`, tags: opts.tags ?? [] }, TEST_CTX);
        await registry.setDeviceStatus(id, 'active', 'enrolled', TEST_CTX);
        ids.push(id);
      }
      return ids;
    },
    async release(version, securityVersion, opts = {}) {
      const productId = opts.productId ?? 'lock';
      await ensureProduct(productId);
      const a = await updates.releases.uploadArtifact(
        Readable.from([Buffer.from(`fw ${version} ${randomBytes(4).toString('hex')}`)]),
        1 << 20,
        TEST_CTX,
      );
      const { release } = await updates.releases.createRelease(
        {
          productId,
          version,
          securityVersion,
          sha256: a.sha256,
          advisory: { cves: ['CVE-2025-0001'], severity: 'high' },
          minSafetyScore: opts.minSafetyScore,
        },
        TEST_CTX,
      );
      return release;
    },
  };
}
