import { isFleetwardError } from '../../protocol/errors.ts';
import { type ContainerKind, detectContainer } from '../detect.ts';
import { addFinding, type LoadContext, memoryFile } from './context.ts';
import { gunzipLimited } from './gzip.ts';
import { unsquashBytes } from './squashfs.ts';
import { type Member, readTar } from './tar.ts';
import { readZip } from './zip.ts';

const UNSUPPORTED_IMAGES: ReadonlySet<ContainerKind> = new Set(['cramfs', 'jffs2', 'ubi', 'ext', 'uimage']);

async function members(ctx: LoadContext, path: string, kind: ContainerKind, bytes: Uint8Array): Promise<Member[]> {
  if (kind === 'zip') return readZip(ctx, path, bytes);
  if (kind === 'tar') return readTar(ctx, path, bytes);
  const inner = await gunzipLimited(ctx, bytes);
  // .tar.gz is one level; a lone .gz yields one member named after the file.
  if (detectContainer(inner) === 'tar') return readTar(ctx, path, inner);
  const base = path.split('/').pop() ?? 'data';
  return [{ name: base.replace(/\.gz$|\.tgz$/i, '') || 'data', bytes: inner }];
}

/**
 * Adds `bytes` to the image: a plain file as is; an archive by its members, recursively, up to
 * maxDepth levels; a SquashFS image through unsquashfs. Limit and corruption errors become findings
 * for this container only, so one bad archive never aborts the whole analysis.
 */
export async function expandBytes(ctx: LoadContext, path: string, bytes: Uint8Array, depth: number): Promise<void> {
  const kind = detectContainer(bytes);
  if (kind === null) {
    ctx.files.push(memoryFile(path, bytes));
    return;
  }
  if (kind === 'squashfs') {
    if (!(await unsquashBytes(ctx, bytes, path))) ctx.files.push(memoryFile(path, bytes));
    return;
  }
  if (UNSUPPORTED_IMAGES.has(kind)) {
    addFinding(ctx, 'filesystem-image', 'info', path, `${kind} image not unpacked: no unpacker for this format`, {
      format: kind,
    });
    ctx.files.push(memoryFile(path, bytes));
    return;
  }
  if (depth > ctx.limits.maxDepth) {
    addFinding(ctx, 'archive-limit', 'medium', path, `archive nested deeper than ${ctx.limits.maxDepth} levels`);
    return;
  }
  let list: Member[];
  try {
    list = await members(ctx, path, kind, bytes);
  } catch (err) {
    if (!isFleetwardError(err, 'ARCHIVE_LIMIT', 'ARCHIVE_CORRUPT')) throw err;
    const limit = err.code === 'ARCHIVE_LIMIT';
    addFinding(ctx, limit ? 'archive-limit' : 'archive-corrupt', 'medium', path, err.message, { format: kind });
    return;
  }
  for (const m of list) await expandBytes(ctx, `${path}!/${m.name}`, m.bytes, depth + 1);
}
