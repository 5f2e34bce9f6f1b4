/** One installed package from a dpkg or opkg status database. */
export interface InstalledPackage {
  name: string;
  version: string;
}

/**
 * Parses a Debian-control-style status file (dpkg /var/lib/dpkg/status, opkg /usr/lib/opkg/status):
 * paragraphs of `Field: value`, separated by blank lines (Debian Policy 5.1). Only packages whose
 * Status says "installed" count; opkg files without a Status field (info/*.control) count too.
 */
export function parseStatusFile(text: string): InstalledPackage[] {
  const out: InstalledPackage[] = [];
  for (const para of text.split(/\r?\n\s*\r?\n/)) {
    const fields = new Map<string, string>();
    for (const line of para.split(/\r?\n/)) {
      const m = /^([A-Za-z][\w-]*):\s*(.*)$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    const name = fields.get('package');
    const version = fields.get('version');
    const status = fields.get('status');
    if (!name || !version) continue;
    if (status !== undefined && !/\binstalled\b/.test(status)) continue;
    out.push({ name, version });
  }
  return out;
}

/** Which database a path is, by its well-known location. */
export function packageDbKind(path: string): 'dpkg' | 'opkg' | null {
  if (/(^|\/)var\/lib\/dpkg\/status$/.test(path)) return 'dpkg';
  if (/(^|\/)(usr\/lib|var\/lib|lib)\/opkg\/status$/.test(path) || /(^|\/)opkg\/info\/[^/]+\.control$/.test(path)) {
    return 'opkg';
  }
  return null;
}
