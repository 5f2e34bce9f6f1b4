import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Store } from '../store/store.types.ts';
import type { DetectErrorCode, SecurityProfile } from './model.ts';
import { checkProfile } from './profile-rules.ts';
import * as db from './store.ts';

export type NewProfile = Omit<SecurityProfile, 'createdAt' | 'updatedAt'>;
export type ProfilePatch = Partial<Omit<SecurityProfile, 'id' | 'createdAt' | 'updatedAt'>>;

const fail = (code: DetectErrorCode, message: string, id: string) =>
  new FleetwardError<DetectErrorCode>(code, message, { details: { id } });

/** Security profiles: stored, ledgered, and pushed to the detector the moment they change. */
export class ProfileService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #clock: Clock;
  readonly #listeners: Array<() => void> = [];

  constructor(store: Store, ledger: LedgerService, clock: Clock) {
    this.#store = store;
    this.#ledger = ledger;
    this.#clock = clock;
  }

  /** Called after every committed change (the detector reloads its profiles). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  async list(): Promise<SecurityProfile[]> {
    return db.listProfiles(this.#store.db);
  }

  /** Throws PROFILE_NOT_FOUND. */
  async get(id: string): Promise<SecurityProfile> {
    const p = await db.findProfile(this.#store.db, id);
    if (!p) throw fail('PROFILE_NOT_FOUND', 'no such security profile', id);
    return p;
  }

  /** Throws PROFILE_EXISTS, PROFILE_INVALID. */
  async create(input: NewProfile, ctx: ActionContext): Promise<SecurityProfile> {
    checkProfile(input);
    const now = this.#clock.now();
    const profile: SecurityProfile = { ...input, createdAt: now, updatedAt: now };
    await this.#store.transaction(async (tx) => {
      if (await db.findProfile(tx, input.id)) throw fail('PROFILE_EXISTS', 'a security profile has this id', input.id);
      await db.insertProfile(tx, profile);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'security-profile.create',
        target: `security-profile:${profile.id}`,
        result: 'ok',
        details: summary(profile),
      });
    });
    this.#changed();
    return profile;
  }

  /** Throws PROFILE_NOT_FOUND, PROFILE_INVALID. */
  async update(id: string, patch: ProfilePatch, ctx: ActionContext): Promise<SecurityProfile> {
    const next = await this.#store.transaction(async (tx) => {
      const p = await db.findProfile(tx, id);
      if (!p) throw fail('PROFILE_NOT_FOUND', 'no such security profile', id);
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      const updated: SecurityProfile = { ...p, ...defined, updatedAt: this.#clock.now() };
      checkProfile(updated);
      await db.updateProfile(tx, updated);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'security-profile.update',
        target: `security-profile:${id}`,
        result: 'ok',
        details: { changed: Object.keys(defined), ...summary(updated) },
      });
      return updated;
    });
    this.#changed();
    return next;
  }

  /** Throws PROFILE_NOT_FOUND. */
  async delete(id: string, ctx: ActionContext): Promise<void> {
    await this.#store.transaction(async (tx) => {
      if (!(await db.findProfile(tx, id))) throw fail('PROFILE_NOT_FOUND', 'no such security profile', id);
      await db.deleteProfile(tx, id);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'security-profile.delete',
        target: `security-profile:${id}`,
        result: 'ok',
      });
    });
    this.#changed();
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }
}

function summary(p: SecurityProfile): Record<string, unknown> {
  return {
    enabled: p.enabled,
    targets: p.targets.map((t) => `${t.kind}:${t.value}`),
    behaviours: p.behaviours.map((b) => `${b.name}(${b.kind})`),
    mitigations: p.mitigations,
  };
}
