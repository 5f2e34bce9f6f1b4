import { Metadata, Root, Targets } from '@tufjs/models';
import { FleetwardError } from '../../protocol/errors.ts';
import { type ActionContext, type LedgerService, SYSTEM_ACTOR } from '../ledger/index.ts';
import type { AnyDb } from '../store/store.types.ts';
import { keyIdOf, parsePublicKey } from './keys.ts';
import type { TufPublicKey, UpdatesErrorCode } from './model.ts';
import {
  type AnyMetadata,
  isoTime,
  mergeSignatures,
  parseMetadata,
  pruneSignatures,
  SPEC_VERSION,
  sameSigned,
  serialize,
} from './tuf-metadata.ts';
import type { RoleKeys, TufRepository } from './tuf-repository.ts';
import * as db from './tuf-store.ts';

const fail = (code: UpdatesErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<UpdatesErrorCode>(code, message, details ? { details } : undefined);

export interface PublishResult {
  published: string[];
  pending: Array<{ role: string; have: number; need: number }>;
}

export interface RootChange {
  /** Public keys of the new root role (offline keys made with `fleetward keys generate`). */
  rootKeys: TufPublicKey[];
  rootThreshold: number;
  targetsKeys?: TufPublicKey[] | undefined;
  targetsThreshold?: number | undefined;
  /** New online snapshot and timestamp keys: the answer to a compromised online key. */
  rotateOnline?: boolean | undefined;
}

/**
 * Changes to signed roles. Every change becomes a draft; the server signs it with the keys it holds;
 * a draft is published as soon as its signatures reach the threshold — at once for server-held keys,
 * after `fleetward tuf sign` + `import-signed` for offline ones.
 */
export class TufService {
  readonly repo: TufRepository;
  readonly #ledger: LedgerService;

  constructor(repo: TufRepository, ledger: LedgerService) {
    this.repo = repo;
    this.#ledger = ledger;
  }

  /** Publishes what it can and records the change with its outcome, in the same transaction. */
  async #finish(
    tx: AnyDb,
    ctx: ActionContext,
    action: string,
    target: string,
    details: Record<string, unknown>,
  ): Promise<PublishResult> {
    const result = await this.#tryPublish(tx);
    await this.#ledger.appendIn(tx, { ...ctx, action, target, result: 'ok', details: { ...details, ...result } });
    return result;
  }

  /** The product's delegated role exists (public keys given: offline; none: a server-held key). */
  async ensureDelegation(
    productId: string,
    opts: { keys?: TufPublicKey[] | undefined; threshold?: number | undefined },
    ctx: ActionContext,
  ): Promise<PublishResult> {
    return this.repo.serial(async (tx) => {
      const targets = await this.#targetsView(tx);
      if (targets.signed.delegations?.roles?.[productId]) return { published: [], pending: [] };
      let pubs = (opts.keys ?? []).map(parsePublicKey);
      if (pubs.length === 0) pubs = [(await this.repo.generateOnlineKey(tx, productId)).publicKey];
      else for (const p of pubs) await this.repo.saveOfflineKey(tx, productId, p, keyIdOf(p));
      const threshold = opts.threshold ?? 1;
      if (threshold < 1 || threshold > pubs.length) throw fail('TUF_KEY_INVALID', 'threshold must be 1..keys');
      await this.#stage(tx, 'targets', await this.repo.withDelegation(tx, productId, pubs, threshold));
      const online = opts.keys === undefined || opts.keys.length === 0;
      return this.#finish(tx, ctx, 'tuf.delegate', `tuf:${productId}`, { keys: pubs.map(keyIdOf), threshold, online });
    });
  }

  async hasDelegation(productId: string): Promise<boolean> {
    const targets = await this.#targetsView(this.repo.store.db);
    return Boolean(targets.signed.delegations?.roles?.[productId]);
  }

  /**
   * Sets the product role's targets (every release of the product). Refuses any path outside the
   * product's prefix: the server never authors metadata its delegation would not cover.
   */
  async setProductTargets(
    productId: string,
    targets: Record<string, unknown>,
    ctx: ActionContext,
  ): Promise<PublishResult> {
    for (const path of Object.keys(targets)) {
      if (!path.startsWith(`${productId}/`) || path.slice(productId.length + 1).includes('/')) {
        throw fail('TUF_TARGET_OUTSIDE_DELEGATION', 'a target lies outside the product delegation', { path });
      }
    }
    return this.repo.serial(async (tx) => {
      const published = await db.findMetadata(tx, productId);
      // Drafts replace each other at the same version: the published one plus one.
      const base = published ? parseMetadata('targets', published.body) : emptyTargets();
      const next = this.repo.nextTargets(base, { targets }, this.repo.expiry.product);
      await this.#stage(tx, productId, next);
      return this.#finish(tx, ctx, 'tuf.targets', `tuf:${productId}`, { targets: Object.keys(targets).length });
    });
  }

  /** Target paths the product's published (signed) metadata lists. */
  async publishedTargets(productId: string): Promise<Set<string>> {
    const row = await db.findMetadata(this.repo.store.db, productId);
    return new Set(row ? Object.keys(parseMetadata('targets', row.body).signed.targets) : []);
  }

  /** Starts a root rotation (TUF 5.3.4: the new root must be signed by the old and the new threshold). */
  async draftRoot(change: RootChange, ctx: ActionContext): Promise<PublishResult> {
    return this.repo.serial(async (tx) => {
      const cur = await this.repo.current(tx, 'root');
      const json = cur.signed.toJSON() as unknown as {
        keys: Record<string, TufPublicKey>;
        roles: Record<string, { keyids: string[]; threshold: number }>;
      };
      const roles = structuredClone(json.roles);
      const keys: Record<string, TufPublicKey> = { ...json.keys };
      const setRole = async (role: string, pubs: TufPublicKey[], threshold: number) => {
        if (pubs.length === 0 || threshold < 1 || threshold > pubs.length) {
          throw fail('TUF_KEY_INVALID', `${role}: threshold must be 1..keys`);
        }
        for (const p of pubs.map(parsePublicKey)) {
          keys[keyIdOf(p)] = p;
          await this.repo.saveOfflineKey(tx, role, p, keyIdOf(p));
        }
        roles[role] = { keyids: pubs.map(keyIdOf), threshold };
      };
      await setRole('root', change.rootKeys, change.rootThreshold);
      if (change.targetsKeys) await setRole('targets', change.targetsKeys, change.targetsThreshold ?? 1);
      if (change.rotateOnline) {
        for (const role of ['snapshot', 'timestamp']) {
          const k = await this.repo.generateOnlineKey(tx, role);
          keys[k.keyId] = k.publicKey;
          roles[role] = { keyids: [k.keyId], threshold: 1 };
        }
      }
      const used = new Set(Object.values(roles).flatMap((r) => r.keyids));
      const next = new Metadata(
        Root.fromJSON({
          ...json,
          version: cur.signed.version + 1,
          expires: isoTime(this.repo.clock.now() + this.repo.expiry.root),
          keys: Object.fromEntries(Object.entries(keys).filter(([id]) => used.has(id))),
          roles,
        } as never),
      );
      await this.#stage(tx, 'root', next);
      if (change.targetsKeys) {
        // The published targets would not verify under the new root: re-sign them in the same publication.
        const t = await this.repo.current(tx, 'targets');
        const draft = await db.findDraft(tx, 'targets');
        await this.#stage(tx, 'targets', draft ? parseMetadata('targets', draft) : this.repo.nextTargets(t, {}));
      }
      return this.#finish(tx, ctx, 'tuf.root-draft', 'tuf:root', {
        version: next.signed.version,
        rootKeys: roles.root!.keyids,
        rootThreshold: roles.root!.threshold,
        rotateOnline: Boolean(change.rotateOnline),
      });
    });
  }

  /** The draft of a role, as `fleetward tuf export-unsigned` writes it. Throws TUF_DRAFT_NOT_FOUND. */
  async exportDraft(role: string): Promise<unknown> {
    const body = await db.findDraft(this.repo.store.db, role);
    if (!body) throw fail('TUF_DRAFT_NOT_FOUND', 'no draft waits for signatures for this role', { role });
    return JSON.parse(body);
  }

  /**
   * Imports offline signatures: each item must carry exactly the draft's signed content; only valid
   * signatures of authorized keys are kept; whatever reaches its threshold is published together.
   * Throws TUF_DRAFT_NOT_FOUND, TUF_METADATA_INVALID.
   */
  async importSigned(items: Array<{ role: string; metadata: unknown }>, ctx: ActionContext): Promise<PublishResult> {
    return this.repo.serial(async (tx) => {
      for (const { role, metadata } of items) {
        const body = await db.findDraft(tx, role);
        if (!body) throw fail('TUF_DRAFT_NOT_FOUND', 'no draft waits for signatures for this role', { role });
        const kind = role === 'root' ? 'root' : 'targets';
        const draft = parseMetadata(kind, body);
        const incoming = parseMetadata(kind, metadata);
        if (!sameSigned(draft, incoming)) {
          throw fail('TUF_METADATA_INVALID', 'the signed content differs from the draft; export it again', { role });
        }
        const rk = await this.#signers(tx, role, draft);
        mergeSignatures(draft, incoming, rk.keys, rk.keyIds);
        await db.saveDraft(tx, role, serialize(draft), this.repo.clock.now());
      }
      return this.#finish(tx, ctx, 'tuf.import', 'tuf:drafts', { roles: items.map((i) => i.role) });
    });
  }

  /** Keys that may sign a draft of `role`: for root, the old and the new root keys together. */
  async #signers(tx: AnyDb, role: string, draft: AnyMetadata): Promise<RoleKeys> {
    if (role === 'root') {
      const oldRk = await this.repo.roleKeys(tx, 'root');
      const newRk = await this.repo.roleKeys(tx, 'root', draft);
      return { keys: { ...oldRk.keys, ...newRk.keys }, keyIds: [...oldRk.keyIds, ...newRk.keyIds], threshold: 0 };
    }
    if (role === 'targets') return this.repo.roleKeys(tx, 'targets', await this.#rootView(tx));
    return this.repo.roleKeys(tx, role, await this.#targetsView(tx));
  }

  /** Saves a draft, signed by the server-held keys allowed to sign it. */
  async #stage(tx: AnyDb, role: string, md: AnyMetadata): Promise<void> {
    const rk = await this.#signers(tx, role, md);
    const holder = role === 'root' ? 'root' : role;
    await this.repo.signOnline(tx, md, holder, rk.keyIds);
    await db.saveDraft(tx, role, serialize(md), this.repo.clock.now());
  }

  /** The root as it will be once a pending root draft is published (or the current one). */
  async #rootView(tx: AnyDb): Promise<Metadata<Root>> {
    const d = await db.findDraft(tx, 'root');
    return d ? parseMetadata('root', d) : this.repo.current(tx, 'root');
  }

  async #targetsView(tx: AnyDb): Promise<Metadata<Targets>> {
    const d = await db.findDraft(tx, 'targets');
    return d ? parseMetadata('targets', d) : this.repo.current(tx, 'targets');
  }

  /** Publishes every draft whose signatures suffice, root first, then targets, then products. */
  async #tryPublish(tx: AnyDb): Promise<PublishResult> {
    const result: PublishResult = { published: [], pending: [] };
    const drafts = await db.listDraftRoles(tx);
    let root = await this.repo.current(tx, 'root');
    let targets = await this.repo.current(tx, 'targets');
    const targetsDraft = drafts.includes('targets')
      ? parseMetadata('targets', (await db.findDraft(tx, 'targets'))!)
      : null;
    if (drafts.includes('root')) {
      const next = parseMetadata('root', (await db.findDraft(tx, 'root'))!);
      const byOld = this.repo.satisfied(next, await this.repo.roleKeys(tx, 'root', root));
      const byNew = this.repo.satisfied(next, await this.repo.roleKeys(tx, 'root', next));
      const targetsOk = this.repo.satisfied(targetsDraft ?? targets, await this.repo.roleKeys(tx, 'targets', next)).ok;
      if (byOld.ok && byNew.ok && targetsOk) {
        pruneSignatures(next, { ...root.signed.keys, ...next.signed.keys }, [
          ...root.signed.roles.root!.keyIDs,
          ...next.signed.roles.root!.keyIDs,
        ]);
        await this.repo.storeMetadata(tx, 'root', next);
        await db.deleteDraft(tx, 'root');
        result.published.push('root');
        root = next;
      } else {
        result.pending.push({
          role: 'root',
          have: Math.min(byOld.have, byNew.have),
          need: Math.max(byOld.need, byNew.need),
        });
      }
    }
    if (targetsDraft) {
      // Checked against the root in force now: a draft signed by the keys of a still-pending root waits for it.
      const rk = await this.repo.roleKeys(tx, 'targets', root);
      const s = this.repo.satisfied(targetsDraft, rk);
      if (s.ok) {
        pruneSignatures(targetsDraft, rk.keys, rk.keyIds);
        await this.repo.storeMetadata(tx, 'targets', targetsDraft);
        await db.deleteDraft(tx, 'targets');
        result.published.push('targets');
        targets = targetsDraft;
      } else result.pending.push({ role: 'targets', have: s.have, need: s.need });
    }
    for (const role of drafts.filter((r) => r !== 'root' && r !== 'targets')) {
      const md = parseMetadata('targets', (await db.findDraft(tx, role))!);
      const rk = await this.repo.roleKeys(tx, role, targets).catch(() => null);
      const s = rk ? this.repo.satisfied(md, rk) : { ok: false, have: 0, need: 1 };
      if (rk && s.ok) {
        pruneSignatures(md, rk.keys, rk.keyIds);
        await this.repo.storeMetadata(tx, role, md);
        await db.deleteDraft(tx, role);
        result.published.push(role);
      } else result.pending.push({ role, have: s.have, need: s.need });
    }
    if (result.published.length > 0) await this.repo.bumpSnapshot(tx);
    return result;
  }

  /**
   * Re-signs what is about to expire, before it does (TUF 5.4.4 freeze attack: clients refuse expired
   * metadata, so the repository must never let it lapse). Online roles at half-life; targets, product
   * and root roles only when the server holds enough of their keys. Returns the roles re-signed.
   */
  async refreshExpiring(): Promise<string[]> {
    return this.repo.serial(async (tx) => {
      const now = this.repo.clock.now();
      const versions = await db.latestVersions(tx);
      const drafts = new Set(await db.listDraftRoles(tx));
      const due = (role: string, lifetime: number) => {
        const v = versions.get(role);
        return v !== undefined && v.expires - now < lifetime / 2 && !drafts.has(role);
      };
      const renewed: string[] = [];
      for (const [role] of versions) {
        if (role === 'snapshot' || role === 'timestamp' || role === 'root') continue;
        const lifetime = role === 'targets' ? this.repo.expiry.targets : this.repo.expiry.product;
        if (due(role, lifetime) && (await this.#resignWithOnline(tx, role, lifetime))) renewed.push(role);
      }
      if (due('root', this.repo.expiry.root) && (await this.#resignRoot(tx))) renewed.push('root');
      if (renewed.length > 0 || due('snapshot', this.repo.expiry.snapshot)) {
        await this.repo.bumpSnapshot(tx);
        renewed.push('snapshot', 'timestamp');
      } else if (due('timestamp', this.repo.expiry.timestamp)) {
        await this.repo.bumpTimestamp(tx);
        renewed.push('timestamp');
      }
      if (renewed.length > 0) {
        await this.#ledger.appendIn(tx, {
          ...SYSTEM_ACTOR,
          action: 'tuf.resign',
          target: 'tuf:roles',
          result: 'ok',
          details: { renewed },
        });
      }
      return renewed;
    });
  }

  async #resignWithOnline(tx: AnyDb, role: string, lifetime: number): Promise<boolean> {
    const cur = await this.repo.current(tx, role);
    const rk = await this.repo.roleKeys(tx, role);
    const next = this.repo.nextTargets(cur, {}, lifetime);
    await this.repo.signOnline(tx, next, role, rk.keyIds);
    if (!this.repo.satisfied(next, rk).ok) return false;
    await this.repo.storeMetadata(tx, role, next);
    return true;
  }

  async #resignRoot(tx: AnyDb): Promise<boolean> {
    const cur = await this.repo.current(tx, 'root');
    const next = new Metadata(
      Root.fromJSON({
        ...(cur.signed.toJSON() as object),
        version: cur.signed.version + 1,
        expires: isoTime(this.repo.clock.now() + this.repo.expiry.root),
      } as never),
    );
    const rk = await this.repo.roleKeys(tx, 'root', cur);
    await this.repo.signOnline(tx, next, 'root', rk.keyIds);
    if (!this.repo.satisfied(next, rk).ok) return false;
    await this.repo.storeMetadata(tx, 'root', next);
    return true;
  }
}

/** Version 0 of a product role: what its first version derives from. */
function emptyTargets(): Metadata<Targets> {
  return new Metadata(
    Targets.fromJSON({ _type: 'targets', spec_version: SPEC_VERSION, version: 0, expires: isoTime(0), targets: {} }),
  );
}
