import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FleetwardError } from '../../protocol/errors.ts';
import type { IdentityErrorCode } from './model.ts';

const fail = (code: IdentityErrorCode, message: string, cause?: unknown) =>
  new FleetwardError<IdentityErrorCode>(code, message, cause === undefined ? undefined : { cause });

/**
 * The master key that encrypts CA private keys at rest: `FLEETWARD_MASTER_KEY` (base64, 32 bytes) or
 * `<data>/master.key`, created 0600 on first start. Throws MASTER_KEY_INVALID.
 */
export function loadMasterKey(dataDir: string, fromEnv: string | undefined): Buffer {
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw fail('MASTER_KEY_INVALID', 'FLEETWARD_MASTER_KEY must be 32 bytes, base64');
    return key;
  }
  const file = join(dataDir, 'master.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key another process created a moment ago (that would orphan the CA).
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw fail('MASTER_KEY_INVALID', 'cannot create master key', err);
    }
  }
  // A key file others can read is a key others have: refuse rather than warn.
  if ((statSync(file).mode & 0o077) !== 0) {
    throw fail('MASTER_KEY_INVALID', 'master.key must be readable by its owner only (chmod 600)');
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length !== 32) throw fail('MASTER_KEY_INVALID', 'master.key must hold 32 bytes, base64');
  return key;
}

interface SealedFile {
  v: 1;
  alg: 'AES-256-GCM';
  iv: string;
  tag: string;
  data: string;
}

/**
 * AES-256-GCM with the key's purpose as associated data, so a sealed root key cannot be swapped in
 * for the issuing key (or vice versa) without the tag failing.
 */
export function seal(masterKey: Buffer, purpose: string, plaintext: Uint8Array): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(Buffer.from(purpose));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const sealed: SealedFile = {
    v: 1,
    alg: 'AES-256-GCM',
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(sealed);
}

/** Throws CA_KEY_UNREADABLE (wrong master key, altered file, wrong purpose). */
export function unseal(masterKey: Buffer, purpose: string, text: string): Buffer {
  try {
    const s = JSON.parse(text) as SealedFile;
    if (s.v !== 1 || s.alg !== 'AES-256-GCM') throw new Error('unknown sealed format');
    const decipher = createDecipheriv('aes-256-gcm', masterKey, Buffer.from(s.iv, 'base64'));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(s.data, 'base64')), decipher.final()]);
  } catch (err) {
    throw fail('CA_KEY_UNREADABLE', `cannot decrypt the ${purpose} key (wrong master key or altered file)`, err);
  }
}

/** Writes a file readable by the owner only, creating its directory 0700. */
export function writePrivateFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}
