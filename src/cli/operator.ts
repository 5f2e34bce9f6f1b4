import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

interface Operator {
  id: string;
  name: string;
  role: string;
  createdAt: number;
  disabledAt: number | null;
}
interface Issued {
  id: string;
  token: string;
  expiresAt: number;
}
const COLUMNS = ['id', 'name', 'role', 'createdAt', 'disabledAt'];
const forTable = (o: Operator) => ({ ...o, createdAt: isoTime(o.createdAt), disabledAt: isoTime(o.disabledAt) });

export const operatorNoun: CliNoun = {
  name: 'operator',
  summary: 'operators and their roles (admin, operator, auditor)',
  verbs: {
    bootstrap: defineVerb({
      summary: 'create the first admin with the one-time bootstrap token printed by `serve`',
      usage: '--bootstrap-token T --name NAME [--json]',
      options: { ...JSON_FLAG, 'bootstrap-token': { type: 'string' }, name: { type: 'string' } },
      run: async ({ values }, ctx) => {
        const body = {
          bootstrapToken: values['bootstrap-token'] ?? ctx.env.FLEETWARD_BOOTSTRAP_TOKEN,
          name: values.name,
        };
        const r = await ctx.api().request<{ operator: Operator; token: Issued }>('POST', '/api/v1/bootstrap', body, {
          auth: false,
        });
        if (values.json) printJson(ctx.out, r);
        else {
          ctx.out(`admin ${r.operator.name} created. API token (shown once, expires ${isoTime(r.token.expiresAt)}):`);
          ctx.out(r.token.token);
        }
        return 0;
      },
    }),
    list: defineVerb({
      summary: 'list operators',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const { items } = await ctx.api().request<{ items: Operator[] }>('GET', '/api/v1/operators');
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items.map(forTable), COLUMNS));
        return 0;
      },
    }),
    create: defineVerb({
      summary: 'add an operator, and issue their first token with --with-token',
      usage: 'NAME --role admin|operator|auditor [--with-token] [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, role: { type: 'string' }, 'with-token': { type: 'boolean' } },
      run: async ({ values, positionals }, ctx) => {
        const api = ctx.api();
        const op = await api.request<Operator>('POST', '/api/v1/operators', {
          name: positionals[0],
          role: values.role,
        });
        const token = values['with-token']
          ? await api.request<Issued>('POST', `/api/v1/operators/${op.id}/tokens`, { name: 'initial' })
          : undefined;
        if (values.json) printJson(ctx.out, { operator: op, token });
        else {
          ctx.out(`created ${op.role} ${op.name} (${op.id})`);
          if (token) ctx.out(`API token (shown once; hand it over securely): ${token.token}`);
        }
        return 0;
      },
    }),
    update: defineVerb({
      summary: 'change role, disable (revokes every token) or enable',
      usage: 'ID [--role R] [--disable | --enable] [--json]',
      positionals: 1,
      options: { ...JSON_FLAG, role: { type: 'string' }, disable: { type: 'boolean' }, enable: { type: 'boolean' } },
      run: async ({ values, positionals }, ctx) => {
        const disabled = values.disable ? true : values.enable ? false : undefined;
        const op = await ctx
          .api()
          .request<Operator>('PATCH', `/api/v1/operators/${encodeURIComponent(positionals[0]!)}`, {
            role: values.role,
            disabled,
          });
        if (values.json) printJson(ctx.out, op);
        else ctx.out(`updated ${op.name}: role ${op.role}${op.disabledAt ? ', disabled' : ''}`);
        return 0;
      },
    }),
  },
};
