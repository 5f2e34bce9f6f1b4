import type { CliNoun } from './cli.types.ts';
import { deviceReportsVerb } from './device-reports.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

interface Device {
  id: string;
  productId: string;
  serial: string;
  tags: string[];
  group: string | null;
  zone: string;
  status: string;
  lastSeen: number | null;
}
const COLUMNS = ['id', 'productId', 'serial', 'status', 'zone', 'group', 'tags', 'lastSeen'];
const forTable = (d: Device) => ({ ...d, lastSeen: isoTime(d.lastSeen) });
const path = (id: string) => `/api/v1/devices/${encodeURIComponent(id)}`;

export const deviceNoun: CliNoun = {
  name: 'device',
  summary: 'the device registry',
  verbs: {
    reports: deviceReportsVerb,
    'command-results': defineVerb({
      summary: 'what the device answered to its commands, newest first',
      usage: 'ID [--limit N] [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, limit: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        const q = values.limit ? `?limit=${encodeURIComponent(values.limit)}` : '';
        const { items } = await ctx
          .api()
          .request<{ items: Array<Record<string, unknown>> }>('GET', `${path(positionals[0]!)}/command-results${q}`);
        if (values.json) printJson(ctx.out, items);
        else {
          const rows = items.map((r) => ({ ...r, receivedAt: isoTime(r.receivedAt as number) }));
          ctx.out(formatTable(rows, ['receivedAt', 'id', 'type', 'status', 'code', 'detail']));
        }
        return 0;
      },
    }),
    list: defineVerb({
      summary: 'list devices, filtered; --all follows every page',
      usage:
        '[--product P] [--status S] [--group G] [--zone Z] [--tag T]... [--prefix ID] [--limit N] [--after ID] [--all] [--json]',
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        status: { type: 'string' },
        group: { type: 'string' },
        zone: { type: 'string' },
        tag: { type: 'string', multiple: true },
        prefix: { type: 'string' },
        limit: { type: 'string' },
        after: { type: 'string' },
        all: { type: 'boolean' },
      },
      run: async ({ values }, ctx) => {
        const params = new URLSearchParams();
        for (const k of ['product', 'status', 'group', 'zone', 'prefix', 'limit'] as const) {
          if (values[k]) params.set(k, values[k]);
        }
        for (const tag of values.tag ?? []) params.append('tag', tag);
        const items: Device[] = [];
        let after = values.after ?? null;
        let next: string | null = null;
        do {
          if (after) params.set('after', after);
          const page: { items: Device[]; next: string | null } = await ctx
            .api()
            .request('GET', `/api/v1/devices?${params}`);
          items.push(...page.items);
          next = page.next;
          after = next;
        } while (values.all && after);
        if (values.json) printJson(ctx.out, values.all ? items : { items, next });
        else {
          ctx.out(formatTable(items.map(forTable), COLUMNS));
          if (next && !values.all) ctx.err(`more: --after ${next} (or --all)`);
        }
        return 0;
      },
    }),
    create: defineVerb({
      summary: 'register a device',
      usage: 'ID --product P --serial S [--tag T]... [--group G] [--zone Z] [--json]',
      positionals: 1,
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        serial: { type: 'string' },
        tag: { type: 'string', multiple: true },
        group: { type: 'string' },
        zone: { type: 'string' },
      },
      run: async ({ values, positionals }, ctx) => {
        const body = {
          id: positionals[0],
          productId: values.product,
          serial: values.serial,
          tags: values.tag,
          group: values.group,
          zone: values.zone,
        };
        const d = await ctx.api().request<Device>('POST', '/api/v1/devices', body);
        if (values.json) printJson(ctx.out, d);
        else ctx.out(`created device ${d.id} (${d.status})`);
        return 0;
      },
    }),
    get: defineVerb({
      summary: 'show one device',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const d = await ctx.api().request<Device>('GET', path(positionals[0]!));
        if (values.json) printJson(ctx.out, d);
        else ctx.out(formatTable([forTable(d)], COLUMNS));
        return 0;
      },
    }),
    update: defineVerb({
      summary: 'change tags, group or zone (--no-group clears the group)',
      usage: 'ID [--tag T]... [--group G | --no-group] [--zone Z] [--json]',
      positionals: 1,
      options: {
        ...JSON_FLAG,
        tag: { type: 'string', multiple: true },
        group: { type: 'string' },
        'no-group': { type: 'boolean' },
        zone: { type: 'string' },
      },
      run: async ({ values, positionals }, ctx) => {
        const body = { tags: values.tag, group: values['no-group'] ? null : values.group, zone: values.zone };
        const d = await ctx.api().request<Device>('PATCH', path(positionals[0]!), body);
        if (values.json) printJson(ctx.out, d);
        else ctx.out(`updated device ${d.id}`);
        return 0;
      },
    }),
    certificates: defineVerb({
      summary: 'the certificates issued to (or accepted from) a device',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const { items } = await ctx
          .api()
          .request<{ items: Array<Record<string, unknown>> }>('GET', `${path(positionals[0]!)}/certificates`);
        if (values.json) printJson(ctx.out, items);
        else {
          const rows = items.map((c) => ({ ...c, notAfter: isoTime(c.notAfter as number) }));
          ctx.out(formatTable(rows, ['serial', 'status', 'issuer', 'notAfter', 'revokeReason']));
        }
        return 0;
      },
    }),
    rotate: defineVerb({
      summary: 'ask the device for a new key and CSR; the old certificate is revoked after the grace period',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const r = await ctx
          .api()
          .request<{ tokenId: string; expiresAt: number }>('POST', `${path(positionals[0]!)}/certificates/rotate`);
        if (values.json) printJson(ctx.out, r);
        else
          ctx.out(`rotation requested for ${positionals[0]} (token ${r.tokenId}, valid until ${isoTime(r.expiresAt)})`);
        return 0;
      },
    }),
    revoke: defineVerb({
      summary: 'revoke every certificate of the device now: live sessions end, reconnects are refused',
      usage: 'ID [--reason TEXT] [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, reason: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        const body = values.reason ? { reason: values.reason } : {};
        const r = await ctx
          .api()
          .request<{ revoked: unknown[] }>('POST', `${path(positionals[0]!)}/certificates/revoke`, body);
        if (values.json) printJson(ctx.out, r);
        else ctx.out(`revoked ${positionals[0]} (${r.revoked.length} certificate(s))`);
        return 0;
      },
    }),
    delete: defineVerb({
      summary: 'remove a device from the registry',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', path(positionals[0]!));
        ctx.out(`deleted device ${positionals[0]}`);
        return 0;
      },
    }),
  },
};
