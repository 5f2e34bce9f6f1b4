import type { BinaryReport, Change, ImageReport, ReportDiff } from './model.ts';

/** Rank of each hardening value; higher is safer. A drop in rank is a regression. */
const RANK = {
  pie: { no: 0, rel: 1, dso: 2, yes: 2 },
  nx: { no: 0, unknown: 1, yes: 2 },
  relro: { none: 0, partial: 1, full: 2 },
  canary: { no: 0, unknown: 1, yes: 2 },
  fortify: { no: 0, unknown: 1, 'n/a': 2, yes: 2 },
} as const;

/** Path inside the image, without the outer container's name (which changes between releases). */
function innerPath(report: ImageReport, path: string): string {
  const prefix = `${report.name}!/`;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

function compareBinary(a: BinaryReport, b: BinaryReport, subject: string, out: Change[]): void {
  const values: Array<[keyof typeof RANK, string, string]> = [
    ['pie', a.hardening.pie, b.hardening.pie],
    ['nx', a.hardening.nx, b.hardening.nx],
    ['relro', a.hardening.relro, b.hardening.relro],
    ['canary', a.hardening.canary, b.hardening.canary],
    ['fortify', a.hardening.fortify.value, b.hardening.fortify.value],
  ];
  for (const [what, from, to] of values) {
    const table = RANK[what] as Record<string, number>;
    const d = (table[to] ?? 0) - (table[from] ?? 0);
    if (d !== 0) out.push({ direction: d > 0 ? 'better' : 'worse', subject, what, from, to });
  }
  for (const cls of ['ick', 'bad'] as const) {
    const added = b.hygiene[cls].filter((f) => !a.hygiene[cls].includes(f));
    const removed = a.hygiene[cls].filter((f) => !b.hygiene[cls].includes(f));
    if (added.length > 0)
      out.push({ direction: 'worse', subject, what: `${cls} functions`, from: '', to: added.join(',') });
    if (removed.length > 0)
      out.push({ direction: 'better', subject, what: `${cls} functions`, from: removed.join(','), to: '' });
  }
  const rpathFrom = [...a.hardening.rpath, ...a.hardening.runpath].join(':');
  const rpathTo = [...b.hardening.rpath, ...b.hardening.runpath].join(':');
  if (rpathFrom !== rpathTo) {
    out.push({
      direction: rpathTo === '' ? 'better' : 'worse',
      subject,
      what: 'rpath/runpath',
      from: rpathFrom,
      to: rpathTo,
    });
  }
}

function setChanges(subject: string, what: string, from: Set<string>, to: Set<string>, out: Change[]): void {
  for (const x of to) if (!from.has(x)) out.push({ direction: 'worse', subject, what, from: '', to: x });
  for (const x of from) if (!to.has(x)) out.push({ direction: 'better', subject, what, from: x, to: '' });
}

/** What got better or worse from `before` to `after`; any regression makes the direction "worse". */
export function diffReports(before: ImageReport, after: ImageReport): ReportDiff {
  const changes: Change[] = [];
  const oldBins = new Map(before.binaries.map((b) => [innerPath(before, b.path), b]));
  const newBins = new Map(after.binaries.map((b) => [innerPath(after, b.path), b]));
  for (const [path, b] of newBins) {
    const a = oldBins.get(path);
    if (a) compareBinary(a, b, path, changes);
  }
  const findingKey = (r: ImageReport) => (f: ImageReport['findings'][number]) =>
    `${f.kind} ${innerPath(r, f.path)} ${f.message}`;
  setChanges(
    'image',
    'finding',
    new Set(before.findings.map(findingKey(before))),
    new Set(after.findings.map(findingKey(after))),
    changes,
  );
  const vulnKey = (v: ImageReport['vulnerabilities'][number]) => `${v.id} ${v.component}@${v.version}`;
  setChanges(
    'image',
    'vulnerability',
    new Set(before.vulnerabilities.map(vulnKey)),
    new Set(after.vulnerabilities.map(vulnKey)),
    changes,
  );
  const regressions = changes.filter((c) => c.direction === 'worse');
  const improvements = changes.filter((c) => c.direction === 'better');
  return {
    scoreFrom: before.score,
    scoreTo: after.score,
    direction:
      regressions.length > 0 ? 'worse' : improvements.length > 0 || after.score > before.score ? 'better' : 'same',
    regressions,
    improvements,
    addedBinaries: [...newBins.keys()].filter((p) => !oldBins.has(p)).sort(),
    removedBinaries: [...oldBins.keys()].filter((p) => !newBins.has(p)).sort(),
  };
}
