import type { Component, VulnerabilityMatch } from '../model.ts';
import type { OsvAffected, OsvFeed, OsvRange } from './osv.ts';
import { comparatorFor } from './version.ts';

/** Ecosystems whose versions carry distribution revisions; they only match components from that distribution's package database. */
const DISTRO_ECOSYSTEMS = new Set([
  'Debian',
  'Ubuntu',
  'Alpine',
  'OpenWrt',
  'Red Hat',
  'Rocky Linux',
  'AlmaLinux',
  'SUSE',
  'openSUSE',
  'Photon OS',
  'Mageia',
  'Wolfi',
  'Chainguard',
  'openEuler',
]);

const baseOf = (ecosystem: string) => ecosystem.split(':')[0] ?? ecosystem;

function ecosystemFits(c: Component, a: OsvAffected): boolean {
  const base = baseOf(a.ecosystem);
  if (c.ecosystem !== null) return base === c.ecosystem;
  return !DISTRO_ECOSYSTEMS.has(base);
}

/**
 * OSV schema "Evaluation": walk the events in version order; introduced at or below v turns the
 * range on, fixed at or below v turns it off, last_affected below v turns it off. Returns the
 * fixing version above v when affected, '' when affected without a known fix, null when not affected.
 */
export function evaluateRange(range: OsvRange, ecosystem: string, version: string): string | null {
  if (range.type !== 'SEMVER' && range.type !== 'ECOSYSTEM') return null; // GIT ranges need commit history
  const cmp = comparatorFor(range.type, ecosystem);
  const key = (e: (typeof range.events)[number]) => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '0';
  const vs = (a: string, b: string) => (a === '0' ? (b === '0' ? 0 : -1) : b === '0' ? 1 : cmp(a, b));
  const events = [...range.events].sort((a, b) => vs(key(a), key(b)));
  let affected = false;
  for (const e of events) {
    if (e.introduced !== undefined && (e.introduced === '0' || cmp(version, e.introduced) >= 0)) affected = true;
    if (e.fixed !== undefined && cmp(version, e.fixed) >= 0) affected = false;
    if (e.last_affected !== undefined && cmp(version, e.last_affected) > 0) affected = false;
  }
  if (!affected) return null;
  const fix = events.find((e) => e.fixed !== undefined && cmp(e.fixed, version) > 0);
  return fix?.fixed ?? '';
}

function affects(a: OsvAffected, version: string): { fixed: string | null } | null {
  if (a.versions.includes(version)) return { fixed: null };
  for (const r of a.ranges) {
    const hit = evaluateRange(r, a.ecosystem, version);
    if (hit !== null) return { fixed: hit === '' ? null : hit };
  }
  return null;
}

/** Matches components (with versions) against an OSV feed by package name, ecosystem and version range. */
export function matchVulnerabilities(components: Component[], feed: OsvFeed): VulnerabilityMatch[] {
  const out: VulnerabilityMatch[] = [];
  for (const c of components) {
    if (c.version === null) continue;
    for (const entry of feed.entries) {
      for (const a of entry.affected) {
        if (a.name.toLowerCase() !== c.name.toLowerCase() || !ecosystemFits(c, a)) continue;
        const hit = affects(a, c.version);
        if (hit === null) continue;
        out.push({
          id: entry.id,
          aliases: entry.aliases,
          summary: entry.summary,
          component: c.name,
          version: c.version,
          severity: entry.severity,
          cvss: entry.cvss,
          fixed: hit.fixed,
        });
        break;
      }
    }
  }
  return out;
}
