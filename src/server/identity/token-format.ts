import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Enrollment tokens look like `fwe_<id>_<secret>`: the id finds the row, the 256-bit secret is checked
 * against its SHA-256 in constant time. A token is single-use and expires (EN 303 645 5.1-1: no
 * universal default secret; each token onboards one device).
 */
const TOKEN_RE = /^fwe_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newToken(): { id: string; secret: string; token: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `fwe_${id}_${secret}` };
}

export function parseEnrollmentToken(token: string): { id: string; secret: string } | null {
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
