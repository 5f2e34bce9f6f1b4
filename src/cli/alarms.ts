import { FleetwardError } from '../protocol/errors.ts';
import type { CliErrorCode } from './api-client.ts';
import type { CliContext, CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Alarm {
  id: string;
  deviceId: string;
  profileId: string;
  behaviour: string;
  severity: string;
  state: string;
  raisedAt: number;
  raiseCount: number;
  suppressedUntil: number | null;
  evidence: { metric: string; value?: unknown; threshold: string };
}
const COLUMNS = ['id', 'state', 'severity', 'deviceId', 'profileId', 'behaviour', 'raisedAt', 'evidence'];
const forTable = (a: Alarm) => ({
  ...a,
  raisedAt: isoTime(a.raisedAt),
  state: a.suppressedUntil && a.suppressedUntil > Date.now() ? `${a.state} (suppressed)` : a.state,
  evidence: `${a.evidence.metric}=${JSON.stringify(a.evidence.value ?? null)} ${a.evidence.threshold}`,
});
const path = (id: string) => `/api/v1/alarms/${encodeURIComponent(id)}`;

interface Delivery {
  id: string;
  origin: string;
  alarmId: string | null;
  deviceId: string | null;
  status: string;
  attempts: number;
  createdAt: number;
  nextAttemptAt: number;
  lastStatus: number | null;
  lastError: string | null;
}
const DELIVERY_COLUMNS = [
  'id',
  'status',
  'attempts',
  'lastError',
  'origin',
  'alarmId',
  'deviceId',
  'createdAt',
  'next',
];
const deliveryRow = (d: Delivery) => ({
  ...d,
  lastError: d.lastError ?? '',
  createdAt: isoTime(d.createdAt),
  next: d.status === 'pending' ? isoTime(d.nextAttemptAt) : '',
});

/** `30m`, `2h`, `7d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,6})(m|h|d)$/.exec(text);
  if (!m) throw usage(`--for: a duration like 30m, 2h or 7d (got '${text}')`);
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** One line per event, as `alarms watch` prints it. */
export function formatEvent(e: { type: string; alarm: Alarm }): string {
  const a = e.alarm;
  return `${isoTime(Date.now())} ${e.type.padEnd(12)} ${a.severity.padEnd(8)} ${a.deviceId} ${a.profileId}/${a.behaviour} ${a.id} ${a.evidence.metric}=${JSON.stringify(a.evidence.value ?? null)} ${a.evidence.threshold}`;
}

/** Reads the SSE stream, calling `onEvent` per `alarm` event, until the stream ends or `count` events came. */
async function watch(ctx: CliContext, query: URLSearchParams, count: number | null, onEvent: (data: string) => void) {
  const api = ctx.api();
  if (!api.credential)
    throw new FleetwardError<CliErrorCode>('NO_TOKEN', 'no API token: pass --token or set FLEETWARD_TOKEN');
  let res: Response;
  try {
    res = await fetch(`${api.baseUrl}/api/v1/alarms/stream?${query}`, {
      headers: { accept: 'text/event-stream', authorization: `Bearer ${api.credential}` },
    });
  } catch (err) {
    throw new FleetwardError<CliErrorCode>('SERVER_UNREACHABLE', `cannot reach ${api.baseUrl}`, { cause: err });
  }
  if (!res.ok || !res.body) {
    const problem = { status: res.status, ...((await res.json().catch(() => ({}))) as object) };
    throw new FleetwardError<CliErrorCode>('API_ERROR', `HTTP ${res.status}`, { details: { problem } });
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let seen = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = frame.split('\n').find((l) => l.startsWith('data: '));
      if (!data) continue;
      onEvent(data.slice(6));
      if (count !== null && ++seen >= count) {
        await reader.cancel();
        return;
      }
    }
  }
}

export const alarmsNoun: CliNoun = {
  name: 'alarms',
  summary: 'detection alarms: list, watch live, acknowledge, suppress, clear; webhook deliveries',
  verbs: {
    list: defineVerb({
      summary: 'list alarms, newest first (--state open for active and acknowledged)',
      usage:
        '[--state active|acknowledged|cleared|open] [--device D] [--profile P] [--severity S] [--limit N] [--after ID] [--json]',
      options: {
        ...JSON_FLAG,
        state: { type: 'string' },
        device: { type: 'string' },
        profile: { type: 'string' },
        severity: { type: 'string' },
        limit: { type: 'string' },
        after: { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        const params = new URLSearchParams();
        for (const k of ['state', 'device', 'profile', 'severity', 'limit', 'after'] as const) {
          if (values[k]) params.set(k, values[k]);
        }
        const page = await ctx
          .api()
          .request<{ items: Alarm[]; next: string | null }>('GET', `/api/v1/alarms?${params}`);
        if (values.json) printJson(ctx.out, page);
        else {
          ctx.out(formatTable(page.items.map(forTable), COLUMNS));
          if (page.next) ctx.err(`more: --after ${page.next}`);
        }
        return 0;
      },
    }),
    get: defineVerb({
      summary: 'show one alarm with its evidence',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const a = await ctx.api().request<Alarm>('GET', path(positionals[0]!));
        if (values.json) printJson(ctx.out, a);
        else ctx.out(`${formatTable([forTable(a)], COLUMNS)}\n\nevidence: ${JSON.stringify(a.evidence, null, 2)}`);
        return 0;
      },
    }),
    watch: defineVerb({
      summary: 'print alarm changes as they happen (Server-Sent Events); --count N stops after N',
      usage: '[--device D] [--severity S] [--count N] [--json]',
      options: { ...JSON_FLAG, device: { type: 'string' }, severity: { type: 'string' }, count: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const query = new URLSearchParams();
        if (values.device) query.set('device', values.device);
        if (values.severity) query.set('severity', values.severity);
        const count = values.count === undefined ? null : Number(values.count);
        if (count !== null && !(Number.isInteger(count) && count > 0)) throw usage('--count: a whole number above 0');
        await watch(ctx, query, count, (data) => ctx.out(values.json ? data : formatEvent(JSON.parse(data))));
        return 0;
      },
    }),
    ack: defineVerb({
      summary: 'acknowledge an active alarm',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const a = await ctx.api().request<Alarm>('POST', `${path(positionals[0]!)}/acknowledge`);
        if (values.json) printJson(ctx.out, a);
        else ctx.out(`acknowledged ${a.id}`);
        return 0;
      },
    }),
    suppress: defineVerb({
      summary: 'suppress an alarm (and re-raises of it) for a while, with a reason',
      usage: 'ID --reason R --for 30m|2h|7d [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, reason: { type: 'string' }, for: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        if (!values.reason || !values.for) throw usage('--reason and --for are required');
        const body = { reason: values.reason, durationMs: parseDuration(values.for) };
        const a = await ctx.api().request<Alarm>('POST', `${path(positionals[0]!)}/suppress`, body);
        if (values.json) printJson(ctx.out, a);
        else ctx.out(`suppressed ${a.id} until ${isoTime(a.suppressedUntil)}`);
        return 0;
      },
    }),
    deliveries: defineVerb({
      summary: 'webhook notifications and their outcome, newest first (--status exhausted shows the failed ones)',
      usage: '[--status pending|delivered|rejected|exhausted] [--limit N] [--json]',
      options: { ...JSON_FLAG, status: { type: 'string' }, limit: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const params = new URLSearchParams();
        if (values.status) params.set('status', values.status);
        if (values.limit) params.set('limit', values.limit);
        const page = await ctx.api().request<{ items: Delivery[] }>('GET', `/api/v1/webhook-deliveries?${params}`);
        if (values.json) printJson(ctx.out, page);
        else ctx.out(formatTable(page.items.map(deliveryRow), DELIVERY_COLUMNS));
        return 0;
      },
    }),
    clear: defineVerb({
      summary: 'clear an alarm, with a reason',
      usage: 'ID --reason R [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, reason: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        if (!values.reason) throw usage('--reason is required');
        const a = await ctx.api().request<Alarm>('POST', `${path(positionals[0]!)}/clear`, { reason: values.reason });
        if (values.json) printJson(ctx.out, a);
        else ctx.out(`cleared ${a.id}`);
        return 0;
      },
    }),
  },
};
