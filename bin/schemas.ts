#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { JSON_SCHEMAS, renderJsonSchema } from '../src/protocol/json-schema.ts';

/** `npm run schemas`: regenerates schemas/*.schema.json from the protocol's zod schemas. */
for (const name of Object.keys(JSON_SCHEMAS) as Array<keyof typeof JSON_SCHEMAS>) {
  const file = new URL(`../schemas/${name}`, import.meta.url);
  writeFileSync(file, renderJsonSchema(name));
  console.log(`wrote schemas/${name}`);
}
