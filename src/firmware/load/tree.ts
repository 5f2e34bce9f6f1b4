/** Turns a directory tree or a container's bytes into files: walking, archive expansion, images. */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isFleetwardError } from '../../protocol/errors.ts';
import { type ContainerKind, DETECT_BYTES, detectContainer } from '../detect.ts';
import { firmwareError } from '../errors.ts';
import { addFinding, type LoadContext, memoryFile, spendEntry } from './context.ts';
import { gunzipLimited } from './gzip.ts';
import { unsquashBytes, unsquashFile } from './squashfs.ts';
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
    if (!(await unsquashBytes(ctx, bytes, path, walkDirectory))) ctx.files.push(memoryFile(path, bytes));
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

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = new Uint8Array(DETECT_BYTES);
    const { bytesRead } = await fh.read(buf, 0, DETECT_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Reads a whole file, refusing files larger than `max` bytes (checked again after reading: files can grow). */
export async function readFileLimited(path: string, max: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await readFile(path));
  if (bytes.length > max) throw firmwareError('ARCHIVE_LIMIT', `file larger than ${max} bytes`);
  return bytes;
}

/** Adds one regular file: archives and images are expanded, anything else is loaded lazily. */
export async function addDiskFile(ctx: LoadContext, abs: string, rel: string, depth: number): Promise<void> {
  const size = (await stat(abs)).size;
  spendEntry(ctx);
  if (size > ctx.limits.maxFileBytes) {
    addFinding(ctx, 'skipped-file', 'low', rel, 'file larger than maxFileBytes not analysed', { size });
    return;
  }
  const kind = detectContainer(await readHead(abs));
  if (kind === 'squashfs') {
    if (await unsquashFile(ctx, abs, rel, walkDirectory)) return;
  } else if (kind !== null) {
    await expandBytes(ctx, rel, await readFileLimited(abs, ctx.limits.maxFileBytes), depth);
    return;
  }
  const max = ctx.limits.maxFileBytes;
  ctx.files.push({ path: rel, size, load: () => readFileLimited(abs, max) });
}

/**
 * Walks a directory tree without following symbolic links (a link to /etc/shadow inside an image
 * must not read the host's). Devices, sockets and FIFOs are skipped. Paths are '/'-joined, relative.
 */
export async function walkDirectory(ctx: LoadContext, root: string, prefix: string): Promise<void> {
  const stack: Array<{ abs: string; rel: string }> = [{ abs: root, rel: '' }];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const entries = await readdir(dir.abs, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const abs = join(dir.abs, e.name);
      const rel = dir.rel === '' ? e.name : `${dir.rel}/${e.name}`;
      if (e.isDirectory()) stack.push({ abs, rel });
      else if (e.isFile()) await addDiskFile(ctx, abs, prefix === '' ? rel : `${prefix}!/${rel}`, 1);
    }
  }
}
