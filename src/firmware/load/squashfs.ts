import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { addFinding, type LoadContext } from './context.ts';

const run = promisify(execFile);

/** Walks an unpacked tree into the context (injected: the walker itself expands images, see tree.ts). */
export type Walker = (ctx: LoadContext, root: string, prefix: string) => Promise<void>;

/** Sum of file sizes from `unsquashfs -lls` (mode owner size date time path), read before extracting. */
function declaredBytes(listing: string): number {
  let total = 0;
  for (const line of listing.split('\n')) {
    const m = /^-\S+\s+\S+\s+(\d+)\s/.exec(line);
    if (m) total += Number(m[1]);
  }
  return total;
}

function isMissingTool(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Unpacks a SquashFS image with Debian's unsquashfs into a private (0700) temp dir, then walks it
 * like a directory. The listing is checked against maxTotalBytes first so a bomb is never written.
 * Returns false (and adds a finding) when the image could not be unpacked.
 */
export async function unsquashFile(ctx: LoadContext, image: string, prefix: string, walk: Walker): Promise<boolean> {
  const opts = { timeout: ctx.limits.toolTimeoutMs, maxBuffer: 64 * 1024 * 1024 };
  let listing: string;
  try {
    listing = (await run('unsquashfs', ['-lls', image], opts)).stdout;
  } catch (err) {
    const missing = isMissingTool(err);
    addFinding(
      ctx,
      'filesystem-image',
      missing ? 'info' : 'medium',
      prefix || image,
      missing
        ? 'SquashFS image not unpacked: unsquashfs (Debian package squashfs-tools) is not installed'
        : 'SquashFS image could not be listed (corrupt or unsupported)',
      { unpacked: false },
    );
    return false;
  }
  if (ctx.spentBytes + declaredBytes(listing) > ctx.limits.maxTotalBytes) {
    addFinding(ctx, 'archive-limit', 'medium', prefix || image, 'SquashFS image declares more than maxTotalBytes', {
      declaredBytes: declaredBytes(listing),
    });
    return false;
  }
  const dir = await mkdtemp(join(tmpdir(), 'fleetward-sqfs-'));
  ctx.tempDirs.push(dir);
  const root = join(dir, 'root');
  try {
    await run('unsquashfs', ['-no-progress', '-no-xattrs', '-d', root, image], opts);
  } catch (err) {
    // Exit status 2 means non-fatal errors (e.g. device nodes as non-root); the tree is still usable.
    if ((err as { code?: unknown }).code !== 2) {
      addFinding(ctx, 'archive-corrupt', 'medium', prefix || image, 'unsquashfs failed on the image', {
        unpacked: false,
      });
      return false;
    }
  }
  await walk(ctx, root, prefix);
  return true;
}

/** Same as unsquashFile for an image found inside an archive: written to a private temp file first. */
export async function unsquashBytes(
  ctx: LoadContext,
  bytes: Uint8Array,
  prefix: string,
  walk: Walker,
): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'fleetward-img-'));
  const image = join(dir, 'image.sqfs');
  try {
    await writeFile(image, bytes, { mode: 0o600 });
    return await unsquashFile(ctx, image, prefix, walk);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
