import { firmwareError } from '../errors.ts';
import type { Severity } from '../model.ts';
import { cvss3BaseScore, severityOfScore } from './cvss.ts';

/** OSV schema 1.x (ossf.github.io/osv-schema), reduced to what matching needs. */
export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}

export interface OsvRange {
  type: string;
  events: OsvEvent[];
}

export interface OsvAffected {
  ecosystem: string;
  name: string;
  ranges: OsvRange[];
  versions: string[];
}

export interface OsvEntry {
  id: string;
  aliases: string[];
  summary: string;
  cvss: number | null;
  severity: Severity;
  affected: OsvAffected[];
}

export interface OsvFeed {
  entries: OsvEntry[];
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

const DB_SEVERITY: Record<string, Severity> = {
  CRITICAL: 'critical',
  HIGH: 'high',
  MODERATE: 'medium',
  MEDIUM: 'medium',
  LOW: 'low',
};

/** CVSS v3 vector first (computed), then database_specific.severity, else "medium" (unknown ≠ harmless). */
function severityOf(raw: Json): { cvss: number | null; severity: Severity } {
  for (const s of Array.isArray(raw.severity) ? raw.severity : []) {
    if (isObj(s) && typeof s.score === 'string' && String(s.type).startsWith('CVSS_V3')) {
      const score = cvss3BaseScore(s.score);
      if (score !== null) return { cvss: score, severity: severityOfScore(score) };
    }
  }
  const db = isObj(raw.database_specific) ? raw.database_specific.severity : undefined;
  const sev = typeof db === 'string' ? DB_SEVERITY[db.toUpperCase()] : undefined;
  return { cvss: null, severity: sev ?? 'medium' };
}

function parseEvent(e: unknown): OsvEvent {
  if (!isObj(e)) throw new Error('event is not an object');
  const out: OsvEvent = {};
  for (const k of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
    if (typeof e[k] === 'string') out[k] = e[k];
  }
  if (Object.keys(out).length !== 1)
    throw new Error('an event needs exactly one of introduced/fixed/last_affected/limit');
  return out;
}

function parseAffected(a: unknown): OsvAffected {
  if (!isObj(a) || !isObj(a.package)) throw new Error('affected[] needs a package');
  const { ecosystem, name } = a.package;
  if (typeof ecosystem !== 'string' || typeof name !== 'string') throw new Error('package needs ecosystem and name');
  const ranges = (Array.isArray(a.ranges) ? a.ranges : []).map((r: unknown) => {
    if (!isObj(r) || typeof r.type !== 'string' || !Array.isArray(r.events))
      throw new Error('range needs type and events');
    return { type: r.type, events: r.events.map(parseEvent) };
  });
  return { ecosystem, name, ranges, versions: strings(a.versions) };
}

/** One OSV record → OsvEntry; throws a plain Error naming what is wrong. */
function parseEntry(raw: unknown): OsvEntry {
  if (!isObj(raw) || typeof raw.id !== 'string') throw new Error('record needs a string id');
  const affected = (Array.isArray(raw.affected) ? raw.affected : []).map(parseAffected);
  const summary =
    typeof raw.summary === 'string' ? raw.summary : typeof raw.details === 'string' ? raw.details.slice(0, 200) : '';
  return { id: raw.id, aliases: strings(raw.aliases), summary, ...severityOf(raw), affected };
}

/**
 * Parses OSV JSON files (one record, or an array of records, per file) into a feed.
 * Throws OSV_INVALID naming the file when one is not valid OSV (parse, don't validate).
 */
export function parseOsvFeed(files: Array<{ name: string; text: string }>): OsvFeed {
  const entries: OsvEntry[] = [];
  for (const f of files) {
    try {
      const json: unknown = JSON.parse(f.text);
      for (const raw of Array.isArray(json) ? json : [json]) entries.push(parseEntry(raw));
    } catch (err) {
      throw firmwareError('OSV_INVALID', `OSV file ${f.name} is invalid: ${(err as Error).message}`, {
        cause: err,
        details: { file: f.name },
      });
    }
  }
  return { entries };
}
