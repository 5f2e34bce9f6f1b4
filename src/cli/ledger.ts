import { FleetwardError } from '../protocol/errors.ts';
import type { CliErrorCode } from './api-client.ts';
import type { CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

interface Entry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  source: string | null;
  result: string;
}
interface Verification {
  ok: boolean;
  checked: number;
  firstBad?: { seq: number; problem: string };
}

export const ledgerNoun: CliNoun = {
  name: 'ledger',
  summary: 'the tamper-evident record of every action',
  verbs: {
    list: defineVerb({
      summary: 'newest entries first',
      usage: '[--limit N] [--before SEQ] [--target KIND:ID] [--action A] [--actor A] [--json]',
      options: {
        ...JSON_FLAG,
        limit: { type: 'string' },
        before: { type: 'string' },
        target: { type: 'string' },
        action: { type: 'string' },
        actor: { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        const params = new URLSearchParams();
        for (const k of ['limit', 'before', 'target', 'action', 'actor'] as const)
          if (values[k]) params.set(k, values[k]);
        const { items } = await ctx.api().request<{ items: Entry[] }>('GET', `/api/v1/ledger?${params}`);
        if (values.json) printJson(ctx.out, items);
        else {
          const rows = items.map((e) => ({ ...e, at: isoTime(e.at) }));
          ctx.out(formatTable(rows, ['seq', 'at', 'actor', 'action', 'target', 'result', 'source']));
        }
        return 0;
      },
    }),
    verify: defineVerb({
      summary: 'walk the hash chain; exit 8 and name the first entry altered or removed',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const v = await ctx.api().request<Verification>('GET', '/api/v1/ledger/verify');
        if (values.json) printJson(ctx.out, v);
        if (v.ok) {
          if (!values.json) ctx.out(`ledger intact: ${v.checked} entries verified`);
          return EXIT.OK;
        }
        const bad = v.firstBad!;
        if (!values.json) {
          throw new FleetwardError<CliErrorCode>(
            'CHECK_FAILED',
            `ledger broken: entry ${bad.seq} was ${bad.problem} (${v.checked} entries verified before it)`,
          );
        }
        return EXIT.CHECK_FAILED;
      },
    }),
  },
};
