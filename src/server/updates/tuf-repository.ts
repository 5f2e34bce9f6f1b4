import { type Key, Metadata, Root, Targets } from '@tufjs/models';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import {
  generateSigningKey,
  keyIdOf,
  privateKeyBytes,
  type SigningKey,
  signerFor,
  signingKeyFromPkcs8,
} from './keys.ts';
import {
  DEFAULT_EXPIRY,
  type ExpiryPolicy,
  type KeySealer,
  RESERVED_ROLE_NAMES,
  type RoleStatus,
  type TufKeyInfo,
  type TufPublicKey,
  type UpdatesErrorCode,
} from './model.ts';
import {
  type AnyMetadata,
  expiresMs,
  isoTime,
  metaFileFor,
  newSnapshot,
  newTimestamp,
  parseMetadata,
  SPEC_VERSION,
  serialize,
  validSigners,
} from './tuf-metadata.ts';
import * as db from './tuf-store.ts';

const fail = (code: UpdatesErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<UpdatesErrorCode>(code, message, details ? { details } : undefined);

export interface InitOptions {
  /** Number of root keys the server generates (convenience mode) and how many must sign. */
  rootKeys?: number;
  rootThreshold?: number;
}

/** Who may sign a role: keys and threshold as its delegator states them. */
export interface RoleKeys {
  keys: Record<string, Key>;
  keyIds: string[];
  threshold: number;
}

/**
 * The TUF repository inside the server (TUF spec §4). Metadata is authored with @tufjs/models and stored
 * as the exact bytes served. Online keys (timestamp, snapshot, and any server-held key) are sealed with
 * the master key; offline keys never reach the server: their roles change through drafts that are
 * exported, signed elsewhere and imported (see tuf-drafts.ts).
 */
export class TufRepository {
  readonly store: Store;
  readonly clock: Clock;
  readonly expiry: ExpiryPolicy;
  readonly #sealer: KeySealer;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: Store, sealer: KeySealer, clock: Clock, expiry: ExpiryPolicy = DEFAULT_EXPIRY) {
    this.store = store;
    this.#sealer = sealer;
    this.clock = clock;
    this.expiry = expiry;
  }

  /** Runs repository changes one at a time in this process, each in one transaction. */
  serial<T>(fn: (tx: AnyDb) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => this.store.transaction(fn));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Creates root v1 and the other top-level roles on first start; does nothing afterwards. */
  async initialize(opts: InitOptions = {}): Promise<void> {
    const n = opts.rootKeys ?? 1;
    const threshold = opts.rootThreshold ?? 1;
    if (n < 1 || threshold < 1 || threshold > n) throw fail('TUF_KEY_INVALID', 'root threshold must be 1..keys');
    await this.serial(async (tx) => {
      if (await db.findMetadata(tx, 'root')) return;
      const rootKeys = Array.from({ length: n }, () => generateSigningKey());
      const [targetsKey, snapshotKey, timestampKey] = [
        generateSigningKey(),
        generateSigningKey(),
        generateSigningKey(),
      ];
      for (const k of rootKeys) await this.#saveOnlineKey(tx, 'root', k);
      await this.#saveOnlineKey(tx, 'targets', targetsKey);
      await this.#saveOnlineKey(tx, 'snapshot', snapshotKey);
      await this.#saveOnlineKey(tx, 'timestamp', timestampKey);
      const now = this.clock.now();
      const role = (ks: SigningKey[], t = 1) => ({ keyids: ks.map((k) => k.keyId), threshold: t });
      const keys = Object.fromEntries(
        [...rootKeys, targetsKey, snapshotKey, timestampKey].map((k) => [k.keyId, k.publicKey]),
      );
      // Built through fromJSON: @tufjs/models exports no Role/Delegations constructors, and this way
      // what we sign is exactly what a client parses.
      const root = new Metadata(
        Root.fromJSON({
          _type: 'root',
          spec_version: SPEC_VERSION,
          version: 1,
          expires: isoTime(now + this.expiry.root),
          keys,
          roles: {
            root: role(rootKeys, threshold),
            targets: role([targetsKey]),
            snapshot: role([snapshotKey]),
            timestamp: role([timestampKey]),
          },
          consistent_snapshot: true,
        } as never),
      );
      for (const k of rootKeys) root.sign(signerFor(k));
      await this.storeMetadata(tx, 'root', root);
      const targets = new Metadata(
        Targets.fromJSON({
          _type: 'targets',
          spec_version: SPEC_VERSION,
          version: 1,
          expires: isoTime(now + this.expiry.targets),
          targets: {},
          delegations: { keys: {}, roles: [] },
        }),
      );
      targets.sign(signerFor(targetsKey));
      await this.storeMetadata(tx, 'targets', targets);
      await this.bumpSnapshot(tx);
    });
  }

  async #saveOnlineKey(tx: AnyDb, role: string, key: SigningKey): Promise<void> {
    await db.insertKey(tx, {
      keyId: key.keyId,
      role,
      publicKey: key.publicKey,
      online: true,
      sealed: this.#sealer.seal(sealPurpose(role, key.keyId), privateKeyBytes(key)),
      createdAt: this.clock.now(),
    });
  }

  /** Records a key held offline: the server knows only its public half. */
  async saveOfflineKey(tx: AnyDb, role: string, pub: TufPublicKey, keyId: string): Promise<void> {
    await db.insertKey(tx, { keyId, role, publicKey: pub, online: false, sealed: null, createdAt: this.clock.now() });
  }

  /** Generates and stores a server-held key for `role`. */
  async generateOnlineKey(tx: AnyDb, role: string): Promise<SigningKey> {
    const key = generateSigningKey();
    await this.#saveOnlineKey(tx, role, key);
    return key;
  }

  /** The decrypted server-held keys of a role. */
  async onlineKeys(tx: AnyDb, role: string): Promise<SigningKey[]> {
    const rows = await db.listKeys(tx, role);
    return rows
      .filter((k) => k.sealed !== null)
      .map((k) => signingKeyFromPkcs8(this.#sealer.unseal(sealPurpose(role, k.keyId), k.sealed!), k.keyId));
  }

  /** Signs `md` with every server-held key of `role` that `allowed` lists. */
  async signOnline(tx: AnyDb, md: AnyMetadata, role: string, allowed: readonly string[]): Promise<void> {
    for (const k of await this.onlineKeys(tx, role)) if (allowed.includes(k.keyId)) md.sign(signerFor(k));
  }

  async storeMetadata(tx: AnyDb, role: string, md: AnyMetadata): Promise<void> {
    await db.insertMetadata(tx, {
      role,
      version: md.signed.version,
      body: serialize(md),
      expires: expiresMs(md),
      createdAt: this.clock.now(),
    });
  }

  async current(tx: AnyDb, role: 'root'): Promise<Metadata<Root>>;
  async current(tx: AnyDb, role: string): Promise<Metadata<Targets>>;
  async current(tx: AnyDb, role: string): Promise<AnyMetadata> {
    const row = await db.findMetadata(tx, role);
    if (!row) throw fail(role === 'root' ? 'TUF_NOT_INITIALIZED' : 'TUF_ROLE_UNKNOWN', `no ${role} metadata`);
    return parseMetadata(role === 'root' ? 'root' : 'targets', row.body);
  }

  /** Keys and threshold for a role as the current root or targets metadata delegates it. */
  async roleKeys(tx: AnyDb, role: string, delegator?: AnyMetadata): Promise<RoleKeys> {
    if (role === 'root' || role === 'targets' || role === 'snapshot' || role === 'timestamp') {
      const root = (delegator as Metadata<Root> | undefined) ?? (await this.current(tx, 'root'));
      const r = root.signed.roles[role]!;
      return { keys: root.signed.keys, keyIds: r.keyIDs, threshold: r.threshold };
    }
    const targets = (delegator as Metadata<Targets> | undefined) ?? (await this.current(tx, 'targets'));
    const d = targets.signed.delegations?.roles?.[role];
    if (!d || !targets.signed.delegations) throw fail('TUF_DELEGATION_MISSING', `no delegation for ${role}`, { role });
    return { keys: targets.signed.delegations.keys, keyIds: d.keyIDs, threshold: d.threshold };
  }

  /** True when `md` carries valid signatures from at least the threshold of `rk`. */
  satisfied(md: AnyMetadata, rk: RoleKeys): { ok: boolean; have: number; need: number } {
    const have = validSigners(md, rk.keys, rk.keyIds).length;
    return { ok: have >= rk.threshold, have, need: rk.threshold };
  }

  /**
   * New snapshot and timestamp over the newest targets metadata (TUF 4.4, 4.5), signed by the online
   * keys. Called after every change and by the expiry scheduler.
   */
  async bumpSnapshot(tx: AnyDb): Promise<void> {
    const now = this.clock.now();
    const targets = await this.current(tx, 'targets');
    const roles = ['targets', ...Object.keys(targets.signed.delegations?.roles ?? {})];
    const meta: Record<string, ReturnType<typeof metaFileFor>> = {};
    for (const role of roles) {
      const row = await db.findMetadata(tx, role);
      if (row) meta[`${role}.json`] = metaFileFor(row.version, row.body);
    }
    const prevSnap = await db.findMetadata(tx, 'snapshot');
    const snapshot = newSnapshot((prevSnap?.version ?? 0) + 1, now + this.expiry.snapshot, meta);
    await this.signOnline(tx, snapshot, 'snapshot', (await this.roleKeys(tx, 'snapshot')).keyIds);
    await this.storeMetadata(tx, 'snapshot', snapshot);
    await this.bumpTimestamp(tx);
  }

  async bumpTimestamp(tx: AnyDb): Promise<void> {
    const snap = await db.findMetadata(tx, 'snapshot');
    if (!snap) throw fail('TUF_NOT_INITIALIZED', 'no snapshot metadata');
    const prev = await db.findMetadata(tx, 'timestamp');
    const ts = newTimestamp(
      (prev?.version ?? 0) + 1,
      this.clock.now() + this.expiry.timestamp,
      metaFileFor(snap.version, snap.body),
    );
    await this.signOnline(tx, ts, 'timestamp', (await this.roleKeys(tx, 'timestamp')).keyIds);
    await this.storeMetadata(tx, 'timestamp', ts);
  }

  /**
   * A metadata file as clients request it (consistent snapshots, TUF 5.3–5.6): `N.root.json`,
   * `timestamp.json`, `N.snapshot.json`, `N.targets.json`, `N.<product>.json`, and the unversioned
   * names for people. Null when there is no such file.
   */
  async metadataFile(name: string): Promise<string | null> {
    const versioned = /^([1-9]\d{0,9})\.(.+)\.json$/.exec(name);
    if (versioned) return (await db.findMetadata(this.store.db, versioned[2]!, Number(versioned[1])))?.body ?? null;
    const plain = /^(.+)\.json$/.exec(name);
    if (!plain) return null;
    return (await db.findMetadata(this.store.db, plain[1]!))?.body ?? null;
  }

  /** The targets metadata with a delegation for `productId` added (next version, unsigned). */
  async withDelegation(
    tx: AnyDb,
    productId: string,
    pubs: TufPublicKey[],
    threshold: number,
  ): Promise<Metadata<Targets>> {
    if (RESERVED_ROLE_NAMES.has(productId)) {
      throw fail('TUF_ROLE_NAME_RESERVED', 'this product id names a top-level TUF role', { productId });
    }
    const cur = await this.current(tx, 'targets');
    const old = (cur.signed.toJSON().delegations ?? { keys: {}, roles: [] }) as DelegationsJson;
    if (old.roles.some((r) => r.name === productId)) {
      throw fail('TUF_DELEGATION_EXISTS', 'the product already has a delegation', { productId });
    }
    const keys = { ...old.keys };
    for (const p of pubs) keys[keyIdOf(p)] = p;
    const role = {
      name: productId,
      keyids: pubs.map(keyIdOf),
      threshold,
      // Terminating, and only this product's path prefix: one product's key can never vouch for
      // another product's firmware (TUF 4.3 delegations, "paths").
      terminating: true,
      paths: [`${productId}/*`],
    };
    return this.nextTargets(cur, { delegations: { keys, roles: [...old.roles, role] } });
  }

  /** The next version of targets-type metadata with changed fields and a fresh expiry, unsigned. */
  nextTargets(
    cur: Metadata<Targets>,
    change: { targets?: Record<string, unknown>; delegations?: DelegationsJson },
    lifetime = this.expiry.targets,
  ): Metadata<Targets> {
    const json = cur.signed.toJSON() as Record<string, unknown>;
    return new Metadata(
      Targets.fromJSON({
        ...json,
        version: cur.signed.version + 1,
        expires: isoTime(this.clock.now() + lifetime),
        ...(change.targets ? { targets: change.targets } : {}),
        ...(change.delegations ? { delegations: change.delegations } : {}),
      } as never),
    );
  }

  /** Keys the repository knows (public halves), and whether the server holds each. */
  async listKeys(): Promise<TufKeyInfo[]> {
    return (await db.listKeys(this.store.db)).map(({ sealed: _s, ...k }) => k);
  }

  /** Version, expiry, threshold and keys of every role, and whether a draft waits for signatures. */
  async status(): Promise<RoleStatus[]> {
    const tx = this.store.db;
    const versions = await db.latestVersions(tx);
    const drafts = new Set(await db.listDraftRoles(tx));
    const keys = await db.listKeys(tx);
    const out: RoleStatus[] = [];
    for (const [role, v] of versions) {
      const rk = await this.roleKeys(tx, role).catch(() => undefined);
      out.push({
        role,
        version: v.version,
        expires: isoTime(v.expires),
        threshold: rk?.threshold ?? 0,
        keys: (rk?.keyIds ?? []).map((id) => ({ keyId: id, online: keys.some((k) => k.keyId === id && k.online) })),
        pendingDraft: drafts.has(role),
      });
    }
    for (const role of drafts)
      if (!versions.has(role)) out.push({ role, version: 0, expires: '', threshold: 0, keys: [], pendingDraft: true });
    return out;
  }
}

export interface DelegationsJson {
  keys: Record<string, TufPublicKey>;
  roles: Array<{ name: string; keyids: string[]; threshold: number; terminating: boolean; paths: string[] }>;
}

/** The sealing purpose binds a ciphertext to its role and key id (AES-GCM associated data). */
function sealPurpose(role: string, keyId: string): string {
  return `tuf-key:${role}:${keyId}`;
}
