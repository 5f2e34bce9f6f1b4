/**
 * The I/O half of the firmware analyzer: turns a path (file, directory, archive, filesystem image)
 * into a FirmwareSource, and a directory of OSV files into a feed. Everything else is pure.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isFleetwardError } from '../../protocol/errors.ts';
import { firmwareError } from '../errors.ts';
import { DEFAULT_LIMITS, type FirmwareLimits } from '../limits.ts';
import type { FirmwareSource } from '../source.ts';
import type { OsvFeed } from '../vuln/osv.ts';
import { parseOsvFeed } from '../vuln/osv.ts';
import { addFinding, type LoadContext, newContext } from './context.ts';
import { addDiskFile, readFileLimited, walkDirectory } from './tree.ts';

export type { FirmwareLimits } from '../limits.ts';
export { DEFAULT_LIMITS } from '../limits.ts';

async function fill(ctx: LoadContext, path: string, isDir: boolean): Promise<void> {
  try {
    if (isDir) await walkDirectory(ctx, path, '');
    else await addDiskFile(ctx, path, basename(path), 1);
  } catch (err) {
    if (!isFleetwardError(err, 'ARCHIVE_LIMIT')) throw err;
    addFinding(ctx, 'archive-limit', 'medium', basename(path), err.message);
  }
}

/**
 * Loads a firmware file, directory, archive (tar, tar.gz, zip; nested) or SquashFS image within
 * `limits`. Hostile content (traversal names, bombs, corrupt archives) becomes findings on the
 * source; nothing is ever written outside a private temp dir. Call `dispose()` when done.
 * Throws PATH_NOT_FOUND when `path` does not exist.
 */
export async function loadPath(path: string, limits: FirmwareLimits = DEFAULT_LIMITS): Promise<FirmwareSource> {
  const st = await lstat(path).catch((err: unknown) => {
    throw firmwareError('PATH_NOT_FOUND', 'firmware path not found', { cause: err });
  });
  const ctx = newContext(limits);
  const dispose = async () => {
    for (const d of ctx.tempDirs.splice(0)) await rm(d, { recursive: true, force: true });
  };
  try {
    await fill(ctx, path, st.isDirectory());
  } catch (err) {
    await dispose();
    throw err;
  }
  ctx.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const single = ctx.files.length === 1 && ctx.files[0]!.path === basename(path);
  const kind = st.isDirectory()
    ? 'directory'
    : ctx.tempDirs.length > 0
      ? 'filesystem-image'
      : single
        ? 'file'
        : 'archive';
  return { name: basename(path), kind, files: ctx.files, findings: ctx.findings, dispose };
}

/** Reads every *.json file of a directory (not recursive) as an OSV feed. Throws OSV_INVALID. */
export async function loadOsvDirectory(dir: string, limits: FirmwareLimits = DEFAULT_LIMITS): Promise<OsvFeed> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  const files: Array<{ name: string; text: string }> = [];
  for (const name of names) {
    const bytes = await readFileLimited(join(dir, name), limits.maxFileBytes);
    files.push({ name, text: new TextDecoder().decode(bytes) });
  }
  return parseOsvFeed(files);
}
