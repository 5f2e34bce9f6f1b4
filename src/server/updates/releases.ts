import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Product, RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import type { ArtifactFiles } from './artifacts.ts';
import type { Advisory, ArtifactScorer, Release, StoredArtifact, UpdatesErrorCode } from './model.ts';
import * as db from './release-store.ts';
import type { PublishResult, TufService } from './tuf-service.ts';

const fail = (code: UpdatesErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<UpdatesErrorCode>(code, message, details ? { details } : undefined);

export interface NewRelease {
  productId: string;
  version: string;
  securityVersion: number;
  sha256: string;
  notes?: string | undefined;
  advisory?: Partial<Advisory> | undefined;
  minSafetyScore?: number | null | undefined;
}

export interface ReleaseDeps {
  store: Store;
  ledger: LedgerService;
  registry: RegistryService;
  tuf: TufService;
  artifacts: ArtifactFiles;
  scorer: ArtifactScorer | null;
  bus: Bus;
  clock: Clock;
}

/** Releases: a signed artifact, its security version, notes and advisory; published through TUF. */
export class ReleaseService {
  readonly #d: ReleaseDeps;

  constructor(deps: ReleaseDeps) {
    this.#d = deps;
  }

  /** Streams an artifact to disk (size-limited, hashed). Throws UPLOAD_TOO_LARGE, UPLOAD_EMPTY. */
  async uploadArtifact(body: Readable, maxBytes: number, ctx: ActionContext): Promise<StoredArtifact> {
    const a = await this.#d.artifacts.receive(body, maxBytes);
    await this.#d.store.transaction(async (tx) => {
      await db.insertArtifact(tx, a, this.#d.clock.now());
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'artifact.upload',
        target: `artifact:${a.sha256}`,
        result: 'ok',
        details: { length: a.length },
      });
    });
    return a;
  }

  /**
   * Creates a release and publishes its target through the product's TUF role (signed at once with a
   * server-held key, or left awaiting offline signatures). Warns when the product is past its support
   * end. Throws PRODUCT_NOT_FOUND, ARTIFACT_NOT_FOUND, RELEASE_EXISTS,
   * RELEASE_SECURITY_VERSION_NOT_INCREASING, TUF_ROLE_NAME_RESERVED.
   */
  async createRelease(input: NewRelease, ctx: ActionContext): Promise<{ release: Release; warnings: string[] }> {
    const product = await this.#d.registry.getProduct(input.productId);
    const warnings = supportWarnings(product, this.#d.clock.now());
    const release = await this.#d.store.transaction(async (tx) => {
      const artifact = await db.findArtifact(tx, input.sha256);
      if (!artifact) throw fail('ARTIFACT_NOT_FOUND', 'upload the artifact first', { sha256: input.sha256 });
      if (await db.findReleaseByVersion(tx, input.productId, input.version)) {
        throw fail('RELEASE_EXISTS', 'the product already has a release with this version', { version: input.version });
      }
      const highest = await db.highestSecurityVersion(tx, input.productId);
      // Anti-rollback starts here: a release can never carry a security version devices already passed.
      if (highest !== null && input.securityVersion <= highest) {
        throw fail('RELEASE_SECURITY_VERSION_NOT_INCREASING', `securityVersion must exceed ${highest}`, { highest });
      }
      const r = this.#newRelease(input, artifact, ctx);
      await db.insertRelease(tx, r);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'release.create',
        target: `release:${r.id}`,
        result: 'ok',
        details: {
          productId: r.productId,
          version: r.version,
          securityVersion: r.securityVersion,
          sha256: r.sha256,
          advisory: r.advisory,
          warnings,
        },
      });
      return r;
    });
    await this.#d.tuf.ensureDelegation(input.productId, {}, ctx);
    await this.publishProduct(input.productId, ctx);
    const fresh = await this.getRelease(release.id);
    await this.#d.bus.publish('release.created', {
      releaseId: fresh.id,
      productId: fresh.productId,
      version: fresh.version,
      advisory: fresh.advisory,
      warnings,
    });
    return { release: fresh, warnings };
  }

  #newRelease(input: NewRelease, artifact: StoredArtifact, ctx: ActionContext): Release {
    return {
      id: `rel-${randomBytes(6).toString('hex')}`,
      productId: input.productId,
      version: input.version,
      securityVersion: input.securityVersion,
      notes: input.notes ?? '',
      advisory: { cves: [...new Set(input.advisory?.cves ?? [])].sort(), severity: input.advisory?.severity ?? 'none' },
      minSafetyScore: input.minSafetyScore ?? null,
      safetyScore: null,
      targetPath: `${input.productId}/${input.productId}-${input.version}.fw`,
      sha256: artifact.sha256,
      length: artifact.length,
      state: 'awaiting-signature',
      createdAt: this.#d.clock.now(),
      createdBy: ctx.actor,
    };
  }

  /** Writes every release of the product into its TUF role, then marks what is signed as published. */
  async publishProduct(productId: string, ctx: ActionContext): Promise<PublishResult> {
    const releases = await db.listProductReleases(this.#d.store.db, productId);
    const targets = Object.fromEntries(
      releases.map((r) => [
        r.targetPath,
        {
          length: r.length,
          hashes: { sha256: r.sha256 },
          // Signed with the target, so the agent's anti-rollback check relies on the product key, not on the command.
          custom: { releaseId: r.id, version: r.version, securityVersion: r.securityVersion },
        },
      ]),
    );
    const result = await this.#d.tuf.setProductTargets(productId, targets, ctx);
    await this.syncPublished();
    return result;
  }

  /** Marks releases whose targets are now in signed metadata as published (after an offline import too). */
  async syncPublished(): Promise<void> {
    for (const productId of await db.productsAwaitingSignature(this.#d.store.db)) {
      const signed = await this.#d.tuf.publishedTargets(productId);
      for (const r of await db.listProductReleases(this.#d.store.db, productId)) {
        if (r.state === 'awaiting-signature' && signed.has(r.targetPath)) {
          await this.#d.store.transaction(async (tx) => {
            await db.setReleaseState(tx, r.id, 'published');
            await this.#d.ledger.appendIn(tx, {
              actor: 'system',
              source: null,
              action: 'release.publish',
              target: `release:${r.id}`,
              result: 'ok',
              details: { targetPath: r.targetPath },
            });
          });
        }
      }
    }
  }

  /** Throws RELEASE_NOT_FOUND. */
  async getRelease(id: string): Promise<Release> {
    const r = await db.findRelease(this.#d.store.db, id);
    if (!r) throw fail('RELEASE_NOT_FOUND', 'no such release', { id });
    return r;
  }

  async listReleases(filter: { productId?: string | undefined }, after: string | undefined, limit: number) {
    const rows = await db.listReleases(this.#d.store.db, filter, after, limit + 1);
    const items = rows.slice(0, limit);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null };
  }

  /** The release of the same product just below this one in security version, if any. */
  async previousRelease(release: Release): Promise<Release | null> {
    const all = await db.listProductReleases(this.#d.store.db, release.productId);
    const older = all.filter((r) => r.securityVersion < release.securityVersion && r.state === 'published');
    return older.at(-1) ?? null;
  }

  /**
   * The release gate: published, and at least its minimum firmware safety score. Throws
   * RELEASE_NOT_PUBLISHED, RELEASE_GATE_FAILED (details: score, minSafetyScore).
   */
  async assertRollable(release: Release, ctx: ActionContext): Promise<void> {
    if (release.state !== 'published') {
      throw fail('RELEASE_NOT_PUBLISHED', 'the release awaits TUF signatures (fleetward tuf export-unsigned)', {
        id: release.id,
      });
    }
    if (release.minSafetyScore === null) return;
    if (!this.#d.scorer) throw fail('RELEASE_GATE_FAILED', 'no firmware analysis is available to score the artifact');
    const name = release.targetPath.split('/')[1]!;
    const score = await this.#d.scorer.score(this.#d.artifacts.pathOf(release.sha256), {
      sha256: release.sha256,
      length: release.length,
      name,
    });
    await this.#d.store.transaction(async (tx) => {
      await db.setSafetyScore(tx, release.id, score);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'release.gate',
        target: `release:${release.id}`,
        result: score >= release.minSafetyScore! ? 'ok' : 'rejected',
        details: { score, minSafetyScore: release.minSafetyScore },
      });
    });
    if (score < release.minSafetyScore) {
      throw fail(
        'RELEASE_GATE_FAILED',
        `firmware safety score ${score} is below the required ${release.minSafetyScore}`,
        {
          score,
          minSafetyScore: release.minSafetyScore,
        },
      );
    }
  }
}

/** EN 303 645 5.3-13: a product past its published support period still updates, but everyone is told. */
export function supportWarnings(product: Product, now: number): string[] {
  return isSupportExpired(product, now)
    ? [`product ${product.id} is past its published support period (ended ${product.supportEnd})`]
    : [];
}

export function isSupportExpired(product: Pick<Product, 'supportEnd'>, now: number): boolean {
  // supportEnd is the last supported day, inclusive (UTC).
  return Date.parse(`${product.supportEnd}T23:59:59.999Z`) < now;
}
