import { EXIT } from './exit-codes.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface StoredReport {
  id: number;
  deviceTime: number;
  receivedAt: number;
  report: {
    seq: number;
    firmware: string;
    traffic: { bytesIn: number; bytesOut: number };
    listening: Array<{ proto: string; port: number }>;
    totals: { connections: number; remotes: number };
    resets: Array<{ reason: string; count: number }>;
    authFailures: number;
  };
}

const COLUMNS = [
  'received',
  'deviceTime',
  'seq',
  'firmware',
  'bytesIn',
  'bytesOut',
  'listening',
  'conns',
  'remotes',
  'resets',
  'authFail',
];

/** `--since`: epoch ms, an ISO time, or an age like 90s, 15m, 2h, 7d. Throws CLI_USAGE. */
export function parseSince(text: string, now: number): number {
  if (/^\d+$/.test(text)) return Number(text);
  const age = /^(\d+)([smhd])$/.exec(text);
  if (age) return now - Number(age[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[age[2] as 's' | 'm' | 'h' | 'd'];
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw usage('--since takes epoch ms, an ISO time, or an age like 15m, 2h, 7d');
  return t;
}

const forTable = (r: StoredReport) => ({
  received: isoTime(r.receivedAt),
  deviceTime: isoTime(r.deviceTime),
  seq: r.report.seq,
  firmware: r.report.firmware,
  bytesIn: r.report.traffic.bytesIn,
  bytesOut: r.report.traffic.bytesOut,
  listening: r.report.listening.map((l) => `${l.proto}/${l.port}`),
  conns: r.report.totals.connections,
  remotes: r.report.totals.remotes,
  resets: r.report.resets.map((x) => `${x.reason}×${x.count}`),
  authFail: r.report.authFailures,
});

export const deviceReportsVerb = defineVerb({
  summary: "a device's stored reports, oldest first; --all follows every page",
  usage: 'ID [--since T] [--limit N] [--all] [--json]',
  positionals: 1,
  options: { ...JSON_FLAG, since: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  run: async ({ values, positionals }, ctx) => {
    const params = new URLSearchParams();
    if (values.since) params.set('since', String(parseSince(values.since, Date.now())));
    if (values.limit) params.set('limit', values.limit);
    const items: StoredReport[] = [];
    let next: string | null = null;
    do {
      if (next) params.set('after', next);
      const page: { items: StoredReport[]; next: string | null } = await ctx
        .api()
        .request('GET', `/api/v1/devices/${encodeURIComponent(positionals[0]!)}/reports?${params}`);
      items.push(...page.items);
      next = page.next;
    } while (values.all && next);
    if (values.json) printJson(ctx.out, values.all ? items : { items, next });
    else {
      ctx.out(formatTable(items.map(forTable), COLUMNS));
      if (next && !values.all) ctx.err(`more: --all, or --limit`);
    }
    return EXIT.OK;
  },
});
