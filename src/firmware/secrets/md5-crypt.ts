import { md5 } from './md5.ts';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function to64(v: number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++, v >>>= 6) s += ITOA64[v & 0x3f];
  return s;
}

/** md5-crypt ("$1$", Poul-Henning Kamp's FreeBSD algorithm, as in glibc crypt(3)). */
export function md5Crypt(password: string, salt: string): string {
  const enc = new TextEncoder();
  const pw = enc.encode(password);
  const sl = enc.encode(salt.slice(0, 8));
  const magic = enc.encode('$1$');
  const alt = md5(concat(pw, sl, pw));
  const parts: Uint8Array[] = [pw, magic, sl];
  for (let n = pw.length; n > 0; n -= 16) parts.push(alt.subarray(0, Math.min(16, n)));
  for (let i = pw.length; i > 0; i >>= 1) parts.push(i & 1 ? new Uint8Array(1) : pw.subarray(0, 1));
  let fin = md5(concat(...parts));
  for (let i = 0; i < 1000; i++) {
    const p: Uint8Array[] = [i & 1 ? pw : fin];
    if (i % 3) p.push(sl);
    if (i % 7) p.push(pw);
    p.push(i & 1 ? fin : pw);
    fin = md5(concat(...p));
  }
  const f = fin;
  const g = (a: number, b: number, c: number) => (f[a]! << 16) | (f[b]! << 8) | f[c]!;
  const out =
    to64(g(0, 6, 12), 4) +
    to64(g(1, 7, 13), 4) +
    to64(g(2, 8, 14), 4) +
    to64(g(3, 9, 15), 4) +
    to64(g(4, 10, 5), 4) +
    to64(f[11]!, 2);
  return `$1$${salt.slice(0, 8)}$${out}`;
}
