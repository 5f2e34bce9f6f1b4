import { openAsBlob } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { CliContext, CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Release {
  id: string;
  productId: string;
  version: string;
  securityVersion: number;
  notes: string;
  advisory: { cves: string[]; severity: string };
  minSafetyScore: number | null;
  safetyScore: number | null;
  targetPath: string;
  sha256: string;
  length: number;
  state: string;
  createdAt: number;
  warnings?: string[];
  supportExpired?: boolean;
}

const COLUMNS = ['id', 'productId', 'version', 'securityVersion', 'severity', 'cves', 'state'];
const row = (r: Release) => ({ ...r, severity: r.advisory.severity, cves: r.advisory.cves });

function intFlag(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw usage(`${name} must be a whole number`);
  return Number(value);
}

async function uploadArtifact(ctx: CliContext, path: string): Promise<{ sha256: string; length: number }> {
  let blob: Blob;
  try {
    blob = await openAsBlob(path);
  } catch {
    throw usage(`cannot read ${path}`);
  }
  return ctx.api().request('POST', '/api/v1/artifacts', blob, { contentType: 'application/octet-stream' });
}

export const releaseNoun: CliNoun = {
  name: 'release',
  summary: 'firmware releases: signed artifact, security version, advisory (secure updates)',
  verbs: {
    create: defineVerb({
      summary: 'upload an artifact (streamed) and create a release; it is TUF-signed at once or awaits offline signing',
      usage:
        '--product P --version V --security-version N --file PATH [--notes TEXT | --notes-file F] [--cve CVE-…]… [--severity none|low|medium|high|critical] [--min-score N] [--json]',
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        version: { type: 'string' },
        'security-version': { type: 'string' },
        file: { type: 'string' },
        notes: { type: 'string' },
        'notes-file': { type: 'string' },
        cve: { type: 'string', multiple: true },
        severity: { type: 'string' },
        'min-score': { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        const { product, version, file } = values;
        const securityVersion = intFlag(values['security-version'], '--security-version');
        if (!product || !version || !file || securityVersion === undefined) {
          throw usage('--product, --version, --security-version and --file are required');
        }
        const notes = values['notes-file'] ? await readFile(values['notes-file'], 'utf8') : values.notes;
        const artifact = await uploadArtifact(ctx, file);
        if (!values.json) ctx.err(`uploaded ${artifact.length} bytes, sha256 ${artifact.sha256}`);
        const r = await ctx.api().request<Release>('POST', '/api/v1/releases', {
          productId: product,
          version,
          securityVersion,
          sha256: artifact.sha256,
          notes,
          advisory: { cves: values.cve ?? [], severity: values.severity ?? 'none' },
          minSafetyScore: intFlag(values['min-score'], '--min-score'),
        });
        for (const w of r.warnings ?? []) ctx.err(`warning: ${w}`);
        if (values.json) printJson(ctx.out, r);
        else {
          ctx.out(
            `created release ${r.id}: ${r.productId} ${r.version} (securityVersion ${r.securityVersion}), ${r.state}`,
          );
          if (r.state === 'awaiting-signature') {
            ctx.out(`sign it offline: fleetward tuf export-unsigned ${r.productId} --out ${r.productId}.json`);
          }
        }
        return EXIT.OK;
      },
    }),
    list: defineVerb({
      summary: 'list releases',
      usage: '[--product P] [--json]',
      options: { ...JSON_FLAG, product: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const items: Release[] = [];
        let after: string | null = null;
        do {
          const q = new URLSearchParams({ limit: '1000' });
          if (values.product) q.set('product', values.product);
          if (after) q.set('after', after);
          const page: { items: Release[]; next: string | null } = await ctx
            .api()
            .request('GET', `/api/v1/releases?${q}`);
          items.push(...page.items);
          after = page.next;
        } while (after);
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(row), COLUMNS));
        return EXIT.OK;
      },
    }),
    get: defineVerb({
      summary: 'show a release with its advisory',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const r = await ctx.api().request<Release>('GET', `/api/v1/releases/${encodeURIComponent(positionals[0]!)}`);
        if (values.json) printJson(ctx.out, r);
        else {
          ctx.out(formatTable([row(r)], COLUMNS));
          ctx.out(`target ${r.targetPath} (${r.length} bytes, sha256 ${r.sha256}), created ${isoTime(r.createdAt)}`);
          ctx.out(`advisory: severity ${r.advisory.severity}; fixes ${r.advisory.cves.join(', ') || 'no listed CVEs'}`);
          if (r.minSafetyScore !== null)
            ctx.out(`gate: safety score ≥ ${r.minSafetyScore} (last ${r.safetyScore ?? 'not measured'})`);
          for (const w of r.warnings ?? []) ctx.out(`warning: ${w}`);
          if (r.notes) ctx.out(`\n${r.notes}`);
        }
        return EXIT.OK;
      },
    }),
  },
};
