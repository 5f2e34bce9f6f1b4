import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

interface TokenInfo {
  id: string;
  operatorId: string;
  name: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
  token?: string;
}
const COLUMNS = ['id', 'operatorId', 'name', 'createdAt', 'expiresAt', 'lastUsedAt', 'revokedAt'];
const forTable = (t: TokenInfo) => ({
  ...t,
  createdAt: isoTime(t.createdAt),
  expiresAt: isoTime(t.expiresAt),
  lastUsedAt: isoTime(t.lastUsedAt),
  revokedAt: isoTime(t.revokedAt),
});

export const tokenNoun: CliNoun = {
  name: 'token',
  summary: 'your API tokens',
  verbs: {
    list: defineVerb({
      summary: 'list your tokens (admins: --all)',
      usage: '[--all] [--json]',
      options: { ...JSON_FLAG, all: { type: 'boolean' } },
      run: async ({ values }, ctx) => {
        const { items } = await ctx
          .api()
          .request<{ items: TokenInfo[] }>('GET', `/api/v1/tokens${values.all ? '?all=true' : ''}`);
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(forTable), COLUMNS));
        return 0;
      },
    }),
    create: defineVerb({
      summary: 'issue yourself a new token (shown once)',
      usage: '--name NAME [--ttl-days N] [--json]',
      options: { ...JSON_FLAG, name: { type: 'string' }, 'ttl-days': { type: 'string' } },
      run: async ({ values }, ctx) => {
        const ttl = values['ttl-days'] === undefined ? undefined : Number(values['ttl-days']);
        const t = await ctx.api().request<TokenInfo>('POST', '/api/v1/tokens', { name: values.name, ttlDays: ttl });
        if (values.json) printJson(ctx.out, t);
        else ctx.out(`token ${t.id} (expires ${isoTime(t.expiresAt)}), shown once:\n${t.token}`);
        return 0;
      },
    }),
    revoke: defineVerb({
      summary: 'revoke a token at once',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', `/api/v1/tokens/${encodeURIComponent(positionals[0]!)}`);
        ctx.out(`revoked token ${positionals[0]}`);
        return 0;
      },
    }),
  },
};
