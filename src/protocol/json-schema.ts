import { z } from 'zod';
import { commandResultSchema, commandSchema } from './commands.ts';
import { reportSchema } from './report.ts';

/**
 * The wire formats as JSON Schema (draft 2020-12), generated from the zod schemas that validate them, for
 * device makers who write their own agent. `npm run schemas` writes them to `schemas/`; a test fails when
 * the committed files differ from what the code generates.
 */
export const JSON_SCHEMAS = {
  'report.schema.json': () => withId(z.toJSONSchema(reportSchema, { io: 'input' }), 'report'),
  'command.schema.json': () =>
    withId(
      {
        ...z.toJSONSchema(z.object({ command: commandSchema, result: commandResultSchema }), { io: 'input' }),
        description: 'Fleetward command to a device (`command`) and the device result (`result`)',
      },
      'command',
    ),
} as const;

function withId(schema: Record<string, unknown>, name: string): Record<string, unknown> {
  const { $schema, ...rest } = schema;
  return { $schema, $id: `urn:fleetward:schema:${name}:v1`, ...rest };
}

/** The file's exact text: stable key order from the schema, two-space indent, final newline. */
export function renderJsonSchema(name: keyof typeof JSON_SCHEMAS): string {
  return `${JSON.stringify(JSON_SCHEMAS[name](), null, 2)}\n`;
}
