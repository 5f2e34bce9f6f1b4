// @peculiar/x509 resolves its parsers through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createHash, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { FleetwardError } from '../../protocol/errors.ts';
import type { IdentityErrorCode } from './model.ts';

// @peculiar/x509 signs with WebCrypto; Node's implementation is the one we trust and test.
x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

export const ECDSA_P256: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
export const ECDSA_SHA256: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };

/** A random positive 128-bit serial (RFC 5280 4.1.2.2: unique, at most 20 octets; unpredictable against collision attacks). */
export function newSerial(): string {
  const bytes = randomBytes(16);
  // First octet 0x01–0x7f: positive and minimally encoded in DER.
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

export function sha256Hex(der: Uint8Array | ArrayBuffer): string {
  return createHash('sha256')
    .update(new Uint8Array(der as ArrayBuffer))
    .digest('hex');
}

export function fingerprintOf(cert: x509.X509Certificate): string {
  return sha256Hex(cert.rawData);
}

/** Parses one PEM certificate; throws `code` on anything else. */
export function parseCertificate(pem: string, code: IdentityErrorCode): x509.X509Certificate {
  try {
    const blocks = x509.PemConverter.decode(pem);
    if (blocks.length !== 1) throw new Error(`expected one certificate, found ${blocks.length}`);
    return new x509.X509Certificate(blocks[0]!);
  } catch (err) {
    throw new FleetwardError<IdentityErrorCode>(code, 'not a PEM certificate', { cause: err });
  }
}

/** Every PEM certificate in a bundle, in order. */
export function splitPem(pem: string): string[] {
  return x509.PemConverter.decode(pem).map((der) => x509.PemConverter.encode(der, 'CERTIFICATE'));
}

export async function generateEcKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function exportPkcs8(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
}

export function toPem(der: Uint8Array | ArrayBuffer, label: 'PRIVATE KEY' | 'CERTIFICATE'): string {
  return x509.PemConverter.encode(new Uint8Array(der as ArrayBuffer), label);
}

/**
 * A signing key from PKCS#8 (ours) or PEM (an imported CA): ECDSA P-256/P-384 or RSA, with the matching
 * signature algorithm. Throws CA_INVALID for other key types.
 */
export function importSigningKey(pkcs8OrPem: Buffer | string): { key: CryptoKey; algorithm: Algorithm } {
  const ko =
    typeof pkcs8OrPem === 'string'
      ? createPrivateKey(pkcs8OrPem)
      : createPrivateKey({ key: pkcs8OrPem, format: 'der', type: 'pkcs8' });
  if (ko.asymmetricKeyType === 'ec') {
    const curve = ko.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'prime256v1' ? 'P-256' : curve === 'secp384r1' ? 'P-384' : null;
    if (!namedCurve) throw new FleetwardError<IdentityErrorCode>('CA_INVALID', `unsupported CA curve ${curve}`);
    const hash = namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384';
    const key = ko.toCryptoKey({ name: 'ECDSA', namedCurve }, false, ['sign']) as unknown as CryptoKey;
    return { key, algorithm: { name: 'ECDSA', hash } as EcdsaParams };
  }
  if (ko.asymmetricKeyType === 'rsa') {
    const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: ko.toCryptoKey(alg, false, ['sign']) as unknown as CryptoKey, algorithm: alg };
  }
  throw new FleetwardError<IdentityErrorCode>('CA_INVALID', `unsupported CA key type ${ko.asymmetricKeyType}`);
}
