import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CertificateAuthority, loadMasterKey } from '../server/identity/index.ts';
import type { CliNoun } from './cli.types.ts';
import { formatTable, isoTime, printJson } from './output.ts';
import { defineVerb, JSON_FLAG, usage } from './verb.ts';

interface CaCert {
  subject: string;
  fingerprint: string;
  notAfter: number;
  certificate: string;
}
type Mca = {
  id: string;
  productId: string;
  subject: string;
  fingerprint: string;
  autoRegister: boolean;
  createdAt: number;
};

/** `fleetward ca`: the Fleetward CA devices pin, an external CA to import, manufacturer CAs to trust. */
export const caNoun: CliNoun = {
  name: 'ca',
  summary: 'certificate authorities: ours, imported, manufacturers’',
  verbs: {
    show: defineVerb({
      summary: 'the root devices pin and the issuing CA (--pem prints the root certificate)',
      usage: '[--pem] [--json]',
      options: { ...JSON_FLAG, pem: { type: 'boolean' } },
      run: async ({ values }, ctx) => {
        const info = await ctx.api().request<{ root: CaCert; issuing: CaCert; imported: boolean }>('GET', '/api/v1/ca');
        if (values.json) printJson(ctx.out, info);
        else if (values.pem) ctx.out(info.root.certificate.trim());
        else {
          const rows = (['root', 'issuing'] as const).map((k) => ({
            ca: k,
            subject: info[k].subject,
            notAfter: isoTime(info[k].notAfter),
            sha256: info[k].fingerprint,
          }));
          ctx.out(formatTable(rows, ['ca', 'subject', 'notAfter', 'sha256']));
        }
        return 0;
      },
    }),
    import: defineVerb({
      summary:
        "replace the issuing CA with your company's (run on the server host while it is stopped; the key is sealed with the master key)",
      usage: '--data DIR --cert FILE --key FILE [--chain FILE]',
      options: {
        data: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        chain: { type: 'string' },
      },
      run: async ({ values }, ctx) => {
        if (!values.data || !values.cert || !values.key) throw usage('--data, --cert and --key are required');
        const dataDir = resolve(values.data);
        await CertificateAuthority.importIssuing(dataDir, loadMasterKey(dataDir, ctx.env.FLEETWARD_MASTER_KEY), {
          certificatePem: readFileSync(values.cert, 'utf8'),
          privateKeyPem: readFileSync(values.key, 'utf8'),
          chainPem: values.chain ? readFileSync(values.chain, 'utf8') : '',
        });
        ctx.out('imported the issuing CA; devices enrolled from now on chain to your root');
        return 0;
      },
    }),
    'manufacturer-add': defineVerb({
      summary:
        'trust a manufacturer CA for a product; its devices register on first connection unless --no-auto-register',
      usage: '--product P --cert FILE [--no-auto-register] [--json]',
      options: {
        ...JSON_FLAG,
        product: { type: 'string' },
        cert: { type: 'string' },
        'no-auto-register': { type: 'boolean' },
      },
      run: async ({ values }, ctx) => {
        if (!values.product || !values.cert) throw usage('--product and --cert are required');
        const body = {
          productId: values.product,
          certificate: readFileSync(values.cert, 'utf8'),
          autoRegister: !values['no-auto-register'],
        };
        const m = await ctx.api().request<Mca>('POST', '/api/v1/manufacturer-cas', body);
        if (values.json) printJson(ctx.out, m);
        else ctx.out(`trusted manufacturer CA ${m.id} (${m.subject}) for ${m.productId}`);
        return 0;
      },
    }),
    'manufacturer-list': defineVerb({
      summary: 'list trusted manufacturer CAs',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const { items } = await ctx.api().request<{ items: Mca[] }>('GET', '/api/v1/manufacturer-cas');
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items, ['id', 'productId', 'subject', 'autoRegister', 'fingerprint']));
        return 0;
      },
    }),
    'manufacturer-remove': defineVerb({
      summary: 'stop trusting a manufacturer CA (devices already registered keep their certificates)',
      usage: 'ID',
      positionals: 1,
      options: {},
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', `/api/v1/manufacturer-cas/${encodeURIComponent(positionals[0]!)}`);
        ctx.out(`removed manufacturer CA ${positionals[0]}`);
        return 0;
      },
    }),
  },
};
