import type {
  BinaryReport,
  Finding,
  FindingKind,
  Hardening,
  ImageReport,
  ScoreBreakdown,
  Severity,
  VulnerabilityMatch,
} from './model.ts';

/**
 * Scores follow README-FIRMWARE.md "Score". Features: 70 points, weighted like CITL's safety
 * features (ASLR/PIE and DEP/NX heaviest); function hygiene: 30 points (CITL good/risky/bad/ick).
 */
const FEATURE_POINTS = {
  pie: { yes: 20, dso: 20, rel: 20, no: 0 },
  nx: { yes: 15, unknown: 7, no: 0 },
  relro: { full: 15, partial: 8, none: 0 },
  canary: { yes: 10, unknown: 5, no: 0 },
  fortify: { yes: 10, 'n/a': 10, unknown: 5, no: 0 },
} as const;

const HYGIENE = { max: 30, goodEach: 1, goodCap: 5, risky: 0.5, bad: 2, ick: 5 } as const;

/** An RPATH/RUNPATH entry that lets someone else's files be loaded: empty, relative, or world-writable. */
export function insecureSearchPaths(h: Hardening): string[] {
  const bad: string[] = [];
  for (const list of [h.rpath, h.runpath]) {
    for (const entry of list.flatMap((p) => p.split(':'))) {
      const relative =
        entry === '' || (!entry.startsWith('/') && !entry.startsWith('$ORIGIN') && !entry.startsWith('$' + '{ORIGIN}'));
      if (relative || /^\/(tmp|var\/tmp|dev\/shm)(\/|$)/.test(entry)) bad.push(entry);
    }
  }
  return bad;
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/** Per-binary score, 1-100. */
export function scoreBinary(b: Pick<BinaryReport, 'hardening' | 'hygiene'>): number {
  const h = b.hardening;
  const features =
    FEATURE_POINTS.pie[h.pie] +
    FEATURE_POINTS.nx[h.nx] +
    FEATURE_POINTS.relro[h.relro] +
    FEATURE_POINTS.canary[h.canary] +
    FEATURE_POINTS.fortify[h.fortify.value];
  const y = b.hygiene;
  const hygiene = clamp(
    HYGIENE.max +
      Math.min(HYGIENE.goodCap, y.good.length * HYGIENE.goodEach) -
      y.risky.length * HYGIENE.risky -
      y.bad.length * HYGIENE.bad -
      y.ick.length * HYGIENE.ick,
    0,
    HYGIENE.max,
  );
  const rpathPenalty = (h.rpath.length > 0 ? 2 : 0) + (insecureSearchPaths(h).length > 0 ? 5 : 0);
  return clamp(Math.round(features + hygiene - rpathPenalty), 1, 100);
}

const SECRET_KINDS: ReadonlySet<FindingKind> = new Set<FindingKind>([
  'private-key',
  'certificate-expired',
  'empty-password',
  'default-password',
  'weak-password-hash',
  'password-in-passwd',
  'extra-uid0',
  'hardcoded-credential',
]);

const SECRET_WEIGHT: Record<Severity, number> = { critical: 15, high: 8, medium: 3, low: 1, info: 0 };
const VULN_WEIGHT: Record<Severity, number> = { critical: 10, high: 6, medium: 3, low: 1, info: 0 };
const SECRET_CAP = 50;
const VULN_CAP = 40;

/** Image score, 1-100: mean binary score minus capped penalties for secrets and known vulnerabilities. */
export function scoreImage(report: Pick<ImageReport, 'binaries' | 'findings' | 'vulnerabilities'>): {
  score: number;
  breakdown: ScoreBreakdown;
} {
  const bins = report.binaries;
  const binaryMean = bins.length === 0 ? 100 : bins.reduce((s, b) => s + b.score, 0) / bins.length;
  const secretPenalty = Math.min(
    SECRET_CAP,
    report.findings.filter((f: Finding) => SECRET_KINDS.has(f.kind)).reduce((s, f) => s + SECRET_WEIGHT[f.severity], 0),
  );
  const vulnerabilityPenalty = Math.min(
    VULN_CAP,
    report.vulnerabilities.reduce((s: number, v: VulnerabilityMatch) => s + VULN_WEIGHT[v.severity], 0),
  );
  const score = clamp(Math.round(binaryMean - secretPenalty - vulnerabilityPenalty), 1, 100);
  return { score, breakdown: { binaryMean: Math.round(binaryMean * 10) / 10, secretPenalty, vulnerabilityPenalty } };
}
