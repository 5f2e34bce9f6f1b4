import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { analyzeImage, diffReports, type ImageReport, type OsvFeed, toCycloneDx } from '../firmware/index.ts';
import { loadOsvDirectory, loadPath } from '../firmware/load/index.ts';
import { FleetwardError } from '../protocol/errors.ts';
import type { CliErrorCode } from './api-client.ts';
import type { CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

/** Analyzes a path locally (no server needed), with an optional offline OSV feed directory. */
async function analyzeLocal(path: string, vulnsDir: string | undefined): Promise<ImageReport> {
  const feed: OsvFeed | undefined = vulnsDir ? await loadOsvDirectory(vulnsDir) : undefined;
  const source = await loadPath(path);
  try {
    return await analyzeImage(source, { now: new Date(), ...(feed ? { feed } : {}) });
  } finally {
    await source.dispose();
  }
}

/** A saved `--json` report, or a firmware path to analyze. */
async function reportOf(path: string, vulnsDir: string | undefined): Promise<ImageReport> {
  if (path.endsWith('.json')) {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as ImageReport;
    if (parsed?.schema !== 1 || !Array.isArray(parsed.binaries)) {
      throw new FleetwardError<CliErrorCode>('INPUT_INVALID', `${path} is not a fleetward firmware report`);
    }
    return parsed;
  }
  return analyzeLocal(path, vulnsDir);
}

function printReport(out: (t: string) => void, r: ImageReport): void {
  out(`${r.name}: score ${r.score}/100 — ${r.fileCount} files, ${r.binaries.length} ELF binaries`);
  const b = r.scoreBreakdown;
  out(
    `  binaries ${b.binaryMean.toFixed(1)}, secrets −${b.secretPenalty}, vulnerabilities −${b.vulnerabilityPenalty}\n`,
  );
  const bins = r.binaries.map((x) => ({
    path: x.path,
    score: x.score,
    arch: x.elf.arch,
    pie: x.hardening.pie,
    nx: x.hardening.nx,
    relro: x.hardening.relro,
    canary: x.hardening.canary,
    fortify: x.hardening.fortify.value,
    bad: x.hygiene.bad.length,
    risky: x.hygiene.risky.length,
  }));
  out(formatTable(bins, ['path', 'score', 'arch', 'pie', 'nx', 'relro', 'canary', 'fortify', 'bad', 'risky']));
  if (r.findings.length)
    out(
      `\nFindings\n${formatTable(
        r.findings.map((f) => ({ ...f })),
        ['severity', 'kind', 'path', 'message'],
      )}`,
    );
  if (r.components.length)
    out(
      `\nComponents\n${formatTable(
        r.components.map((c) => ({ ...c })),
        ['name', 'version', 'source'],
      )}`,
    );
  if (r.vulnerabilities.length) {
    out(
      `\nKnown vulnerabilities\n${formatTable(
        r.vulnerabilities.map((v) => ({ ...v })),
        ['id', 'component', 'version', 'severity', 'fixed'],
      )}`,
    );
  }
}

export const firmwareNoun: CliNoun = {
  name: 'firmware',
  summary: 'analyze firmware: hardening, function hygiene, secrets, components, vulnerabilities, 1–100 score',
  verbs: {
    analyze: defineVerb({
      summary: 'analyze an ELF file, directory, archive or SquashFS image locally; --min-score gates (exit 8)',
      usage: 'PATH [--json] [--sbom FILE] [--vulns DIR] [--min-score N]',
      positionals: 1,
      options: { ...JSON_FLAG, sbom: { type: 'string' }, vulns: { type: 'string' }, 'min-score': { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        const min = values['min-score'] === undefined ? undefined : Number(values['min-score']);
        if (min !== undefined && !(Number.isInteger(min) && min >= 1 && min <= 100))
          throw usage('--min-score must be 1–100');
        const report = await analyzeLocal(positionals[0]!, values.vulns);
        if (values.sbom) await writeFile(values.sbom, toCycloneDx(report));
        if (values.json) printJson(ctx.out, report);
        else printReport(ctx.out, report);
        if (min !== undefined && report.score < min) {
          ctx.err(`fleetward: score ${report.score} is below the required ${min}`);
          return EXIT.CHECK_FAILED;
        }
        return EXIT.OK;
      },
    }),
    diff: defineVerb({
      summary: 'what got better or worse between two versions (paths, or saved --json reports); exit 8 on regressions',
      usage: 'OLD NEW [--json] [--vulns DIR]',
      positionals: 2,
      options: { ...JSON_FLAG, vulns: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        const [before, after] = await Promise.all(positionals.map((p) => reportOf(p, values.vulns)));
        const d = diffReports(before!, after!);
        if (values.json) printJson(ctx.out, d);
        else {
          ctx.out(`score ${d.scoreFrom} → ${d.scoreTo}: ${d.direction}`);
          for (const c of d.regressions) ctx.out(`  worse   ${c.subject}: ${c.what} ${c.from} → ${c.to}`);
          for (const c of d.improvements) ctx.out(`  better  ${c.subject}: ${c.what} ${c.from} → ${c.to}`);
          for (const b of d.addedBinaries) ctx.out(`  added   ${b}`);
          for (const b of d.removedBinaries) ctx.out(`  removed ${b}`);
        }
        return d.regressions.length > 0 ? EXIT.CHECK_FAILED : EXIT.OK;
      },
    }),
    upload: defineVerb({
      summary: 'analyze on the server (uses the imported vulnerability feed; stored for release gates)',
      usage: 'PATH [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const path = positionals[0]!;
        const name = path.split('/').pop()!;
        const bytes = await readFile(path);
        const a = await ctx
          .api()
          .request<{ id: string; score: number; vulnerabilities: number }>(
            'POST',
            `/api/v1/firmware/analyses?name=${encodeURIComponent(name)}`,
            bytes,
            { contentType: 'application/octet-stream' },
          );
        if (values.json) printJson(ctx.out, a);
        else ctx.out(`analysis ${a.id}: score ${a.score}/100, ${a.vulnerabilities} known vulnerabilities`);
        return EXIT.OK;
      },
    }),
  },
};

export const vulnsNoun: CliNoun = {
  name: 'vulns',
  summary: 'the offline vulnerability feed (OSV) firmware is matched against',
  verbs: {
    import: defineVerb({
      summary: 'upload every *.json OSV file of DIR to the server',
      usage: 'DIR [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const dir = positionals[0]!;
        const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
        if (names.length === 0) throw new FleetwardError<CliErrorCode>('INPUT_INVALID', `no *.json files in ${dir}`);
        const files = await Promise.all(
          names.map(async (name) => ({ name, text: await readFile(join(dir, name), 'utf8') })),
        );
        const r = await ctx.api().request<{ imported: number; total: number }>('POST', '/api/v1/vulns', { files });
        if (values.json) printJson(ctx.out, r);
        else ctx.out(`imported ${r.imported} records; the feed now holds ${r.total}`);
        return EXIT.OK;
      },
    }),
    list: defineVerb({
      summary: 'ids in the server’s feed',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const { ids } = await ctx.api().request<{ ids: string[] }>('GET', '/api/v1/vulns');
        if (values.json) printJson(ctx.out, ids);
        else ctx.out(ids.join('\n') || '(empty)');
        return EXIT.OK;
      },
    }),
  },
};
