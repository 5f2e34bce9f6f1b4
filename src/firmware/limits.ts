/**
 * Every bound the analyzer applies to untrusted input, in one place (DESIGN rule 6).
 * Units are in the comments; loaders and parsers enforce them while reading, not afterwards.
 */
export interface FirmwareLimits {
  /** bytes: largest single file read from disk or taken out of an archive */
  maxFileBytes: number;
  /** bytes: sum of all bytes decompressed out of archives (zip-bomb guard) */
  maxTotalBytes: number;
  /** count: files taken out of archives, over all nesting levels */
  maxEntries: number;
  /** ratio: decompressed bytes / compressed bytes allowed per archive or entry */
  maxCompressionRatio: number;
  /** levels: archives inside archives (outer file = level 1) */
  maxDepth: number;
  /** count: ELF program + section headers parsed per binary */
  maxElfHeaders: number;
  /** count: ELF symbols read per binary (all tables together) */
  maxElfSymbols: number;
  /** count: dynamic-section entries read per binary */
  maxDynamicEntries: number;
  /** bytes: prefix of a file scanned for version strings and secrets */
  maxScanBytes: number;
  /** milliseconds: wall time allowed for an external unpacker (unsquashfs) */
  toolTimeoutMs: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_LIMITS: FirmwareLimits = {
  maxFileBytes: 256 * MIB,
  maxTotalBytes: 1024 * MIB,
  maxEntries: 50_000,
  maxCompressionRatio: 200,
  maxDepth: 4,
  maxElfHeaders: 70_000,
  maxElfSymbols: 200_000,
  maxDynamicEntries: 4096,
  maxScanBytes: 64 * MIB,
  toolTimeoutMs: 120_000,
};
