import type { CliContext, CliNoun } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Rollout {
  id: string;
  releaseId: string;
  status: string;
  phase: number;
  phases: number[];
  reason: string | null;
  createdAt: number;
}

interface Progress {
  rollout: Rollout;
  release: { id: string; version: string; securityVersion: number; advisory: { cves: string[]; severity: string } };
  total: number;
  counts: Record<string, number>;
  phases: Array<{
    phase: number;
    percent: number;
    devices: number;
    finished: number;
    succeeded: number;
    failed: number;
  }>;
  failures: Array<{ deviceId: string; state: string; reason: string | null }>;
}

const FINAL = new Set(['succeeded', 'aborted', 'cancelled']);

/** `10m`, `30s`, `2h`, `1d` or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(s|m|h|d)?$/.exec(text);
  if (!m) throw usage(`not a duration: ${text} (e.g. 30s, 10m, 2h)`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's'];
}

function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text)) throw usage(`${name} must be a number`);
  return Number(text);
}

function printProgress(ctx: CliContext, p: Progress): void {
  const r = p.rollout;
  ctx.out(
    `rollout ${r.id}: release ${p.release.version} (securityVersion ${p.release.securityVersion}) — ${r.status}, phase ${r.phase + 1}/${r.phases.length}`,
  );
  if (r.reason) ctx.out(`reason: ${r.reason}`);
  const rows = p.phases.map((ph) => ({
    phase: ph.phase + 1,
    percent: `${ph.percent}%`,
    devices: ph.devices,
    finished: ph.finished,
    succeeded: ph.succeeded,
    failed: ph.failed,
    state:
      ph.phase < r.phase || (ph.finished === ph.devices && ph.devices > 0)
        ? 'done'
        : ph.phase === r.phase
          ? r.status
          : 'waiting',
  }));
  ctx.out(formatTable(rows, ['phase', 'percent', 'devices', 'finished', 'succeeded', 'failed', 'state']));
  const states = Object.entries(p.counts)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${s} ${n}`);
  ctx.out(`${p.total} devices: ${states.join(', ') || 'none'}`);
  for (const f of p.failures.slice(0, 10)) ctx.out(`  ${f.deviceId}: ${f.state} ${f.reason ?? ''}`);
}

const simple = (verb: 'pause' | 'resume' | 'cancel', summary: string) =>
  defineVerb({
    summary,
    usage: 'ID [--json]',
    positionals: 1,
    options: { ...JSON_FLAG },
    run: async ({ values, positionals }, ctx) => {
      const r = await ctx
        .api()
        .request<Rollout>('POST', `/api/v1/rollouts/${encodeURIComponent(positionals[0]!)}/${verb}`, {});
      if (values.json) printJson(ctx.out, r);
      else ctx.out(`rollout ${r.id}: ${r.status}`);
      return EXIT.OK;
    },
  });

export const rolloutNoun: CliNoun = {
  name: 'rollout',
  summary: 'staged rollouts of a release: phases, soak, abort criteria',
  verbs: {
    create: defineVerb({
      summary: 'roll a release out in phases; it aborts itself past --max-failure-pct',
      usage:
        '--release R [--group G] [--tag T]… [--device ID]… [--phases 1,10,50,100] [--soak 10m] [--max-failure-pct 20] [--min-finished 5] [--auto-rollback] [--json]',
      options: {
        ...JSON_FLAG,
        release: { type: 'string' },
        product: { type: 'string' },
        group: { type: 'string' },
        tag: { type: 'string', multiple: true },
        device: { type: 'string', multiple: true },
        phases: { type: 'string' },
        soak: { type: 'string' },
        'max-failure-pct': { type: 'string' },
        'min-finished': { type: 'string' },
        'auto-rollback': { type: 'boolean' },
      },
      run: async ({ values }, ctx) => {
        if (!values.release) throw usage('--release is required');
        const phases = values.phases?.split(',').map((p) => number(p.trim(), '--phases')!);
        const r = await ctx.api().request<Rollout>('POST', '/api/v1/rollouts', {
          releaseId: values.release,
          target: { productId: values.product, group: values.group, tags: values.tag, deviceIds: values.device },
          phases,
          soakSeconds: values.soak === undefined ? undefined : parseDuration(values.soak),
          maxFailurePct: number(values['max-failure-pct'], '--max-failure-pct'),
          minFinished: number(values['min-finished'], '--min-finished'),
          autoRollback: values['auto-rollback'],
        });
        if (values.json) printJson(ctx.out, r);
        else ctx.out(`started rollout ${r.id} of ${r.releaseId}: phases ${r.phases.join('% → ')}%`);
        return EXIT.OK;
      },
    }),
    status: defineVerb({
      summary: 'progress per phase; --watch follows it until it ends (exit 8 if it aborted)',
      usage: 'ID [--watch] [--interval 2s] [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, watch: { type: 'boolean' }, interval: { type: 'string' } },
      run: async ({ values, positionals }, ctx) => {
        const path = `/api/v1/rollouts/${encodeURIComponent(positionals[0]!)}`;
        const interval = parseDuration(values.interval ?? '2s') * 1000;
        let last = '';
        for (;;) {
          const p = await ctx.api().request<Progress>('GET', path);
          const line = JSON.stringify([p.rollout.status, p.rollout.phase, p.counts]);
          if (values.json) printJson(ctx.out, p);
          else if (line !== last) printProgress(ctx, p);
          last = line;
          if (!values.watch || FINAL.has(p.rollout.status)) {
            return p.rollout.status === 'aborted' ? EXIT.CHECK_FAILED : EXIT.OK;
          }
          // Polling the status endpoint is what the operator asked for; this is not test synchronization.
          await new Promise((resolve) => setTimeout(resolve, interval));
        }
      },
    }),
    list: defineVerb({
      summary: 'list rollouts',
      usage: '[--status running|paused|succeeded|aborted|cancelled] [--json]',
      options: { ...JSON_FLAG, status: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const q = values.status ? `&status=${encodeURIComponent(values.status)}` : '';
        const page = await ctx.api().request<{ items: Rollout[] }>('GET', `/api/v1/rollouts?limit=1000${q}`);
        if (values.json) printJson(ctx.out, page.items);
        else {
          const rows = page.items.map((r) => ({
            ...r,
            phase: `${r.phase + 1}/${r.phases.length}`,
            created: isoTime(r.createdAt),
          }));
          ctx.out(formatTable(rows, ['id', 'releaseId', 'status', 'phase', 'created', 'reason']));
        }
        return EXIT.OK;
      },
    }),
    pause: simple('pause', 'hold a running rollout (no new commands, no next phase)'),
    resume: simple('resume', 'continue a paused rollout'),
    abort: simple('cancel', 'stop a rollout by hand; devices mid-update finish what they started'),
  },
};
