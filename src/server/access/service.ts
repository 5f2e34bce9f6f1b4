import { createHash, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import { hashSecret, issueSecretToken, newTokenId, parseSecretToken, secretMatches } from '../crypto/secret-token.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Store } from '../store/store.types.ts';
import type { AccessErrorCode, ApiTokenInfo, IssuedToken, Operator, Principal, Role } from './model.ts';
import * as db from './store.ts';

const BOOTSTRAP_KEY = 'bootstrap_token_hash';
const DAY_MS = 86_400_000;
/** Touching last_used_at on every request would turn reads into writes; once a minute is enough. */
const TOUCH_INTERVAL_MS = 60_000;

const fail = (code: AccessErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<AccessErrorCode>(code, message, details ? { details } : undefined);

export interface AccessOptions {
  /** Lifetime of a new API token unless the request asks for less. */
  defaultTokenTtlDays: number;
  maxTokenTtlDays: number;
}

/** Operators, their roles and API tokens, and the one-time bootstrap of the first admin. */
export class AccessService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #clock: Clock;
  readonly #options: AccessOptions;

  constructor(store: Store, ledger: LedgerService, clock: Clock, options: AccessOptions) {
    this.#store = store;
    this.#ledger = ledger;
    this.#clock = clock;
    this.#options = options;
  }

  /**
   * While no operator exists, arms a one-time bootstrap token: `preset` (from the environment, for
   * automation) or a fresh random one, which is returned so the caller can show it once. No default password.
   */
  async prepareBootstrap(preset?: string): Promise<{ generated: string | null; open: boolean }> {
    const conn = this.#store.db;
    if ((await db.countOperators(conn)) > 0) {
      await db.deleteSetting(conn, BOOTSTRAP_KEY);
      return { generated: null, open: false };
    }
    const token = preset || issueSecretToken('bootstrap').token;
    await db.putSetting(conn, BOOTSTRAP_KEY, sha256(token));
    return { generated: preset ? null : token, open: true };
  }

  /** Creates the first admin with the bootstrap token and returns its API token. Throws UNAUTHORIZED, BOOTSTRAP_CLOSED. */
  async bootstrap(
    token: string,
    name: string,
    ctx: ActionContext,
  ): Promise<{ operator: Operator; token: IssuedToken }> {
    return this.#store.transaction(async (tx) => {
      const stored = await db.getSetting(tx, BOOTSTRAP_KEY);
      if ((await db.countOperators(tx)) > 0 || !stored) throw fail('BOOTSTRAP_CLOSED', 'bootstrap is closed');
      const presented = Buffer.from(sha256(token), 'hex');
      if (!timingSafeEqual(presented, Buffer.from(stored, 'hex'))) throw fail('UNAUTHORIZED', 'unauthorized');
      const operator = this.#newOperator(name, 'admin');
      await db.insertOperator(tx, operator);
      await db.deleteSetting(tx, BOOTSTRAP_KEY);
      const issued = await this.#issue(tx, operator.id, 'bootstrap', this.#options.defaultTokenTtlDays);
      const actor = { ...ctx, actor: `operator:${operator.id}` };
      await this.#ledger.appendIn(tx, {
        ...actor,
        action: 'operator.bootstrap',
        target: `operator:${operator.id}`,
        result: 'ok',
        details: { name, role: 'admin', tokenId: issued.id },
      });
      return { operator, token: issued };
    });
  }

  /** Resolves a bearer token to its operator. Throws UNAUTHORIZED for anything not a live token of an enabled operator. */
  async authenticate(bearer: string): Promise<Principal> {
    const parsed = parseSecretToken('api', bearer);
    if (!parsed) throw fail('UNAUTHORIZED', 'unauthorized');
    const conn = this.#store.db;
    const found = await db.findTokenWithHash(conn, parsed.id);
    // Compare even when the row is missing, so timing does not tell which token ids exist.
    const ok = secretMatches(parsed.secret, found?.hash);
    const now = this.#clock.now();
    if (!found || !ok || found.info.revokedAt !== null || found.info.expiresAt <= now) {
      throw fail('UNAUTHORIZED', 'unauthorized');
    }
    const operator = await db.findOperator(conn, found.info.operatorId);
    if (!operator || operator.disabledAt !== null) throw fail('UNAUTHORIZED', 'unauthorized');
    if (found.info.lastUsedAt === null || now - found.info.lastUsedAt > TOUCH_INTERVAL_MS) {
      await db.touchToken(conn, found.info.id, now);
    }
    return { operatorId: operator.id, name: operator.name, role: operator.role, tokenId: found.info.id };
  }

  async listOperators(): Promise<Operator[]> {
    return db.listOperators(this.#store.db);
  }

  async getOperator(id: string): Promise<Operator> {
    const op = await db.findOperator(this.#store.db, id);
    if (!op) throw fail('OPERATOR_NOT_FOUND', 'no such operator', { id });
    return op;
  }

  /** Throws OPERATOR_NAME_TAKEN. */
  async createOperator(name: string, role: Role, ctx: ActionContext): Promise<Operator> {
    return this.#store.transaction(async (tx) => {
      if (await db.findOperatorByName(tx, name))
        throw fail('OPERATOR_NAME_TAKEN', 'an operator has this name', { name });
      const operator = this.#newOperator(name, role);
      await db.insertOperator(tx, operator);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'operator.create',
        target: `operator:${operator.id}`,
        result: 'ok',
        details: { name, role },
      });
      return operator;
    });
  }

  /** Changes role or disables; disabling revokes every token. Throws OPERATOR_NOT_FOUND, LAST_ADMIN. */
  async updateOperator(id: string, patch: { role?: Role; disabled?: boolean }, ctx: ActionContext): Promise<Operator> {
    return this.#store.transaction(async (tx) => {
      const op = await db.findOperator(tx, id);
      if (!op) throw fail('OPERATOR_NOT_FOUND', 'no such operator', { id });
      const losesAdmin =
        op.role === 'admin' &&
        op.disabledAt === null &&
        (patch.disabled || (patch.role !== undefined && patch.role !== 'admin'));
      if (losesAdmin && (await db.countOperators(tx, 'admin')) <= 1) {
        throw fail('LAST_ADMIN', 'the last enabled admin cannot be demoted or disabled');
      }
      const now = this.#clock.now();
      const disabledAt = patch.disabled === undefined ? op.disabledAt : patch.disabled ? (op.disabledAt ?? now) : null;
      await db.updateOperator(tx, id, { role: patch.role ?? op.role, disabled_at: disabledAt });
      if (patch.disabled) await db.revokeTokensOf(tx, id, now);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'operator.update',
        target: `operator:${id}`,
        result: 'ok',
        details: { ...patch },
      });
      return { ...op, role: patch.role ?? op.role, disabledAt };
    });
  }

  /** Issues a token for `operatorId`; the secret is in the result only. Throws OPERATOR_NOT_FOUND. */
  async issueToken(
    operatorId: string,
    name: string,
    ttlDays: number | undefined,
    ctx: ActionContext,
  ): Promise<IssuedToken> {
    return this.#store.transaction(async (tx) => {
      const op = await db.findOperator(tx, operatorId);
      if (!op || op.disabledAt !== null) throw fail('OPERATOR_NOT_FOUND', 'no such operator', { id: operatorId });
      const days = Math.min(ttlDays ?? this.#options.defaultTokenTtlDays, this.#options.maxTokenTtlDays);
      const issued = await this.#issue(tx, operatorId, name, days);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'token.create',
        target: `token:${issued.id}`,
        result: 'ok',
        details: { operatorId, name, expiresAt: issued.expiresAt },
      });
      return issued;
    });
  }

  async listTokens(operatorId?: string): Promise<ApiTokenInfo[]> {
    return db.listTokens(this.#store.db, operatorId);
  }

  /** Revokes a token; only its owner or an admin may. Throws TOKEN_NOT_FOUND (also for others' tokens). */
  async revokeToken(id: string, by: Principal, ctx: ActionContext): Promise<void> {
    await this.#store.transaction(async (tx) => {
      const found = await db.findTokenWithHash(tx, id);
      // Someone else's token is reported as missing, so non-admins cannot probe token ids.
      if (!found || (by.role !== 'admin' && found.info.operatorId !== by.operatorId)) {
        throw fail('TOKEN_NOT_FOUND', 'no such token', { id });
      }
      if (found.info.revokedAt === null) await db.revokeToken(tx, id, this.#clock.now());
      await this.#ledger.appendIn(tx, { ...ctx, action: 'token.revoke', target: `token:${id}`, result: 'ok' });
    });
  }

  #newOperator(name: string, role: Role): Operator {
    return { id: newTokenId(), name, role, createdAt: this.#clock.now(), disabledAt: null };
  }

  async #issue(
    tx: Parameters<typeof db.insertToken>[0],
    operatorId: string,
    name: string,
    days: number,
  ): Promise<IssuedToken> {
    const { id, secret, token } = issueSecretToken('api');
    const now = this.#clock.now();
    const info: ApiTokenInfo = {
      id,
      operatorId,
      name,
      createdAt: now,
      expiresAt: now + days * DAY_MS,
      lastUsedAt: null,
      revokedAt: null,
    };
    await db.insertToken(tx, info, hashSecret(secret));
    return { ...info, token };
  }
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
