import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens look like `fwt_<id>_<secret>`: the id finds the row, the 256-bit secret is checked against
 * its SHA-256 (a slow hash adds nothing for a random secret of that size). Bootstrap tokens use `fwb_`.
 */
const TOKEN_RE = /^fw([tb])_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function newId(): string {
  return randomBytes(8).toString('hex');
}

export function formatToken(kind: 'api' | 'bootstrap', id: string, secret: string): string {
  return `fw${kind === 'api' ? 't' : 'b'}_${id}_${secret}`;
}

export function parseToken(token: string): { kind: 'api' | 'bootstrap'; id: string; secret: string } | null {
  const m = TOKEN_RE.exec(token);
  if (!m) return null;
  return { kind: m[1] === 't' ? 'api' : 'bootstrap', id: m[2]!, secret: m[3]! };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of a presented secret with a stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
