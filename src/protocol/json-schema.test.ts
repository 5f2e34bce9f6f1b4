import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { JSON_SCHEMAS } from './json-schema.ts';

test('the committed JSON Schemas are what the zod schemas generate (run `npm run schemas`)', () => {
  for (const [name, generate] of Object.entries(JSON_SCHEMAS)) {
    const committed = JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), 'utf8'));
    assert.deepEqual(committed, generate(), `schemas/${name} is stale: run npm run schemas`);
  }
});
