import type { ImageReport } from '../../firmware/index.ts';
import type { AnyDb } from '../store/store.types.ts';
import type { Analysis, AnalysisSummary } from './model.ts';

export type AssessmentTables = {
  vuln_records: { id: string; body: string; imported_at: number };
  firmware_analyses: {
    id: string;
    sha256: string;
    name: string;
    size: number;
    score: number;
    feed_size: number;
    created_at: number;
    report: string;
  };
};

type AnalysisRow = AssessmentTables['firmware_analyses'];
const t = (db: AnyDb) => db.withTables<AssessmentTables>();

export async function upsertVulnRecords(
  db: AnyDb,
  records: Array<{ id: string; body: string }>,
  at: number,
): Promise<void> {
  for (const r of records) {
    await t(db)
      .insertInto('vuln_records')
      .values({ id: r.id, body: r.body, imported_at: at })
      .onConflict((oc) => oc.column('id').doUpdateSet({ body: r.body, imported_at: at }))
      .execute();
  }
}

export async function readVulnRecords(db: AnyDb): Promise<Array<{ id: string; body: string }>> {
  return t(db).selectFrom('vuln_records').select(['id', 'body']).orderBy('id').execute();
}

export async function countVulnRecords(db: AnyDb): Promise<number> {
  const r = await t(db)
    .selectFrom('vuln_records')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

export async function insertAnalysis(db: AnyDb, a: Analysis): Promise<void> {
  await t(db)
    .insertInto('firmware_analyses')
    .values({
      id: a.id,
      sha256: a.sha256,
      name: a.name,
      size: a.size,
      score: a.score,
      feed_size: a.feedSize,
      created_at: a.createdAt,
      report: JSON.stringify(a.report),
    })
    .execute();
}

export async function findAnalysis(db: AnyDb, id: string): Promise<Analysis | undefined> {
  const r = await t(db).selectFrom('firmware_analyses').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toAnalysis(r);
}

/** The newest analysis of an artifact. */
export async function findLatestBySha(db: AnyDb, sha256: string): Promise<Analysis | undefined> {
  const r = await t(db)
    .selectFrom('firmware_analyses')
    .selectAll()
    .where('sha256', '=', sha256)
    .orderBy('created_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return r && toAnalysis(r);
}

export async function listAnalyses(db: AnyDb, before: number | undefined, limit: number): Promise<AnalysisSummary[]> {
  let q = t(db).selectFrom('firmware_analyses').selectAll();
  if (before !== undefined) q = q.where('created_at', '<', before);
  const rows = await q.orderBy('created_at', 'desc').limit(limit).execute();
  return rows.map((r) => summarize(toAnalysis(r)));
}

function toAnalysis(r: AnalysisRow): Analysis {
  const report = JSON.parse(r.report) as ImageReport;
  return { ...summarize({ ...base(r), report }), report };
}

function base(r: AnalysisRow) {
  return {
    id: r.id,
    sha256: r.sha256,
    name: r.name,
    size: r.size,
    score: r.score,
    feedSize: r.feed_size,
    createdAt: r.created_at,
  };
}

export function summarize(a: Omit<Analysis, 'binaries' | 'findings' | 'vulnerabilities'>): AnalysisSummary {
  return {
    id: a.id,
    sha256: a.sha256,
    name: a.name,
    size: a.size,
    score: a.score,
    feedSize: a.feedSize,
    createdAt: a.createdAt,
    binaries: a.report.binaries.length,
    findings: a.report.findings.length,
    vulnerabilities: a.report.vulnerabilities.length,
  };
}
