import { randomBytes } from 'node:crypto';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError } from '../../protocol/errors.ts';
import { DEVICE_ID_RE } from '../../protocol/topics.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Device, RegistryService } from '../registry/index.ts';
import type { Store } from '../store/store.types.ts';
import type { CertificateAuthority } from './ca.ts';
import {
  type DeviceAuthRefusal,
  type DeviceCertificate,
  IDENTITY_LIMITS,
  type IdentityErrorCode,
  type ManufacturerCa,
} from './model.ts';
import * as db from './store.ts';
import { fingerprintOf, parseCertificate, sha256Hex, x509 } from './x509-util.ts';

const fail = (code: IdentityErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<IdentityErrorCode>(code, message, details ? { details } : undefined);

/** A refused device connection; `details.reason` says why (counters, logs, `mqtt.refused`). */
export function refusal(reason: DeviceAuthRefusal, deviceId: string | null): FleetwardError<IdentityErrorCode> {
  return fail('DEVICE_AUTH_REFUSED', `device connection refused: ${reason}`, { reason, deviceId });
}

export interface AuthenticatedDevice {
  device: Device;
  /** Serial of the certificate the session is bound to: revoking it ends the session. */
  serial: string;
}

export interface TrustDeps {
  store: Store;
  ledger: LedgerService;
  bus: Bus;
  clock: Clock;
  registry: RegistryService;
  ca: CertificateAuthority;
}

/**
 * Who may connect: certificates we issued (looked up by fingerprint, so a forged serial cannot pass) and
 * certificates from registered manufacturer CAs, whose devices are registered on first connection
 * (just-in-time provisioning) when the CA's product allows it.
 */
export class DeviceTrust {
  readonly #d: TrustDeps;

  constructor(deps: TrustDeps) {
    this.#d = deps;
  }

  /** PEM trust anchors for the TLS server: our root and issuing CA, plus every manufacturer CA. */
  async trustAnchors(): Promise<string[]> {
    const mcas = await db.listManufacturerCas(this.#d.store.db);
    return [...this.#d.ca.trustPems, ...mcas.map((m) => m.certificate)];
  }

  /**
   * Authenticates a device presenting `chain` (leaf first, as verified by the TLS handshake) with MQTT
   * client id `clientId`. Throws DEVICE_AUTH_REFUSED with the reason.
   */
  async authenticate(clientId: string, chain: Uint8Array[], source: string): Promise<AuthenticatedDevice> {
    const leafDer = chain[0];
    if (!leafDer) throw refusal('certificate-missing', null);
    const leaf = new x509.X509Certificate(leafDer as Uint8Array<ArrayBuffer>);
    const cn = leaf.subjectName.getField('CN')[0] ?? '';
    if (cn !== clientId) throw refusal('client-id-mismatch', DEVICE_ID_RE.test(cn) ? cn : null);
    const known = await db.findCertificateByFingerprint(this.#d.store.db, sha256Hex(leafDer));
    const record = known ?? (await this.#provision(leaf, cn, source));
    this.#checkRecord(record, cn);
    const device = await this.#d.registry.findDeviceIn(this.#d.store.db, cn);
    if (!device) throw refusal('device-unknown', cn);
    if (device.status === 'revoked' || device.status === 'retired') throw refusal('device-revoked', cn);
    return { device, serial: record.serial };
  }

  #checkRecord(c: DeviceCertificate, cn: string): void {
    const now = this.#d.clock.now();
    if (c.deviceId !== cn) throw refusal('certificate-unknown', cn);
    if (c.status === 'revoked') throw refusal('certificate-revoked', cn);
    if (c.status === 'superseded' && c.retireAt !== null && c.retireAt <= now) throw refusal('certificate-revoked', cn);
    if (c.notAfter <= now || c.notBefore > now + 5 * 60_000) throw refusal('certificate-expired', cn);
  }

  /** Just-in-time provisioning for a certificate we have not seen: only from a registered manufacturer CA. */
  async #provision(leaf: x509.X509Certificate, cn: string, source: string): Promise<DeviceCertificate> {
    const mca = await this.#findIssuingManufacturer(leaf);
    if (!mca) throw refusal('certificate-unknown', DEVICE_ID_RE.test(cn) ? cn : null);
    if (!DEVICE_ID_RE.test(cn)) throw refusal('certificate-unknown', null);
    if (!mca.autoRegister) throw refusal('jit-not-allowed', cn);
    const now = this.#d.clock.now();
    const ctx: ActionContext = { actor: `device:${cn}`, source };
    const record: DeviceCertificate = {
      serial: leaf.serialNumber.toLowerCase(),
      deviceId: cn,
      issuer: `manufacturer:${mca.id}`,
      fingerprint: fingerprintOf(leaf),
      notBefore: leaf.notBefore.getTime(),
      notAfter: leaf.notAfter.getTime(),
      status: 'active',
      retireAt: null,
      revokedAt: null,
      revokeReason: null,
      createdAt: now,
    };
    const result = await this.#d.store.transaction(async (tx) => {
      // An existing device keeps its identity: a manufacturer certificate cannot take over its id.
      if (await this.#d.registry.findDeviceIn(tx, cn)) throw refusal('certificate-unknown', cn);
      const enrolled = await this.#d.registry.enrollDeviceIn(tx, { id: cn, productId: mca.productId, serial: cn }, ctx);
      await db.insertCertificate(tx, record, leaf.toString('pem'));
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'device.enroll',
        target: `device:${cn}`,
        result: 'ok',
        details: { via: 'manufacturer-ca', manufacturerCa: mca.id, serial: record.serial },
      });
      return enrolled;
    });
    await this.#d.registry.announceEnrolled(result.device, result.created);
    await this.#d.bus.publish('device.enrolled', {
      deviceId: cn,
      productId: mca.productId,
      serial: record.serial,
      via: 'manufacturer-ca',
    });
    return record;
  }

  /** The registered manufacturer CA that signed `leaf` (checked here too, not only by the TLS layer). */
  async #findIssuingManufacturer(leaf: x509.X509Certificate): Promise<ManufacturerCa | null> {
    for (const mca of await db.listManufacturerCas(this.#d.store.db)) {
      const caCert = new x509.X509Certificate(mca.certificate);
      if (leaf.issuer !== caCert.subject) continue;
      if (await leaf.verify({ publicKey: caCert.publicKey, signatureOnly: true })) return mca;
    }
    return null;
  }

  async listManufacturerCas(): Promise<ManufacturerCa[]> {
    return db.listManufacturerCas(this.#d.store.db);
  }

  /**
   * Registers a manufacturer CA for a product. Throws MANUFACTURER_CA_INVALID (not a CA certificate,
   * expired), MANUFACTURER_CA_EXISTS, PRODUCT_NOT_FOUND.
   */
  async addManufacturerCa(
    input: { productId: string; certificate: string; autoRegister: boolean },
    ctx: ActionContext,
  ): Promise<ManufacturerCa> {
    if (input.certificate.length > IDENTITY_LIMITS.caPemChars)
      throw fail('MANUFACTURER_CA_INVALID', `the certificate exceeds ${IDENTITY_LIMITS.caPemChars} characters`);
    const cert = parseCertificate(input.certificate, 'MANUFACTURER_CA_INVALID');
    if (!cert.getExtension(x509.BasicConstraintsExtension)?.ca)
      throw fail('MANUFACTURER_CA_INVALID', 'the certificate is not a CA (basicConstraints)');
    if (cert.notAfter.getTime() <= this.#d.clock.now()) throw fail('MANUFACTURER_CA_INVALID', 'the CA has expired');
    await this.#d.registry.getProduct(input.productId);
    const mca: ManufacturerCa = {
      id: randomBytes(8).toString('hex'),
      productId: input.productId,
      subject: cert.subject,
      fingerprint: fingerprintOf(cert),
      autoRegister: input.autoRegister,
      certificate: cert.toString('pem'),
      createdAt: this.#d.clock.now(),
    };
    await this.#d.store.transaction(async (tx) => {
      if (await db.findManufacturerCaByFingerprint(tx, mca.fingerprint))
        throw fail('MANUFACTURER_CA_EXISTS', 'this CA is already registered');
      await db.insertManufacturerCa(tx, mca);
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'manufacturer-ca.create',
        target: `manufacturer-ca:${mca.id}`,
        result: 'ok',
        details: {
          productId: mca.productId,
          subject: mca.subject,
          fingerprint: mca.fingerprint,
          autoRegister: mca.autoRegister,
        },
      });
    });
    await this.#d.bus.publish('identity.trust.changed', { manufacturerCaId: mca.id });
    return mca;
  }

  /** Throws MANUFACTURER_CA_NOT_FOUND. Devices already provisioned keep their recorded certificates. */
  async removeManufacturerCa(id: string, ctx: ActionContext): Promise<void> {
    await this.#d.store.transaction(async (tx) => {
      if (!(await db.deleteManufacturerCa(tx, id))) throw fail('MANUFACTURER_CA_NOT_FOUND', 'no such manufacturer CA');
      await this.#d.ledger.appendIn(tx, {
        ...ctx,
        action: 'manufacturer-ca.delete',
        target: `manufacturer-ca:${id}`,
        result: 'ok',
      });
    });
    await this.#d.bus.publish('identity.trust.changed', { manufacturerCaId: id });
  }
}
