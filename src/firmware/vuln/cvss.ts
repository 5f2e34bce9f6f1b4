import type { Severity } from '../model.ts';

/** CVSS v3.x base-score metric weights (FIRST CVSS v3.1 specification, section 7.4). */
const W = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  CIA: { H: 0.56, L: 0.22, N: 0 },
} as const;

/** CVSS v3.1 Appendix A "Roundup": smallest one-decimal number >= x, robust to float error. */
function roundup(x: number): number {
  const i = Math.round(x * 100000);
  return i % 10000 === 0 ? i / 100000 : (Math.floor(i / 10000) + 1) / 10;
}

/** Base score of a CVSS:3.0/3.1 vector, or null when the vector is not one. */
export function cvss3BaseScore(vector: string): number | null {
  if (!/^CVSS:3\.[01]\//.test(vector)) return null;
  const m: Record<string, string> = {};
  for (const part of vector.split('/').slice(1)) {
    const [k, v] = part.split(':');
    if (k && v) m[k] = v;
  }
  const get = <T extends Record<string, number>>(table: T, key: string): number | null =>
    m[key] !== undefined && m[key]! in table ? table[m[key] as keyof T]! : null;
  const av = get(W.AV, 'AV');
  const ac = get(W.AC, 'AC');
  const ui = get(W.UI, 'UI');
  const c = get(W.CIA, 'C');
  const i = get(W.CIA, 'I');
  const a = get(W.CIA, 'A');
  const changed = m.S === 'C';
  const pr =
    m.PR === 'N' ? 0.85 : m.PR === 'L' ? (changed ? 0.68 : 0.62) : m.PR === 'H' ? (changed ? 0.5 : 0.27) : null;
  if (av === null || ac === null || ui === null || c === null || i === null || a === null || pr === null) return null;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = changed ? 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 : 6.42 * iss;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return changed
    ? roundup(Math.min(1.08 * (impact + exploitability), 10))
    : roundup(Math.min(impact + exploitability, 10));
}

/** CVSS v3.1 qualitative rating (section 5). */
export function severityOfScore(score: number): Severity {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'info';
}
