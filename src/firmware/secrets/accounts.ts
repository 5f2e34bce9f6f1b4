import type { Finding } from '../model.ts';
import { md5Crypt } from './md5-crypt.ts';

/**
 * Passwords shipped as factory defaults on embedded devices; most are from the public Mirai
 * credential list (2016), the rest are vendor defaults documented in manuals.
 */
export const DEFAULT_PASSWORDS = [
  'root',
  'admin',
  'password',
  '1234',
  '12345',
  '123456',
  '54321',
  '888888',
  '666666',
  'default',
  'toor',
  'pass',
  'vizxv',
  'xc3511',
  'anko',
  '7ujMko0admin',
  'Zte521',
  'hi3518',
  'juantech',
  'xmhdipc',
  'klv123',
  'changeme',
  'ubnt',
  'support',
  'user',
  'guest',
  'admin123',
  'raspberry',
  'dreambox',
  'system',
];

const MAX_CRACK_PER_FILE = 50;

/** Which account file a path is: passwd(5) or shadow(5), including the `-` backups. */
export function accountFileKind(path: string): 'passwd' | 'shadow' | null {
  const base = path.split('/').pop() ?? '';
  if (base === 'passwd' || base === 'passwd-') return 'passwd';
  if (base === 'shadow' || base === 'shadow-') return 'shadow';
  return null;
}

type HashVerdict = { kind: 'none' } | { kind: 'weak'; algo: string } | { kind: 'default'; algo: string };

/** crypt(5) prefixes: none = DES (13 chars), $1$ md5, $5$ sha256, $6$ sha512, $y$ yescrypt, $2?$ bcrypt. */
function judgeHash(hash: string, budget: { left: number }): HashVerdict {
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return { kind: 'weak', algo: 'des-crypt' };
  const md5 = /^\$1\$([^$]{0,8})\$[./0-9A-Za-z]{22}$/.exec(hash);
  if (!md5) return { kind: 'none' };
  if (budget.left-- > 0) {
    for (const pw of DEFAULT_PASSWORDS)
      if (md5Crypt(pw, md5[1]!) === hash) return { kind: 'default', algo: 'md5-crypt' };
  }
  return { kind: 'weak', algo: 'md5-crypt' };
}

function locked(hash: string): boolean {
  return hash.startsWith('!') || hash.startsWith('*') || hash === 'x';
}

function hashFindings(user: string, hash: string, path: string, budget: { left: number }): Finding[] {
  const v = judgeHash(hash, budget);
  if (v.kind === 'default') {
    return [
      {
        kind: 'default-password',
        severity: 'critical',
        path,
        message: `account ${user} uses a well-known default password`,
        detail: { user, algorithm: v.algo },
      },
    ];
  }
  if (v.kind === 'weak') {
    return [
      {
        kind: 'weak-password-hash',
        severity: 'medium',
        path,
        message: `account ${user} has a ${v.algo} hash (crackable)`,
        detail: { user, algorithm: v.algo },
      },
    ];
  }
  return [];
}

/** Findings for one passwd(5) or shadow(5) file. Hashes are never copied into findings. */
export function scanAccounts(text: string, path: string, kind: 'passwd' | 'shadow'): Finding[] {
  const out: Finding[] = [];
  const budget = { left: MAX_CRACK_PER_FILE };
  for (const line of text.split(/\r?\n/).slice(0, 10_000)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    const user = (f[0] ?? '').slice(0, 64);
    const pw = f[1] ?? '';
    if (f.length < (kind === 'passwd' ? 7 : 2)) continue;
    if (pw === '') {
      out.push({
        kind: 'empty-password',
        severity: 'critical',
        path,
        message: `account ${user} has an empty password`,
        detail: { user },
      });
    } else if (!locked(pw)) {
      if (kind === 'passwd') {
        out.push({
          kind: 'password-in-passwd',
          severity: 'high',
          path,
          message: `account ${user} keeps its hash in world-readable passwd`,
          detail: { user },
        });
      }
      out.push(...hashFindings(user, pw, path, budget));
    }
    if (kind === 'passwd' && f[2] === '0' && user !== 'root') {
      out.push({
        kind: 'extra-uid0',
        severity: 'high',
        path,
        message: `account ${user} has UID 0 (root privileges)`,
        detail: { user },
      });
    }
  }
  return out;
}
