import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Emergency {
  id: string;
  kind: string;
  target: string;
  reason: string;
  state: string;
  requestedBy: string;
  requestedAt: number;
  expiresAt: number;
  decidedBy: string | null;
  result: Record<string, unknown> | null;
}
const COLUMNS = ['id', 'kind', 'target', 'state', 'requestedBy', 'decidedBy', 'expiresAt', 'result'];
const forTable = (e: Emergency) => ({ ...e, expiresAt: isoTime(e.expiresAt) });
const path = (id: string) => `/api/v1/emergency-actions/${encodeURIComponent(id)}`;

const decide = (verb: 'approve' | 'reject', summary: string) =>
  defineVerb({
    summary,
    usage: 'ID [--json]',
    positionals: 1,
    options: { ...JSON_FLAG },
    run: async ({ values, positionals }, ctx) => {
      const e = await ctx.api().request<Emergency>('POST', `${path(positionals[0]!)}/${verb}`);
      if (values.json) printJson(ctx.out, e);
      else ctx.out(`${e.id}: ${e.state}${e.result ? ` ${JSON.stringify(e.result)}` : ''}`);
      return 0;
    },
  });

export const emergencyNoun: CliNoun = {
  name: 'emergency',
  summary: 'fleet-wide emergency actions (two admins: one requests, another approves)',
  verbs: {
    request: defineVerb({
      summary: 'request quarantine-product, revoke-ca or rotate-product-credentials (valid for an hour)',
      usage: '--kind K --target PRODUCT|CA --reason R [--json]',
      options: { ...JSON_FLAG, kind: { type: 'string' }, target: { type: 'string' }, reason: { type: 'string' } },
      run: async ({ values }, ctx) => {
        if (!values.kind || !values.target || !values.reason) throw usage('--kind, --target and --reason are required');
        const body = { kind: values.kind, target: values.target, reason: values.reason };
        const e = await ctx.api().request<Emergency>('POST', '/api/v1/emergency-actions', body);
        if (values.json) printJson(ctx.out, e);
        else ctx.out(`requested ${e.id}; another admin approves with: fleetward emergency approve ${e.id}`);
        return 0;
      },
    }),
    list: defineVerb({
      summary: 'list emergency actions, newest first',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const { items } = await ctx.api().request<{ items: Emergency[] }>('GET', '/api/v1/emergency-actions');
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(forTable), COLUMNS));
        return 0;
      },
    }),
    approve: decide('approve', 'approve and execute a pending action (a different admin than the requester)'),
    reject: decide('reject', 'reject a pending action'),
  },
};
