import { CITL_BAD, CITL_GOOD, CITL_ICK, CITL_RISKY } from './citl-functions.ts';
import type { Hygiene } from './model.ts';

/** glibc's C99 scanf family is exported as __isoc99_*; CITL lists it under both spellings. */
function candidates(name: string): string[] {
  if (name.startsWith('__isoc99_')) return [name.slice(2), name.slice(9)];
  return [name];
}

/**
 * Sorts called functions into the CITL hygiene classes. Input is the list of imported (or, for a
 * static binary, linked) function names; each name lands in at most one class.
 */
export function classifyFunctions(names: Iterable<string>): Hygiene {
  const out: Hygiene = { good: [], risky: [], bad: [], ick: [] };
  const seen = new Set<string>();
  for (const raw of names) {
    for (const n of candidates(raw)) {
      if (seen.has(n)) continue;
      const cls = CITL_ICK.has(n)
        ? 'ick'
        : CITL_BAD.has(n)
          ? 'bad'
          : CITL_RISKY.has(n)
            ? 'risky'
            : CITL_GOOD.has(n)
              ? 'good'
              : null;
      if (cls === null) continue;
      seen.add(n);
      out[cls].push(n);
      break;
    }
  }
  for (const k of ['good', 'risky', 'bad', 'ick'] as const) out[k].sort();
  return out;
}
