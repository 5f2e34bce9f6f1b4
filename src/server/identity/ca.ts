import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { FleetwardError } from '../../protocol/errors.ts';
import { seal, unseal, writePrivateFile } from './keys-at-rest.ts';
import type { CaInfo, IdentityErrorCode } from './model.ts';
import {
  ECDSA_SHA256,
  exportPkcs8,
  fingerprintOf,
  generateEcKeys,
  importSigningKey,
  newSerial,
  parseCertificate,
  splitPem,
  toPem,
  x509,
} from './x509-util.ts';

const DAY_MS = 86_400_000;
const ROOT_DAYS = 20 * 365;
const ISSUING_DAYS = 10 * 365;
/** Devices' clocks drift; backdating notBefore a little keeps a fresh certificate usable at once. */
const BACKDATE_MS = 5 * 60_000;

const fail = (code: IdentityErrorCode, message: string, cause?: unknown) =>
  new FleetwardError<IdentityErrorCode>(code, message, cause === undefined ? undefined : { cause });

interface Issuer {
  cert: x509.X509Certificate;
  key: CryptoKey;
  algorithm: Algorithm;
}

export interface IssuedCert {
  pem: string;
  serial: string;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
}

/** What the CA keeps in the data directory; keys sealed with the master key (keys-at-rest.ts). */
const files = (dataDir: string) => {
  const dir = join(dataDir, 'ca');
  return {
    rootCert: join(dir, 'root.pem'),
    rootKey: join(dir, 'root.key'),
    issuingCert: join(dir, 'issuing.pem'),
    issuingKey: join(dir, 'issuing.key'),
  };
};

/**
 * The built-in certificate authority: an offline-style root (ECDSA P-256) that signs only the issuing
 * intermediate, and the issuing CA that signs device and server certificates and the CRL.
 */
export class CertificateAuthority {
  readonly #root: x509.X509Certificate;
  readonly #issuer: Issuer;
  readonly #imported: boolean;

  private constructor(root: x509.X509Certificate, issuer: Issuer, imported: boolean) {
    this.#root = root;
    this.#issuer = issuer;
    this.#imported = imported;
  }

  /** Loads the CA from `dataDir`, creating root and issuing CA on first start. Throws CA_KEY_UNREADABLE, CA_INVALID. */
  static async open(dataDir: string, masterKey: Buffer, now: number): Promise<CertificateAuthority> {
    const f = files(dataDir);
    if (!existsSync(f.issuingCert)) await create(dataDir, masterKey, now);
    const root = parseCertificate(readFileSync(f.rootCert, 'utf8'), 'CA_INVALID');
    const cert = parseCertificate(readFileSync(f.issuingCert, 'utf8'), 'CA_INVALID');
    const { key, algorithm } = importSigningKey(unseal(masterKey, 'issuing', readFileSync(f.issuingKey, 'utf8')));
    return new CertificateAuthority(root, { cert, key, algorithm }, !existsSync(f.rootKey));
  }

  /**
   * Replaces the issuing CA with a company's own (certificate, its private key, the chain up to its root).
   * Verifies that the key matches and the chain links before writing anything. Throws CA_INVALID.
   */
  static async importIssuing(
    dataDir: string,
    masterKey: Buffer,
    input: { certificatePem: string; privateKeyPem: string; chainPem: string },
  ): Promise<void> {
    const cert = parseCertificate(input.certificatePem, 'CA_INVALID');
    const chain = input.chainPem.trim() ? splitPem(input.chainPem).map((p) => parseCertificate(p, 'CA_INVALID')) : [];
    const root = chain.at(-1) ?? cert;
    if (!(await cert.isSelfSigned()) && chain.length === 0)
      throw fail('CA_INVALID', 'the chain up to the root is missing');
    let child = cert;
    for (const parent of chain) {
      if (!(await child.verify({ publicKey: parent, signatureOnly: true })))
        throw fail('CA_INVALID', 'the chain does not link: a signature does not verify');
      child = parent;
    }
    const bc = cert.getExtension(x509.BasicConstraintsExtension);
    if (!bc?.ca) throw fail('CA_INVALID', 'the imported certificate is not a CA (basicConstraints)');
    let signing: ReturnType<typeof importSigningKey>;
    try {
      signing = importSigningKey(input.privateKeyPem);
    } catch (err) {
      throw fail('CA_INVALID', 'the private key cannot be read', err);
    }
    // Prove the key belongs to the certificate: sign a probe and verify it with the certificate's key.
    const probe = await x509.X509CertificateGenerator.create({
      subject: 'CN=probe',
      issuer: cert.subject,
      publicKey: cert.publicKey,
      signingKey: signing.key,
      signingAlgorithm: signing.algorithm,
    });
    if (!(await probe.verify({ publicKey: cert.publicKey, signatureOnly: true })))
      throw fail('CA_INVALID', 'the private key does not match the certificate');
    const pkcs8 = createPrivateKey(input.privateKeyPem).export({ format: 'der', type: 'pkcs8' });
    const f = files(dataDir);
    writePrivateFile(f.issuingKey, seal(masterKey, 'issuing', pkcs8));
    writePrivateFile(f.issuingCert, [cert, ...chain.slice(0, -1)].map((c) => c.toString('pem')).join('\n'));
    writePrivateFile(f.rootCert, root.toString('pem'));
    // Without our own root key the CA is "imported": there is nothing of ours left to sign intermediates.
    rmSync(f.rootKey, { force: true });
  }

  /** The trust anchor devices pin. */
  get rootPem(): string {
    return this.#root.toString('pem');
  }

  /** Intermediate certificates between a device certificate and the root. */
  get chainPems(): string[] {
    return this.#issuer.cert.equal(this.#root) ? [] : [this.#issuer.cert.toString('pem')];
  }

  /** Root plus intermediates: what a TLS server verifying our devices trusts. */
  get trustPems(): string[] {
    return [this.rootPem, ...this.chainPems];
  }

  get issuingFingerprint(): string {
    return fingerprintOf(this.#issuer.cert);
  }

  info(): CaInfo {
    const describe = (c: x509.X509Certificate) => ({
      subject: c.subject,
      fingerprint: fingerprintOf(c),
      notAfter: c.notAfter.getTime(),
      certificate: c.toString('pem'),
    });
    return { root: describe(this.#root), issuing: describe(this.#issuer.cert), imported: this.#imported };
  }

  /** A device certificate: CN and SAN URI name the device; clientAuth only (RFC 5280 4.2.1.12). */
  async issueDevice(
    deviceId: string,
    publicKey: x509.PublicKey,
    now: number,
    validityDays: number,
  ): Promise<IssuedCert> {
    return this.#issue({
      subject: `CN=${deviceId}`,
      publicKey,
      now,
      validityMs: validityDays * DAY_MS,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `urn:fleetward:device:${deviceId}` }]),
      ],
    });
  }

  /** A server certificate for the broker and the HTTPS API, for each host name or address in `hosts`. */
  async issueServer(hosts: string[], now: number, validityDays = 90): Promise<{ certPem: string; keyPem: string }> {
    const keys = await generateEcKeys();
    const names = [...new Set(hosts)].map((h) =>
      isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
    );
    const issued = await this.#issue({
      subject: `CN=${hosts[0] ?? 'fleetward'}`,
      publicKey: keys.publicKey,
      now,
      validityMs: validityDays * DAY_MS,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    });
    const keyPem = toPem(await exportPkcs8(keys.privateKey), 'PRIVATE KEY');
    return { certPem: [issued.pem, ...this.chainPems].join('\n'), keyPem };
  }

  /**
   * A client certificate for one of our own services (the external-broker service client). `cn` is
   * chosen outside DEVICE_ID_RE (it contains ':') so no device can ever be issued the same name.
   */
  async issueServiceClient(cn: string, now: number, validityDays = 90): Promise<{ certPem: string; keyPem: string }> {
    const keys = await generateEcKeys();
    const issued = await this.#issue({
      subject: `CN=${cn}`,
      publicKey: keys.publicKey,
      now,
      validityMs: validityDays * DAY_MS,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      ],
    });
    const keyPem = toPem(await exportPkcs8(keys.privateKey), 'PRIVATE KEY');
    return { certPem: [issued.pem, ...this.chainPems].join('\n'), keyPem };
  }

  /** The CRL of the issuing CA (RFC 5280 5), valid for `validDays`. */
  async buildCrl(
    entries: Array<{ serial: string; revokedAt: number }>,
    now: number,
    validDays = 7,
  ): Promise<{ pem: string; der: Uint8Array }> {
    const crl = await x509.X509CrlGenerator.create({
      issuer: this.#issuer.cert.subject,
      thisUpdate: new Date(now),
      nextUpdate: new Date(now + validDays * DAY_MS),
      entries: entries.map((e) => ({ serialNumber: e.serial, revocationDate: new Date(e.revokedAt) })),
      signingKey: this.#issuer.key,
      signingAlgorithm: this.#issuer.algorithm,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(this.#issuer.cert.publicKey)],
    });
    // RFC 7468 §5 names it "X509 CRL"; OpenSSL (and so Mosquitto) reads nothing else.
    const der = new Uint8Array(crl.rawData);
    return { pem: x509.PemConverter.encode(der, 'X509 CRL'), der };
  }

  /** True when `cert` was signed by our issuing CA. */
  async issued(cert: x509.X509Certificate): Promise<boolean> {
    if (cert.issuer !== this.#issuer.cert.subject) return false;
    return cert.verify({ publicKey: this.#issuer.cert.publicKey, signatureOnly: true });
  }

  async #issue(p: {
    subject: string;
    publicKey: x509.PublicKeyType;
    now: number;
    validityMs: number;
    extensions: x509.Extension[];
  }): Promise<IssuedCert> {
    const serial = newSerial();
    const notBefore = p.now - BACKDATE_MS;
    // Never outlive the issuer: a chain is only as valid as its shortest link.
    const notAfter = Math.min(p.now + p.validityMs, this.#issuer.cert.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: p.subject,
      issuer: this.#issuer.cert.subject,
      notBefore: new Date(notBefore),
      notAfter: new Date(notAfter),
      publicKey: p.publicKey,
      signingKey: this.#issuer.key,
      signingAlgorithm: this.#issuer.algorithm,
      extensions: [
        ...p.extensions,
        await x509.SubjectKeyIdentifierExtension.create(p.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(this.#issuer.cert.publicKey),
      ],
    });
    return {
      pem: cert.toString('pem'),
      serial,
      fingerprint: fingerprintOf(cert),
      notBefore: Math.floor(notBefore / 1000) * 1000,
      notAfter: Math.floor(notAfter / 1000) * 1000,
    };
  }
}

/** First start: a root and an issuing CA, both ECDSA P-256, private keys sealed with the master key. */
async function create(dataDir: string, masterKey: Buffer, now: number): Promise<void> {
  const tag = newSerial().slice(0, 8);
  const rootKeys = await generateEcKeys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=Fleetward Root CA ${tag}, O=Fleetward`,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ROOT_DAYS * DAY_MS),
    keys: rootKeys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const issuingKeys = await generateEcKeys();
  const issuing = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: `CN=Fleetward Issuing CA ${tag}, O=Fleetward`,
    issuer: root.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + ISSUING_DAYS * DAY_MS),
    publicKey: issuingKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(issuingKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const f = files(dataDir);
  writePrivateFile(f.rootKey, seal(masterKey, 'root', await exportPkcs8(rootKeys.privateKey)));
  writePrivateFile(f.rootCert, root.toString('pem'));
  writePrivateFile(f.issuingKey, seal(masterKey, 'issuing', await exportPkcs8(issuingKeys.privateKey)));
  // Written last: its presence is what marks the CA as complete.
  writePrivateFile(f.issuingCert, issuing.toString('pem'));
}
