import { readdirSync } from 'node:fs';
import type { BenchResult } from './bench.types.ts';

/**
 * `npm run bench [name…]`: runs every bench/*.bench.ts (or those named) one after another and prints
 * their tables. Figures are ratios against a baseline from the same run; absolute times on this
 * shared 2-core machine are noise.
 */
const only = process.argv.slice(2);
const files = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

for (const file of files) {
  const mod = (await import(new URL(file, import.meta.url).href)) as { run: () => Promise<BenchResult> };
  const started = performance.now();
  const result = await mod.run();
  console.log(`\n## ${result.name}  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  console.table(result.rows);
  console.log(result.summary);
}
