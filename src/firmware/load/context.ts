import { firmwareError } from '../errors.ts';
import type { FirmwareLimits } from '../limits.ts';
import type { Finding, FindingKind, Severity } from '../model.ts';
import type { FirmwareFile } from '../source.ts';

/** Output bytes below which the compression ratio is not checked (small text compresses >200:1). */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/** Shared state of one loadPath call: limits, what has been spent, and what was found. */
export interface LoadContext {
  limits: FirmwareLimits;
  spentBytes: number;
  spentEntries: number;
  files: FirmwareFile[];
  findings: Finding[];
  tempDirs: string[];
}

export function newContext(limits: FirmwareLimits): LoadContext {
  return { limits, spentBytes: 0, spentEntries: 0, files: [], findings: [], tempDirs: [] };
}

export function addFinding(
  ctx: LoadContext,
  kind: FindingKind,
  severity: Severity,
  path: string,
  message: string,
  detail: Finding['detail'] = {},
): void {
  ctx.findings.push({ kind, severity, path, message, detail });
}

/** Counts one more extracted entry; throws ARCHIVE_LIMIT past maxEntries. */
export function spendEntry(ctx: LoadContext): void {
  ctx.spentEntries += 1;
  if (ctx.spentEntries > ctx.limits.maxEntries) {
    throw firmwareError('ARCHIVE_LIMIT', `more than ${ctx.limits.maxEntries} archive entries`);
  }
}

/** Counts decompressed bytes as they stream; throws ARCHIVE_LIMIT past maxTotalBytes. */
export function spendBytes(ctx: LoadContext, n: number): void {
  ctx.spentBytes += n;
  if (ctx.spentBytes > ctx.limits.maxTotalBytes) {
    throw firmwareError('ARCHIVE_LIMIT', `more than ${ctx.limits.maxTotalBytes} bytes decompressed in total`);
  }
}

/** Ratio guard (zip bomb): output may not exceed input × maxCompressionRatio once past RATIO_FLOOR_BYTES. */
export function checkRatio(ctx: LoadContext, out: number, compressed: number): void {
  if (out > RATIO_FLOOR_BYTES && out > Math.max(1, compressed) * ctx.limits.maxCompressionRatio) {
    throw firmwareError('ARCHIVE_LIMIT', `compression ratio above ${ctx.limits.maxCompressionRatio}:1`);
  }
}

export function memoryFile(path: string, bytes: Uint8Array): FirmwareFile {
  return { path, size: bytes.length, load: async () => bytes };
}
