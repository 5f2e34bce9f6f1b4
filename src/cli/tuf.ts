import { readFile, writeFile } from 'node:fs/promises';
import { decryptKeyFile, MAX_KEY_FILE_BYTES, parseMetadata, signerFor } from '../server/updates/index.ts';
import type { CliContext, CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { keyPassphrase } from './keys.ts';
import { formatTable, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

/** What export-unsigned writes and sign/import-signed read: the role name beside its metadata. */
interface DraftFile {
  role: string;
  metadata: Record<string, unknown>;
}

interface PublishResult {
  published: string[];
  pending: Array<{ role: string; have: number; need: number }>;
}

async function readJson(path: string, limit: number): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw usage(`cannot read ${path}`);
  }
  if (text.length > limit) throw usage(`${path} is too large`);
  try {
    return JSON.parse(text);
  } catch {
    throw usage(`${path} is not JSON`);
  }
}

async function readDraft(path: string): Promise<DraftFile> {
  const d = (await readJson(path, 16 * 1024 * 1024)) as Partial<DraftFile>;
  if (typeof d?.role !== 'string' || typeof d.metadata !== 'object' || d.metadata === null) {
    throw usage(`${path} is not a file written by 'fleetward tuf export-unsigned'`);
  }
  return d as DraftFile;
}

function printResult(ctx: CliContext, r: PublishResult, json: boolean | undefined): number {
  if (json) printJson(ctx.out, r);
  else {
    if (r.published.length) ctx.out(`published: ${r.published.join(', ')}`);
    for (const p of r.pending) ctx.out(`awaiting signatures: ${p.role} (${p.have} of ${p.need})`);
    if (!r.published.length && !r.pending.length) ctx.out('nothing to do');
  }
  return EXIT.OK;
}

async function readPublicKeys(paths: string[] | undefined): Promise<unknown[]> {
  return Promise.all((paths ?? []).map((p) => readJson(p, 4096)));
}

export const tufNoun: CliNoun = {
  name: 'tuf',
  summary: 'the TUF repository: status, offline signing, root rotation, product delegations',
  verbs: {
    status: defineVerb({
      summary: 'every role: version, expiry, threshold, keys (online = held by the server)',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const s = await ctx.api().request<{ roles: Array<Record<string, unknown>> }>('GET', '/api/v1/tuf/status');
        if (values.json) printJson(ctx.out, s);
        else {
          const rows = s.roles.map((r) => ({
            ...r,
            keys: (r.keys as Array<{ keyId: string; online: boolean }>).map(
              (k) => `${k.keyId.slice(0, 8)}${k.online ? '(online)' : ''}`,
            ),
          }));
          ctx.out(formatTable(rows, ['role', 'version', 'expires', 'threshold', 'keys', 'pendingDraft']));
        }
        return EXIT.OK;
      },
    }),
    'export-unsigned': defineVerb({
      summary: 'write the draft of ROLE (root, targets or a product) that waits for offline signatures',
      usage: 'ROLE --out FILE',
      positionals: 1,
      options: { out: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        if (!values.out) throw usage('--out FILE is required');
        const role = positionals[0]!;
        const metadata = await ctx
          .api()
          .request<Record<string, unknown>>('GET', `/api/v1/tuf/drafts/${encodeURIComponent(role)}`);
        await writeFile(values.out, `${JSON.stringify({ role, metadata } satisfies DraftFile, null, 2)}\n`);
        ctx.out(
          `wrote the ${role} draft to ${values.out}; sign it with 'fleetward tuf sign ${values.out} --key KEYFILE'`,
        );
        return EXIT.OK;
      },
    }),
    sign: defineVerb({
      summary: 'add a signature with an offline key file (runs locally; no server needed)',
      usage: 'FILE --key KEYFILE [--out FILE]',
      positionals: 1,
      options: { key: { type: 'string' }, out: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        if (!values.key) throw usage('--key KEYFILE is required');
        const draft = await readDraft(positionals[0]!);
        const keyText = await readFile(values.key, 'utf8').catch(() => {
          throw usage(`cannot read ${values.key}`);
        });
        if (keyText.length > MAX_KEY_FILE_BYTES) throw usage(`${values.key} is not a key file`);
        const { key, role } = decryptKeyFile(keyText, keyPassphrase(ctx));
        const md = parseMetadata(draft.role === 'root' ? 'root' : 'targets', draft.metadata);
        // Say what is being signed: the signer is the last line of defence against a bad draft.
        const signed = md.signed.toJSON() as { version: number; expires: string; targets?: Record<string, unknown> };
        ctx.err(
          `signing ${draft.role} v${signed.version} (expires ${signed.expires}) with ${role} key ${key.keyId.slice(0, 16)}`,
        );
        for (const path of Object.keys(signed.targets ?? {})) ctx.err(`  target ${path}`);
        md.sign(signerFor(key));
        const out = values.out ?? positionals[0]!;
        await writeFile(out, `${JSON.stringify({ role: draft.role, metadata: md.toJSON() }, null, 2)}\n`);
        ctx.out(`signed; ${Object.keys(md.signatures).length} signature(s) in ${out}`);
        return EXIT.OK;
      },
    }),
    'import-signed': defineVerb({
      summary: 'send signed drafts to the server; what reaches its threshold is published',
      usage: 'FILE… [--json]',
      positionals: [1, 64],
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const items = await Promise.all(positionals.map(readDraft));
        const r = await ctx.api().request<PublishResult>('POST', '/api/v1/tuf/signed', { items });
        return printResult(ctx, r, values.json);
      },
    }),
    'rotate-root': defineVerb({
      summary: 'draft a new root with these public keys; old and new thresholds must sign it',
      usage:
        '--key PUB.json… --threshold N [--targets-key PUB.json…] [--targets-threshold N] [--rotate-online] [--json]',
      options: {
        ...JSON_FLAG,
        key: { type: 'string', multiple: true },
        threshold: { type: 'string' },
        'targets-key': { type: 'string', multiple: true },
        'targets-threshold': { type: 'string' },
        'rotate-online': { type: 'boolean' },
      },
      run: async ({ values }, ctx) => {
        if (!values.key?.length || !values.threshold) throw usage('--key (one or more) and --threshold are required');
        const targetsKeys = values['targets-key']?.length ? await readPublicKeys(values['targets-key']) : undefined;
        const r = await ctx.api().request<PublishResult>('POST', '/api/v1/tuf/root', {
          rootKeys: await readPublicKeys(values.key),
          rootThreshold: Number(values.threshold),
          targetsKeys,
          targetsThreshold: values['targets-threshold'] ? Number(values['targets-threshold']) : undefined,
          rotateOnline: values['rotate-online'] ?? undefined,
        });
        return printResult(ctx, r, values.json);
      },
    }),
    delegate: defineVerb({
      summary: "create a product's signing role: offline keys given, or a server-held key (weaker) when none",
      usage: '--product P [--key PUB.json…] [--threshold N] [--json]',
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        key: { type: 'string', multiple: true },
        threshold: { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        if (!values.product) throw usage('--product is required');
        const r = await ctx.api().request<PublishResult>('POST', '/api/v1/tuf/delegations', {
          productId: values.product,
          keys: values.key?.length ? await readPublicKeys(values.key) : undefined,
          threshold: values.threshold ? Number(values.threshold) : undefined,
        });
        return printResult(ctx, r, values.json);
      },
    }),
  },
};
