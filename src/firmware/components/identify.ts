import type { Component, ComponentSource } from '../model.ts';
import { packageDbKind, parseStatusFile } from './package-db.ts';
import { FILE_NAME_PATTERNS, VERSION_PATTERNS } from './version-strings.ts';

/** Package URL (github.com/package-url/purl-spec): generic for upstream names, deb/opkg for databases. */
export function purlOf(name: string, version: string | null, source: ComponentSource): string {
  const type = source === 'dpkg' ? 'deb' : source === 'opkg' ? 'opkg' : 'generic';
  const n = encodeURIComponent(name.toLowerCase());
  return version === null ? `pkg:${type}/${n}` : `pkg:${type}/${n}@${encodeURIComponent(version)}`;
}

/** Collects components across files, merging repeats by name, version and source. */
export class ComponentCollector {
  readonly byKey = new Map<string, Component>();

  add(name: string, version: string | null, source: ComponentSource, path: string): void {
    const key = `${source}|${name}|${version ?? ''}`;
    const existing = this.byKey.get(key);
    if (existing) {
      if (!existing.paths.includes(path) && existing.paths.length < 20) existing.paths.push(path);
      return;
    }
    const ecosystem = source === 'dpkg' ? 'Debian' : source === 'opkg' ? 'OpenWrt' : null;
    this.byKey.set(key, { name, version, ecosystem, source, purl: purlOf(name, version, source), paths: [path] });
  }

  /** Components sorted by name; a version-less entry is dropped when a versioned one of that name exists. */
  list(): Component[] {
    const all = [...this.byKey.values()];
    const versioned = new Set(all.filter((c) => c.version !== null).map((c) => c.name));
    return all
      .filter((c) => c.version !== null || !versioned.has(c.name))
      .sort((a, b) => (a.name + (a.version ?? '')).localeCompare(b.name + (b.version ?? '')));
  }
}

/** Finds embedded version strings in `text` (a latin1 view of the file's bytes). */
export function scanVersionStrings(text: string, path: string, into: ComponentCollector): void {
  for (const { name, pattern } of VERSION_PATTERNS) {
    pattern.lastIndex = 0;
    let m: RegExpExecArray | null = pattern.exec(text);
    for (let n = 0; m !== null && n < 10; n++) {
      into.add(name, m[1]!, 'version-string', path);
      m = pattern.exec(text);
    }
  }
}

/** Components named by the file itself: library names, and dpkg/opkg status databases. */
export function scanFileIdentity(path: string, text: string | null, into: ComponentCollector): void {
  const base = path.split('/').pop() ?? path;
  for (const { name, pattern } of FILE_NAME_PATTERNS) {
    const m = pattern.exec(base);
    if (m) into.add(name, m[1] ?? null, 'file-name', path);
  }
  const db = packageDbKind(path);
  if (db !== null && text !== null) {
    for (const p of parseStatusFile(text)) into.add(p.name, p.version, db, path);
  }
}
