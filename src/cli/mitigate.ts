import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface Mitigation {
  id: string;
  deviceId: string;
  action: string;
  alarmId: string | null;
  actor: string;
  state: string;
  details: Record<string, unknown>;
  createdAt: number;
}
const COLUMNS = ['id', 'action', 'state', 'actor', 'alarmId', 'createdAt'];
const device = (id: string) => `/api/v1/devices/${encodeURIComponent(id)}`;

const act = (route: string, summary: string) =>
  defineVerb({
    summary,
    usage: 'DEVICE --reason R [--json]',
    positionals: 1,
    options: { ...JSON_FLAG, reason: { type: 'string' } },
    run: async ({ values, positionals }, ctx) => {
      if (!values.reason) throw usage('--reason is required');
      const m = await ctx
        .api()
        .request<Mitigation>('POST', `${device(positionals[0]!)}/${route}`, { reason: values.reason });
      if (values.json) printJson(ctx.out, m);
      else ctx.out(`${m.action} ${m.deviceId}: ${m.state}`);
      return 0;
    },
  });

export const mitigateNoun: CliNoun = {
  name: 'mitigate',
  summary: 'act on a device: quarantine, release, force an update; list what was done',
  verbs: {
    quarantine: act('quarantine', 'quarantine a device: only update and command topics stay open'),
    release: act('release-quarantine', 'release a device from quarantine (previous status and zone)'),
    'force-update': act('force-update', 'send the device its newest published release'),
    list: defineVerb({
      summary: 'mitigations applied to a device, newest first',
      usage: 'DEVICE [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const { items } = await ctx
          .api()
          .request<{ items: Mitigation[] }>('GET', `${device(positionals[0]!)}/mitigations`);
        if (values.json) printJson(ctx.out, items);
        else
          ctx.out(
            formatTable(
              items.map((m) => ({ ...m, createdAt: isoTime(m.createdAt) })),
              COLUMNS,
            ),
          );
        return 0;
      },
    }),
  },
};
