import type { Clock } from '../../protocol/clock.ts';
import { COMMAND_VERSION, type Command } from '../../protocol/commands.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import type { Bus } from '../bus/bus.types.ts';
import { hashSecret, issueSecretToken, parseSecretToken, secretMatches } from '../crypto/secret-token.ts';
import type { DeviceOutbox } from '../gateway/gateway.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Device, Page, RegistryService } from '../registry/index.ts';
import type { AnyDb, Store } from '../store/store.types.ts';
import type { CertificateAuthority } from './ca.ts';
import { type ParsedCsr, parseCsr } from './csr.ts';
import type {
  CaInfo,
  DeviceCertificate,
  EnrollmentTokenInfo,
  EnrollResult,
  IdentityErrorCode,
  IdentityOptions,
  IssuedEnrollmentToken,
} from './model.ts';
import * as db from './store.ts';

const HOUR_MS = 3_600_000;

const fail = (code: IdentityErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<IdentityErrorCode>(code, message, details ? { details } : undefined);

export interface IdentityDeps {
  store: Store;
  ledger: LedgerService;
  bus: Bus;
  clock: Clock;
  registry: RegistryService;
  ca: CertificateAuthority;
  options: IdentityOptions;
}

export interface NewEnrollmentTokens {
  productId: string;
  deviceId?: string | undefined;
  count?: number | undefined;
  ttlHours?: number | undefined;
}

/**
 * Device identity: enrollment tokens, certificate issuance from CSRs, revocation, rotation and the CRL.
 * Every change is in the ledger; certificates are kept (never deleted) so revocations stay provable.
 */
export class IdentityService {
  readonly #d: IdentityDeps;
  #outbox: DeviceOutbox | null = null;
  #crl: { pem: string; der: Uint8Array; builtAt: number } | null = null;

  constructor(deps: IdentityDeps) {
    this.#d = deps;
  }

  /** The transport that reaches devices (built after this service; see main.ts). */
  useOutbox(outbox: DeviceOutbox): void {
    this.#outbox = outbox;
  }

  get ca(): CertificateAuthority {
    return this.#d.ca;
  }

  caInfo(): CaInfo {
    return this.#d.ca.info();
  }

  /** Single-use tokens for one product, optionally bound to one device id. Throws PRODUCT_NOT_FOUND. */
  async createEnrollmentTokens(input: NewEnrollmentTokens, ctx: ActionContext): Promise<IssuedEnrollmentToken[]> {
    await this.#d.registry.getProduct(input.productId);
    const now = this.#d.clock.now();
    const ttl = (input.ttlHours ?? this.#d.options.enrollTokenTtlHours) * HOUR_MS;
    const issued = Array.from({ length: input.deviceId ? 1 : (input.count ?? 1) }, () => {
      const { id, secret, token } = issueSecretToken('enroll');
      const info: EnrollmentTokenInfo = {
        id,
        kind: 'enroll',
        productId: input.productId,
        deviceId: input.deviceId ?? null,
        createdAt: now,
        expiresAt: now + ttl,
        usedAt: null,
        usedBy: null,
      };
      return { info, secretHash: hashSecret(secret), token };
    });
    await this.#d.store.transaction(async (tx) => {
      for (const i of issued) await db.insertToken(tx, { ...i.info, secretHash: i.secretHash }, ctx.actor);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'enrollment-token.create',
        target: `product:${input.productId}`,
        result: 'ok',
        details: { ids: issued.map((i) => i.info.id), deviceId: input.deviceId ?? null, expiresAt: now + ttl },
      });
    });
    return issued.map((i) => ({ ...i.info, token: i.token }));
  }

  async listEnrollmentTokens(
    productId: string | undefined,
    after: string | undefined,
    limit: number,
  ): Promise<Page<EnrollmentTokenInfo>> {
    const rows = await db.listTokens(this.#d.store.db, productId, after, limit + 1);
    const items = rows.slice(0, limit).map(({ secretHash: _, ...info }) => info);
    return { items, next: rows.length > limit ? items.at(-1)!.id : null };
  }

  /** Throws ENROLL_TOKEN_NOT_FOUND. */
  async revokeEnrollmentToken(id: string, ctx: ActionContext): Promise<void> {
    await this.#d.store.transaction(async (tx) => {
      if (!(await db.deleteToken(tx, id))) throw fail('ENROLL_TOKEN_NOT_FOUND', 'no such enrollment token', { id });
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'enrollment-token.revoke',
        target: `token:${id}`,
        result: 'ok',
      });
    });
  }

  /**
   * Enrolls a device: token, then CSR, then device, checked in that order before anything is written;
   * the token is claimed, the device made active and the certificate stored in one transaction.
   * Throws ENROLL_TOKEN_INVALID/EXPIRED/USED, CSR_INVALID, CSR_WEAK_KEY, CSR_SUBJECT_MISMATCH,
   * ENROLL_DEVICE_CONFLICT, DEVICE_NOT_ENROLLABLE, DEVICE_EXISTS.
   */
  async enroll(input: { token: string; csr: string }, source: string | null): Promise<EnrollResult> {
    const parsed = parseSecretToken('enroll', input.token);
    if (!parsed) throw fail('ENROLL_TOKEN_INVALID', 'enrollment token invalid');
    const token = await this.#checkToken(this.#d.store.db, parsed);
    const csr = await parseCsr(input.csr);
    if (token.deviceId !== null && csr.deviceId !== token.deviceId) {
      throw fail('CSR_SUBJECT_MISMATCH', 'the CSR names another device than the token', { deviceId: csr.deviceId });
    }
    await this.#checkDevice(this.#d.store.db, token, csr);
    const now = this.#d.clock.now();
    const issued = await this.#d.ca.issueDevice(csr.deviceId, csr.publicKey, now, this.#d.options.certValidityDays);
    const ctx: ActionContext = { actor: `device:${csr.deviceId}`, source };
    const via = token.kind === 'rotate' ? 'rotation' : 'token';
    const { device, created, replaced } = await this.#d.store.transaction(async (tx) => {
      await this.#checkToken(tx, parsed);
      await this.#checkDevice(tx, token, csr);
      if (!(await db.claimToken(tx, token.id, now, csr.deviceId)))
        throw fail('ENROLL_TOKEN_USED', 'enrollment token already used');
      const enrolled = await this.#d.registry.enrollDeviceIn(
        tx,
        { id: csr.deviceId, productId: token.productId, serial: csr.hardwareSerial ?? csr.deviceId },
        ctx,
      );
      const replaced = await this.#replaceCertificates(tx, csr.deviceId, via, now);
      await db.insertCertificate(tx, this.#newRecord(csr.deviceId, 'fleetward', issued, now), issued.pem);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'device.enroll',
        target: `device:${csr.deviceId}`,
        result: 'ok',
        details: { via, tokenId: token.id, serial: issued.serial, key: csr.keyDescription, notAfter: issued.notAfter },
      });
      return { ...enrolled, replaced };
    });
    await this.#afterEnroll(device, created, issued.serial, via, replaced);
    return {
      deviceId: csr.deviceId,
      certificate: issued.pem,
      chain: this.#d.ca.chainPems,
      caCertificate: this.#d.ca.rootPem,
    };
  }

  async listCertificates(deviceId: string): Promise<DeviceCertificate[]> {
    await this.#d.registry.getDevice(deviceId);
    return db.listDeviceCertificates(this.#d.store.db, deviceId);
  }

  /**
   * Revokes every certificate of a device and marks it `revoked`, at once: live sessions are ended and
   * reconnects refused. Throws DEVICE_NOT_FOUND.
   */
  async revokeDevice(deviceId: string, reason: string, ctx: ActionContext): Promise<DeviceCertificate[]> {
    const { registry } = this.#d;
    await registry.getDevice(deviceId);
    const now = this.#d.clock.now();
    // One transaction: a crash can never leave the certificates revoked but the device active, or the reverse.
    const revoked = await this.#d.store.transaction(async (tx) => {
      const live = await db.liveCertificates(tx, deviceId);
      for (const c of live) await db.revoke(tx, c.serial, now, reason);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'device.revoke',
        target: `device:${deviceId}`,
        result: 'ok',
        details: { reason, serials: live.map((c) => c.serial) },
      });
      await registry.setDeviceStatusIn(tx, deviceId, 'revoked', reason, ctx);
      return live;
    });
    // Side effects only after the commit: events (broker status cache, CRL refresh) and the live session.
    await registry.announceUpdated(deviceId);
    await this.#announceRevoked(deviceId, revoked, reason);
    await this.#outbox?.disconnect(deviceId, 'revoked').catch(() => {});
    return revoked;
  }

  /**
   * Asks a device (over its command topic) for a new CSR: sends a single-use token bound to it. The old
   * certificate is superseded when the new one is issued and revoked after the grace period. Throws
   * DEVICE_NOT_FOUND, DEVICE_NOT_ENROLLABLE.
   */
  async rotate(deviceId: string, ctx: ActionContext): Promise<{ tokenId: string; expiresAt: number }> {
    const device = await this.#d.registry.getDevice(deviceId);
    if (device.status === 'revoked' || device.status === 'retired')
      throw fail('DEVICE_NOT_ENROLLABLE', `a ${device.status} device cannot rotate its certificate`, { deviceId });
    const now = this.#d.clock.now();
    const { id, secret, token } = issueSecretToken('enroll');
    const expiresAt = now + this.#d.options.rotationTokenTtlMs;
    const info: EnrollmentTokenInfo = {
      id,
      kind: 'rotate',
      productId: device.productId,
      deviceId,
      createdAt: now,
      expiresAt,
      usedAt: null,
      usedBy: null,
    };
    await this.#d.store.transaction(async (tx) => {
      await db.insertToken(tx, { ...info, secretHash: hashSecret(secret) }, ctx.actor);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'device.rotate',
        target: `device:${deviceId}`,
        result: 'ok',
        details: { tokenId: id, expiresAt },
      });
    });
    const command: Command = {
      v: COMMAND_VERSION,
      id: `rotate-${id}`,
      type: 'rotate-credentials',
      issuedAt: now,
      expiresAt,
      token,
    };
    await this.#outbox?.sendCommand(deviceId, command);
    return { tokenId: id, expiresAt };
  }

  /** `rotate` under the name response's IdentityPort uses (respond/model.ts). */
  rotateDevice(deviceId: string, ctx: ActionContext): Promise<{ tokenId: string; expiresAt: number }> {
    return this.rotate(deviceId, ctx);
  }

  /** Revokes rotated-out certificates whose grace period has ended; returns how many. Run periodically. */
  async retireDue(): Promise<number> {
    const now = this.#d.clock.now();
    const due = await db.dueForRetirement(this.#d.store.db, now);
    for (const c of due) {
      await this.#d.store.transaction(async (tx) => {
        await db.revoke(tx, c.serial, now, 'superseded');
        await this.#d.ledger.appendIn(tx, {
          actor: 'system',
          source: null,
          action: 'certificate.retire',
          target: `device:${c.deviceId}`,
          result: 'ok',
          details: { serial: c.serial, reason: 'superseded' },
        });
      });
      await this.#announceRevoked(c.deviceId, [c], 'superseded');
    }
    return due.length;
  }

  /** The current CRL, rebuilt after each revocation and at least daily. */
  async crl(): Promise<{ pem: string; der: Uint8Array }> {
    const now = this.#d.clock.now();
    if (!this.#crl || now - this.#crl.builtAt > 24 * HOUR_MS) {
      const entries = await db.revokedForCrl(this.#d.store.db, now);
      this.#crl = { ...(await this.#d.ca.buildCrl(entries, now)), builtAt: now };
    }
    return this.#crl;
  }

  /** Verify the token in a fixed order: exists, secret matches (constant time), unused, unexpired. */
  async #checkToken(conn: AnyDb, parsed: { id: string; secret: string }): Promise<db.StoredToken> {
    const token = await db.findToken(conn, parsed.id);
    // Compared even when the row is missing, so timing does not tell which token ids exist.
    const matches = secretMatches(parsed.secret, token?.secretHash);
    if (!token || !matches) throw fail('ENROLL_TOKEN_INVALID', 'enrollment token invalid');
    if (token.usedAt !== null) throw fail('ENROLL_TOKEN_USED', 'enrollment token already used');
    if (token.expiresAt <= this.#d.clock.now()) throw fail('ENROLL_TOKEN_EXPIRED', 'enrollment token expired');
    return token;
  }

  /** A free token may not claim an existing device's id (that would hijack its identity). */
  async #checkDevice(conn: AnyDb, token: db.StoredToken, csr: ParsedCsr): Promise<void> {
    const existing = await this.#d.registry.findDeviceIn(conn, csr.deviceId);
    if (!existing) {
      if (token.kind === 'rotate') throw fail('DEVICE_NOT_ENROLLABLE', 'the device no longer exists');
      return;
    }
    if (token.deviceId === null)
      throw fail('ENROLL_DEVICE_CONFLICT', 'a device has this id; choose another', { deviceId: csr.deviceId });
    if (existing.productId !== token.productId)
      throw fail('ENROLL_DEVICE_CONFLICT', 'the device belongs to another product', { deviceId: csr.deviceId });
    if (existing.status === 'revoked' || existing.status === 'retired')
      throw fail('DEVICE_NOT_ENROLLABLE', `the device is ${existing.status}`, { deviceId: csr.deviceId });
  }

  /** Rotation keeps the old certificate for the grace period; a re-enrollment revokes it at once. */
  async #replaceCertificates(tx: AnyDb, deviceId: string, via: string, now: number): Promise<DeviceCertificate[]> {
    const live = (await db.liveCertificates(tx, deviceId)).filter((c) => c.status === 'active');
    for (const c of live) {
      if (via === 'rotation') await db.supersede(tx, c.serial, now + this.#d.options.rotationGraceMs);
      else await db.revoke(tx, c.serial, now, 're-enrolled');
    }
    return via === 'rotation' ? [] : live;
  }

  #newRecord(
    deviceId: string,
    issuer: string,
    c: { serial: string; fingerprint: string; notBefore: number; notAfter: number },
    now: number,
  ): DeviceCertificate {
    return {
      serial: c.serial,
      deviceId,
      issuer,
      fingerprint: c.fingerprint,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      status: 'active',
      retireAt: null,
      revokedAt: null,
      revokeReason: null,
      createdAt: now,
    };
  }

  async #afterEnroll(
    device: Device,
    created: boolean,
    serial: string,
    via: 'token' | 'rotation',
    replaced: DeviceCertificate[],
  ): Promise<void> {
    await this.#d.registry.announceEnrolled(device, created);
    await this.#d.bus.publish('device.enrolled', { deviceId: device.id, productId: device.productId, serial, via });
    await this.#announceRevoked(device.id, replaced, 're-enrolled');
  }

  async #announceRevoked(deviceId: string, certs: DeviceCertificate[], reason: string): Promise<void> {
    if (certs.length === 0) return;
    this.#crl = null;
    for (const c of certs) {
      await this.#d.bus.publish('device.certificate.revoked', { deviceId, serial: c.serial, reason });
    }
  }
}
