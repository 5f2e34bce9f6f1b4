import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  scryptSync,
  sign,
} from 'node:crypto';
import { Key, Signature } from '@tufjs/models';
import { FleetwardError } from '../../protocol/errors.ts';
import type { TufPublicKey, UpdatesErrorCode } from './model.ts';

const fail = (code: UpdatesErrorCode, message: string, cause?: unknown) =>
  new FleetwardError<UpdatesErrorCode>(code, message, cause === undefined ? undefined : { cause });

/** A signing key: the private half stays in this object, never in logs, errors or the ledger. */
export interface SigningKey {
  keyId: string;
  publicKey: TufPublicKey;
  privateKey: KeyObject;
}

/** A fresh Ed25519 key (TUF "ed25519" scheme, RFC 8032). */
export function generateSigningKey(): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pub = toTufPublicKey(publicKey);
  return { keyId: keyIdOf(pub), publicKey: pub, privateKey };
}

function toTufPublicKey(publicKey: KeyObject): TufPublicKey {
  // The SPKI DER of an Ed25519 key ends with the 32-byte raw key; TUF encodes that as hex.
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: der.subarray(der.length - 32).toString('hex') } };
}

/**
 * TUF key id: SHA-256 of the canonical JSON of the public key object. Our objects hold only fixed keys
 * and hex strings, for which sorted-key JSON.stringify is the canonical form.
 */
export function keyIdOf(pub: TufPublicKey): string {
  const canonical = JSON.stringify({
    keytype: pub.keytype,
    keyval: { public: pub.keyval.public },
    scheme: pub.scheme,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

/** Parses an untrusted public key object. Throws TUF_KEY_INVALID. */
export function parsePublicKey(input: unknown): TufPublicKey {
  const k = input as Partial<TufPublicKey> | null;
  const hex = k?.keyval?.public;
  if (k?.keytype !== 'ed25519' || k.scheme !== 'ed25519' || typeof hex !== 'string' || !/^[0-9a-f]{64}$/.test(hex)) {
    throw fail('TUF_KEY_INVALID', 'only ed25519 public keys (64 hex digits) are accepted');
  }
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: hex } };
}

/** The @tufjs/models Key for a public key. */
export function tufKey(pub: TufPublicKey): Key {
  return new Key({ keyID: keyIdOf(pub), keyType: pub.keytype, scheme: pub.scheme, keyVal: { ...pub.keyval } });
}

/** A signer for Metadata.sign(). */
export function signerFor(key: SigningKey): (data: Buffer) => Signature {
  return (data) => new Signature({ keyID: key.keyId, sig: sign(null, data, key.privateKey).toString('hex') });
}

export function privateKeyBytes(key: SigningKey): Buffer {
  return key.privateKey.export({ format: 'der', type: 'pkcs8' });
}

/** Rebuilds a signing key from PKCS#8 DER, checking it matches the recorded id. Throws TUF_KEY_INVALID. */
export function signingKeyFromPkcs8(der: Uint8Array, expectedKeyId?: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw fail('TUF_KEY_INVALID', 'not a PKCS#8 private key', err);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw fail('TUF_KEY_INVALID', 'only ed25519 keys are supported');
  const pub = toTufPublicKey(createPublicKey(privateKey));
  const keyId = keyIdOf(pub);
  if (expectedKeyId !== undefined && keyId !== expectedKeyId) throw fail('TUF_KEY_INVALID', 'key id does not match');
  return { keyId, publicKey: pub, privateKey };
}

/** An offline key file: the private key encrypted with a passphrase (scrypt → AES-256-GCM). */
export interface KeyFile {
  v: 1;
  kind: 'fleetward-tuf-key';
  role: string;
  keyId: string;
  publicKey: TufPublicKey;
  kdf: { name: 'scrypt'; salt: string; N: number; r: number; p: number };
  cipher: { alg: 'AES-256-GCM'; iv: string; tag: string; data: string };
}

/** scrypt cost: 2^15 × 8 × 1 takes ~100 ms and 32 MiB; a stolen file costs an attacker that per guess. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1 } as const;
const MIN_PASSPHRASE = 12;
/** Key files are small; anything larger is not one. */
export const MAX_KEY_FILE_BYTES = 16 * 1024;

function deriveKey(passphrase: string, salt: Buffer, kdf: { N: number; r: number; p: number }): Buffer {
  return scryptSync(passphrase, salt, 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 128 * kdf.N * kdf.r * 2 });
}

/** Encrypts a key for storage off the server. Throws TUF_KEY_FILE_INVALID for a short passphrase. */
export function encryptKeyFile(key: SigningKey, role: string, passphrase: string): KeyFile {
  if (passphrase.length < MIN_PASSPHRASE) {
    throw fail('TUF_KEY_FILE_INVALID', `the passphrase must have at least ${MIN_PASSPHRASE} characters`);
  }
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, salt, SCRYPT), iv);
  // The key id as associated data binds the ciphertext to the public key recorded beside it.
  cipher.setAAD(Buffer.from(key.keyId));
  const data = Buffer.concat([cipher.update(privateKeyBytes(key)), cipher.final()]);
  return {
    v: 1,
    kind: 'fleetward-tuf-key',
    role,
    keyId: key.keyId,
    publicKey: key.publicKey,
    kdf: { name: 'scrypt', salt: salt.toString('base64'), ...SCRYPT },
    cipher: {
      alg: 'AES-256-GCM',
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    },
  };
}

/** Parses and decrypts a key file. Throws TUF_KEY_FILE_INVALID, TUF_PASSPHRASE_WRONG, TUF_KEY_INVALID. */
export function decryptKeyFile(text: string, passphrase: string): { key: SigningKey; role: string } {
  const file = parseKeyFile(text);
  let der: Buffer;
  try {
    const decipher = createDecipheriv(
      'aes-256-gcm',
      deriveKey(passphrase, Buffer.from(file.kdf.salt, 'base64'), file.kdf),
      Buffer.from(file.cipher.iv, 'base64'),
    );
    decipher.setAAD(Buffer.from(file.keyId));
    decipher.setAuthTag(Buffer.from(file.cipher.tag, 'base64'));
    der = Buffer.concat([decipher.update(Buffer.from(file.cipher.data, 'base64')), decipher.final()]);
  } catch (err) {
    throw fail('TUF_PASSPHRASE_WRONG', 'cannot decrypt the key file (wrong passphrase or altered file)', err);
  }
  return { key: signingKeyFromPkcs8(der, file.keyId), role: file.role };
}

function parseKeyFile(text: string): KeyFile {
  if (text.length > MAX_KEY_FILE_BYTES) throw fail('TUF_KEY_FILE_INVALID', 'not a key file (too large)');
  let f: KeyFile;
  try {
    f = JSON.parse(text) as KeyFile;
  } catch (err) {
    throw fail('TUF_KEY_FILE_INVALID', 'not a key file (not JSON)', err);
  }
  const kdfOk =
    f?.kdf?.name === 'scrypt' &&
    typeof f.kdf.salt === 'string' &&
    // Bounded so a crafted file cannot make scrypt allocate gigabytes.
    [f.kdf.N, f.kdf.r, f.kdf.p].every((n) => Number.isInteger(n) && n > 0) &&
    f.kdf.N <= 1 << 20 &&
    f.kdf.r <= 16 &&
    f.kdf.p <= 4;
  const cipherOk =
    f?.cipher?.alg === 'AES-256-GCM' && ['iv', 'tag', 'data'].every((k) => typeof f.cipher[k as 'iv'] === 'string');
  if (f?.v !== 1 || f.kind !== 'fleetward-tuf-key' || typeof f.keyId !== 'string' || !kdfOk || !cipherOk) {
    throw fail('TUF_KEY_FILE_INVALID', 'not a Fleetward key file');
  }
  if (typeof f.role !== 'string') throw fail('TUF_KEY_FILE_INVALID', 'key file names no role');
  parsePublicKey(f.publicKey);
  return f;
}
