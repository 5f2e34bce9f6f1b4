import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DETECT_BYTES, detectContainer } from '../detect.ts';
import { firmwareError } from '../errors.ts';
import { addFinding, type LoadContext, spendEntry } from './context.ts';
import { expandBytes } from './expand.ts';
import { unsquashFile } from './squashfs.ts';

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
    if (await unsquashFile(ctx, abs, rel)) return;
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
