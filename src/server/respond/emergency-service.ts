import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import * as db from './action-store.ts';
import type { MitigationService } from './mitigation-service.ts';
import type { EmergencyAction, EmergencyKind, IdentityPort, RespondErrorCode } from './model.ts';

/** A request not approved within this time lapses (an approval must be a present decision). */
export const EMERGENCY_TTL_MS = 60 * 60_000;

const fail = (code: RespondErrorCode, message: string, details: Record<string, unknown>) =>
  new FleetwardError<RespondErrorCode>(code, message, { details });

/**
 * Fleet-wide emergency actions (revoke a CA, rotate every credential of a product, quarantine a whole
 * product) take two admins: one requests, a different one approves — the four-eyes rule that keeps a
 * single stolen admin token (or a single mistake) from bricking the fleet.
 */
export class EmergencyService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #clock: Clock;
  readonly #registry: RegistryService;
  readonly #mitigations: MitigationService;
  readonly #identity: IdentityPort | null;

  constructor(deps: {
    store: Store;
    ledger: LedgerService;
    clock: Clock;
    registry: RegistryService;
    mitigations: MitigationService;
    identity: IdentityPort | null;
  }) {
    this.#store = deps.store;
    this.#ledger = deps.ledger;
    this.#clock = deps.clock;
    this.#registry = deps.registry;
    this.#mitigations = deps.mitigations;
    this.#identity = deps.identity;
  }

  /** Records the request; nothing happens until another admin approves. Throws PRODUCT_NOT_FOUND. */
  async request(kind: EmergencyKind, target: string, reason: string, ctx: ActionContext): Promise<EmergencyAction> {
    if (kind !== 'revoke-ca') await this.#registry.getProduct(target);
    const now = this.#clock.now();
    const action: EmergencyAction = {
      id: `em-${now.toString(36).padStart(9, '0')}-${randomBytes(5).toString('hex')}`,
      kind,
      target,
      reason,
      state: 'pending',
      requestedBy: ctx.actor,
      requestedAt: now,
      expiresAt: now + EMERGENCY_TTL_MS,
      decidedBy: null,
      decidedAt: null,
      result: null,
    };
    await this.#store.transaction(async (tx) => {
      await db.insertEmergency(tx, action);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'emergency.request',
        target: `emergency:${action.id}`,
        result: 'ok',
        details: { kind, target, reason },
      });
    });
    return action;
  }

  async list(limit = 100): Promise<EmergencyAction[]> {
    return db.listEmergencies(this.#store.db, limit);
  }

  /** Throws EMERGENCY_NOT_FOUND. */
  async get(id: string): Promise<EmergencyAction> {
    const a = await db.findEmergency(this.#store.db, id);
    if (!a) throw fail('EMERGENCY_NOT_FOUND', 'no such emergency action', { id });
    return a;
  }

  /**
   * A second admin approves: verified (different admin, still pending, not expired) before anything
   * runs, then executed. Throws EMERGENCY_NOT_FOUND, EMERGENCY_SAME_ADMIN, EMERGENCY_NOT_PENDING,
   * EMERGENCY_EXPIRED. An execution failure is recorded in the action (state `failed`), not thrown.
   */
  async approve(id: string, ctx: ActionContext): Promise<EmergencyAction> {
    const approved = await this.#decide(id, ctx, 'approve');
    let result: Record<string, unknown>;
    let state: EmergencyAction['state'] = 'executed';
    try {
      result = await this.#execute(approved, ctx);
    } catch (err) {
      state = 'failed';
      result = { code: err instanceof FleetwardError ? err.code : 'INTERNAL' };
    }
    const done: EmergencyAction = { ...approved, state, result };
    await this.#store.transaction(async (tx) => {
      await db.updateEmergency(tx, done);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'emergency.execute',
        target: `emergency:${id}`,
        result: state === 'executed' ? 'ok' : 'failed',
        details: { kind: done.kind, target: done.target, ...result },
      });
    });
    return done;
  }

  /** Any admin (the requester included) may reject a pending request. */
  async reject(id: string, ctx: ActionContext): Promise<EmergencyAction> {
    return this.#decide(id, ctx, 'reject');
  }

  async #decide(id: string, ctx: ActionContext, how: 'approve' | 'reject'): Promise<EmergencyAction> {
    const now = this.#clock.now();
    const decided = await this.#store.transaction(async (tx): Promise<EmergencyAction | 'expired'> => {
      const a = await db.findEmergency(tx, id);
      if (!a) throw fail('EMERGENCY_NOT_FOUND', 'no such emergency action', { id });
      if (a.state !== 'pending')
        throw fail('EMERGENCY_NOT_PENDING', `the action is ${a.state}`, { id, state: a.state });
      if (now > a.expiresAt) {
        // Commit the lapse itself, then refuse: the caller learns why, the record says what happened.
        await db.updateEmergency(tx, { ...a, state: 'expired' });
        return 'expired';
      }
      if (how === 'approve' && a.requestedBy === ctx.actor) {
        throw fail('EMERGENCY_SAME_ADMIN', 'a different admin must approve', { id });
      }
      const next: EmergencyAction = {
        ...a,
        state: how === 'approve' ? 'pending' : 'rejected',
        decidedBy: ctx.actor,
        decidedAt: now,
      };
      await db.updateEmergency(tx, next);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: `emergency.${how}`,
        target: `emergency:${id}`,
        result: 'ok',
        details: { kind: a.kind, target: a.target, requestedBy: a.requestedBy },
      });
      return next;
    });
    if (decided === 'expired') throw fail('EMERGENCY_EXPIRED', 'the request lapsed; request it again', { id });
    return decided;
  }

  async #execute(a: EmergencyAction, ctx: ActionContext): Promise<Record<string, unknown>> {
    const identity = this.#identity;
    switch (a.kind) {
      case 'quarantine-product':
        return this.#eachDevice(a, (id) => this.#mitigations.quarantine(id, `emergency ${a.id}: ${a.reason}`, ctx));
      case 'revoke-ca':
        if (!identity?.revokeCa) throw fail('MITIGATION_UNAVAILABLE', 'CA revocation is not available', {});
        await identity.revokeCa(a.target, a.reason, ctx);
        return {};
      case 'rotate-product-credentials': {
        const rotate = identity?.rotateDevice?.bind(identity);
        if (!rotate) throw fail('MITIGATION_UNAVAILABLE', 'credential rotation is not available', {});
        return this.#eachDevice(a, (id) => rotate(id, ctx));
      }
    }
  }

  /** Runs `fn` for every live device of the product; one device's failure does not stop the rest. */
  async #eachDevice(a: EmergencyAction, fn: (deviceId: string) => Promise<unknown>): Promise<Record<string, unknown>> {
    let after: string | undefined;
    let done = 0;
    let failed = 0;
    do {
      const page = await this.#registry.listDevices({ productId: a.target }, after, 500);
      for (const d of page.items) {
        if (d.status === 'revoked' || d.status === 'retired') continue;
        try {
          await fn(d.id);
          done++;
        } catch {
          failed++;
        }
      }
      after = page.next ?? undefined;
    } while (after);
    return { devices: done, failed };
  }
}
