import type { CliNoun } from './cli.types.ts';
import { formatTable, printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

interface Product {
  id: string;
  name: string;
  model: string;
  manufacturer: string;
  supportEnd: string;
}
const COLUMNS = ['id', 'name', 'model', 'manufacturer', 'supportEnd'];

/** The product fields create and update both take, as flags. */
const FIELD_FLAGS = {
  ...JSON_FLAG,
  name: { type: 'string' },
  model: { type: 'string' },
  manufacturer: { type: 'string' },
  'support-end': { type: 'string' },
  description: { type: 'string' },
} as const;

function fieldsOf(v: {
  name?: string;
  model?: string;
  manufacturer?: string;
  'support-end'?: string;
  description?: string;
}) {
  return {
    name: v.name,
    model: v.model,
    manufacturer: v.manufacturer,
    supportEnd: v['support-end'],
    description: v.description,
  };
}

export const productNoun: CliNoun = {
  name: 'product',
  summary: 'products: model designation and published support period',
  verbs: {
    list: defineVerb({
      summary: 'list products',
      usage: '[--json]',
      options: { ...JSON_FLAG },
      run: async ({ values }, ctx) => {
        const items: Product[] = [];
        let after: string | null = null;
        do {
          const q: string = after ? `&after=${encodeURIComponent(after)}` : '';
          const page: { items: Product[]; next: string | null } = await ctx
            .api()
            .request('GET', `/api/v1/products?limit=1000${q}`);
          items.push(...page.items);
          after = page.next;
        } while (after);
        if (values.json) printJson(ctx.out, items);
        else ctx.out(formatTable(items as unknown as Array<Record<string, unknown>>, COLUMNS));
        return 0;
      },
    }),
    create: defineVerb({
      summary: 'register a product',
      usage: 'ID --name NAME --model MODEL --manufacturer M --support-end YYYY-MM-DD [--description D] [--json]',
      positionals: 1,
      options: FIELD_FLAGS,
      run: async ({ values, positionals }, ctx) => {
        const body = { id: positionals[0], ...fieldsOf(values) };
        const p = await ctx.api().request<Product>('POST', '/api/v1/products', body);
        if (values.json) printJson(ctx.out, p);
        else ctx.out(`created product ${p.id} (support until ${p.supportEnd})`);
        return 0;
      },
    }),
    get: defineVerb({
      summary: 'show one product',
      usage: 'ID [--json]',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ values, positionals }, ctx) => {
        const p = await ctx.api().request<Product>('GET', `/api/v1/products/${encodeURIComponent(positionals[0]!)}`);
        if (values.json) printJson(ctx.out, p);
        else ctx.out(formatTable([p as unknown as Record<string, unknown>], COLUMNS));
        return 0;
      },
    }),
    update: defineVerb({
      summary: 'change a product',
      usage: 'ID [--name N] [--model M] [--manufacturer M] [--support-end D] [--description D] [--json]',
      positionals: 1,
      options: FIELD_FLAGS,
      run: async ({ values, positionals }, ctx) => {
        const body = fieldsOf(values);
        const p = await ctx
          .api()
          .request<Product>('PATCH', `/api/v1/products/${encodeURIComponent(positionals[0]!)}`, body);
        if (values.json) printJson(ctx.out, p);
        else ctx.out(`updated product ${p.id}`);
        return 0;
      },
    }),
    delete: defineVerb({
      summary: 'delete a product that has no devices',
      usage: 'ID',
      positionals: 1,
      options: { ...JSON_FLAG },
      run: async ({ positionals }, ctx) => {
        await ctx.api().request('DELETE', `/api/v1/products/${encodeURIComponent(positionals[0]!)}`);
        ctx.out(`deleted product ${positionals[0]}`);
        return 0;
      },
    }),
  },
};
