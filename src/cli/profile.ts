import { readFile } from 'node:fs/promises';
import { FleetwardError } from '../protocol/errors.ts';
import type { CliErrorCode } from './api-client.ts';
import type { CliNoun } from './cli.types.ts';
import { formatTable, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Profile {
  id: string;
  name: string;
  enabled: boolean;
  targets: Array<{ kind: string; value: string }>;
  behaviours: Array<{ name: string; kind: string }>;
  mitigations: string[];
}
const COLUMNS = ['id', 'name', 'enabled', 'targets', 'behaviours', 'mitigations'];
const forTable = (p: Profile) => ({
  ...p,
  targets: p.targets.map((t) => (t.kind === 'all' ? 'all' : `${t.kind}:${t.value}`)),
  behaviours: p.behaviours.map((b) => `${b.name}(${b.kind})`),
});
const path = (id: string) => `/api/v1/security-profiles/${encodeURIComponent(id)}`;
/** A profile file is a few kilobytes; refuse anything that is clearly not one. */
const MAX_FILE_BYTES = 256 * 1024;

async function readJsonFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FleetwardError<CliErrorCode>('INPUT_INVALID', `cannot read ${file}`, { cause: err });
  }
  if (text.length > MAX_FILE_BYTES) throw new FleetwardError<CliErrorCode>('INPUT_INVALID', `${file} is too large`);
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new FleetwardError<CliErrorCode>('INPUT_INVALID', `${file} is not a JSON object`, { cause: err });
  }
}

const show = (values: { json?: boolean }, out: (t: string) => void, p: Profile, verb: string) => {
  if (values.json) printJson(out, p);
  else out(`${verb} security profile ${p.id}`);
};

export const profileNoun: CliNoun = {
  name: 'profile',
  summary: 'security profiles: the behaviours detection checks, per product, group or tag',
  verbs: {
    list: defineVerb({
      summary: 'list security profiles',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const { items } = await ctx.api().request<{ items: Profile[] }>('GET', '/api/v1/security-profiles');
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(forTable), COLUMNS));
        return 0;
      },
    }),
    get: defineVerb({
      summary: 'show one profile (JSON: it is the file format of create/update)',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        printJson(ctx.out, await ctx.api().request<Profile>('GET', path(positionals[0]!)));
        return 0;
      },
    }),
    create: defineVerb({
      summary: 'create a profile from a JSON file ({id, name, targets, behaviours, mitigations, notifyUrl})',
      usage: '--file FILE [--json]',
      options: { ...JSON_FLAG, file: { type: 'string' } },
      run: async ({ values }, ctx) => {
        if (!values.file) throw usage('--file is required');
        const p = await ctx
          .api()
          .request<Profile>('POST', '/api/v1/security-profiles', await readJsonFile(values.file));
        show(values, ctx.out, p, 'created');
        return 0;
      },
    }),
    update: defineVerb({
      summary: 'replace fields of a profile from a JSON file (id, createdAt, updatedAt are ignored)',
      usage: 'ID --file FILE [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, file: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        if (!values.file) throw usage('--file is required');
        const { id: _id, createdAt: _c, updatedAt: _u, ...patch } = await readJsonFile(values.file);
        const p = await ctx.api().request<Profile>('PATCH', path(positionals[0]!), patch);
        show(values, ctx.out, p, 'updated');
        return 0;
      },
    }),
    enable: toggleVerb(true),
    disable: toggleVerb(false),
    delete: defineVerb({
      summary: 'delete a profile',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', path(positionals[0]!));
        ctx.out(`deleted security profile ${positionals[0]}`);
        return 0;
      },
    }),
  },
};

/** `profile enable|disable ID`: one PATCH of `enabled`. */
function toggleVerb(enabled: boolean) {
  return defineVerb({
    summary: enabled ? 'turn a profile on' : 'turn a profile off (its open alarms stay until cleared)',
    usage: 'ID [--json]',
    positionals: 1,
    options: { ...JSON_FLAG },
    run: async ({ values, positionals }, ctx) => {
      const p = await ctx.api().request<Profile>('PATCH', path(positionals[0]!), { enabled });
      show(values, ctx.out, p, enabled ? 'enabled' : 'disabled');
      return 0;
    },
  });
}
