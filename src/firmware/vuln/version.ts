/**
 * Version ordering for OSV range evaluation. `compareDpkg` is dpkg's algorithm (Debian Policy
 * 5.6.12: epoch, upstream, revision; '~' sorts before everything, letters before non-letters);
 * `compareSemver` is SemVer 2.0.0 section 11. Versions that are not valid SemVer fall back to the
 * dpkg upstream comparison, which orders "1.1.1k" < "1.1.1n" and "1.9" < "1.10" as humans expect.
 */

function order(c: string | undefined): number {
  if (c === undefined) return 0;
  if (c >= '0' && c <= '9') return 0;
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) return c.charCodeAt(0);
  if (c === '~') return -1;
  return c.charCodeAt(0) + 256;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';

/** dpkg's verrevcmp on one part (upstream or revision). */
export function compareSegments(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j]);
      if (d !== 0) return Math.sign(d);
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    let first = 0;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (first === 0) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (first !== 0) return Math.sign(first);
  }
  return 0;
}

function splitDebian(v: string): [number, string, string] {
  const colon = v.indexOf(':');
  const epoch = colon > 0 ? Number.parseInt(v.slice(0, colon), 10) || 0 : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? [epoch, rest.slice(0, dash), rest.slice(dash + 1)] : [epoch, rest, ''];
}

/** Debian/Ubuntu version comparison: -1, 0 or 1. */
export function compareDpkg(a: string, b: string): number {
  const [ea, ua, ra] = splitDebian(a);
  const [eb, ub, rb] = splitDebian(b);
  if (ea !== eb) return ea < eb ? -1 : 1;
  return compareSegments(ua, ub) || compareSegments(ra, rb);
}

const SEMVER = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

function comparePre(a: string | undefined, b: string | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return 1; // a release outranks its pre-releases
  if (b === undefined) return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let k = 0; k < Math.max(pa.length, pb.length); k++) {
    const x = pa[k];
    const y = pb[k];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny && Number(x) !== Number(y)) return Number(x) < Number(y) ? -1 : 1;
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** SemVer 2.0.0 precedence; non-SemVer input falls back to compareSegments. */
export function compareSemver(a: string, b: string): number {
  const ma = SEMVER.exec(a);
  const mb = SEMVER.exec(b);
  if (!ma || !mb) return compareSegments(a.replace(/^v/, ''), b.replace(/^v/, ''));
  for (let k = 1; k <= 3; k++) {
    const d = Number(ma[k]) - Number(mb[k]);
    if (d !== 0) return Math.sign(d);
  }
  return comparePre(ma[4], mb[4]);
}

/** The comparator OSV asks for: range type SEMVER, or ECOSYSTEM ordering of the named ecosystem. */
export function comparatorFor(rangeType: string, ecosystem: string): (a: string, b: string) => number {
  if (rangeType === 'SEMVER') return compareSemver;
  const base = ecosystem.split(':')[0] ?? '';
  if (base === 'Debian' || base === 'Ubuntu') return compareDpkg;
  return compareSegments;
}
