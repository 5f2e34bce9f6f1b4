import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Every bearer secret Fleetward issues looks like `<prefix>_<id>_<secret>`: the prefix says what it is
 * (so a leaked one is recognisable, and one kind is never accepted as another), the 64-bit id finds
 * the row, and the 256-bit secret is checked against its SHA-256 in constant time. A slow hash adds
 * nothing for a random secret of that size.
 */
export const TOKEN_PREFIXES = {
  /** operator API token */
  api: 'fwt',
  /** one-time bootstrap of the first admin */
  bootstrap: 'fwb',
  /** device enrollment or rotation (single use) */
  enroll: 'fwe',
} as const;

export type TokenKind = keyof typeof TOKEN_PREFIXES;

const TOKEN_RE = /^(fw[a-z])_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export interface IssuedSecret {
  id: string;
  secret: string;
  token: string;
}

export function newTokenId(): string {
  return randomBytes(8).toString('hex');
}

/** A fresh token of `kind`; store `hashSecret(secret)` and hand `token` over once. */
export function issueSecretToken(kind: TokenKind, id = newTokenId()): IssuedSecret {
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `${TOKEN_PREFIXES[kind]}_${id}_${secret}` };
}

/** Splits a token of exactly `kind`; null for anything else (other kinds included). */
export function parseSecretToken(kind: TokenKind, token: string): { id: string; secret: string } | null {
  const m = TOKEN_RE.exec(token);
  return m && m[1] === TOKEN_PREFIXES[kind] ? { id: m[2]!, secret: m[3]! } : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash (a missing row compares too). */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash ?? '0'.repeat(64), 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
