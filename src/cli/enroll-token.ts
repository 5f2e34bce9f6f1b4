import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface TokenInfo {
  id: string;
  kind: string;
  productId: string;
  deviceId: string | null;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  usedBy: string | null;
  token?: string;
}
const COLUMNS = ['id', 'kind', 'productId', 'deviceId', 'expiresAt', 'usedAt', 'usedBy'];
const forTable = (t: TokenInfo) => ({ ...t, expiresAt: isoTime(t.expiresAt), usedAt: isoTime(t.usedAt) });

/** `fleetward enroll-token`: single-use tokens with which devices enroll (docs: README "Device identity"). */
export const enrollTokenNoun: CliNoun = {
  name: 'enroll-token',
  summary: 'single-use device enrollment tokens',
  verbs: {
    create: defineVerb({
      summary: 'create tokens for a product (shown once); --device binds one token to a device id',
      usage: '--product P [--device ID] [--count N] [--ttl-hours H] [--json]',
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        device: { type: 'string' },
        count: { type: 'string' },
        'ttl-hours': { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        if (!values.product) throw usage('--product is required');
        const body = {
          productId: values.product,
          deviceId: values.device,
          count: values.count === undefined ? undefined : Number(values.count),
          ttlHours: values['ttl-hours'] === undefined ? undefined : Number(values['ttl-hours']),
        };
        const { items } = await ctx.api().request<{ items: TokenInfo[] }>('POST', '/api/v1/enrollment-tokens', body);
        if (values.json) printJson(ctx.out, items);
        else for (const t of items) ctx.out(t.token ?? '');
        return 0;
      },
    }),
    list: defineVerb({
      summary: 'list tokens (never their secrets)',
      usage: '[--product P] [--json]',
      options: { ...JSON_FLAG, product: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const q = values.product ? `?product=${encodeURIComponent(values.product)}` : '';
        const { items } = await ctx.api().request<{ items: TokenInfo[] }>('GET', `/api/v1/enrollment-tokens${q}`);
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(forTable), COLUMNS));
        return 0;
      },
    }),
    revoke: defineVerb({
      summary: 'delete an unused token',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', `/api/v1/enrollment-tokens/${encodeURIComponent(positionals[0]!)}`);
        ctx.out(`revoked enrollment token ${positionals[0]}`);
        return 0;
      },
    }),
  },
};
