import yauzl from 'yauzl';
import { safeMemberPath } from '../detect.ts';
import { firmwareError } from '../errors.ts';
import { addFinding, checkRatio, type LoadContext, spendBytes, spendEntry } from './context.ts';
import type { Member } from './tar.ts';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

/**
 * Decides from the central directory whether a member may be read: names are checked here rather
 * than by yauzl (decodeStrings: false), so one hostile name is a finding instead of aborting the zip.
 */
function admit(ctx: LoadContext, where: string, e: yauzl.Entry): string | null {
  const raw = typeof e.fileName === 'string' ? e.fileName : new TextDecoder().decode(e.fileName);
  if (raw.endsWith('/')) return null;
  const type = (e.externalFileAttributes >>> 16) & S_IFMT;
  if (type !== 0 && type !== S_IFREG) return null; // symlinks, devices: never followed
  spendEntry(ctx);
  const name = safeMemberPath(raw);
  if (name === null) {
    addFinding(ctx, 'archive-path-traversal', 'high', where, 'archive member escapes the extraction root', {
      member: raw.slice(0, 200),
    });
    return null;
  }
  const tooBig = e.uncompressedSize > ctx.limits.maxFileBytes;
  if (tooBig || e.isEncrypted()) {
    const why = tooBig ? 'member larger than maxFileBytes skipped' : 'encrypted member skipped';
    addFinding(ctx, tooBig ? 'archive-limit' : 'skipped-file', 'medium', `${where}!/${name}`, why, {
      size: e.uncompressedSize,
    });
    return null;
  }
  checkRatio(ctx, e.uncompressedSize, e.compressedSize);
  return name;
}

function readMember(ctx: LoadContext, zip: yauzl.ZipFile, e: yauzl.Entry): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(e, (err, stream) => {
      if (err) return reject(firmwareError('ARCHIVE_CORRUPT', 'zip member unreadable', { cause: err }));
      const chunks: Buffer[] = [];
      let out = 0;
      stream.on('data', (c: Buffer) => {
        try {
          out += c.length;
          checkRatio(ctx, out, e.compressedSize);
          spendBytes(ctx, c.length);
          chunks.push(c);
        } catch (limitErr) {
          stream.destroy();
          reject(limitErr);
        }
      });
      stream.on('error', (e2) => reject(firmwareError('ARCHIVE_CORRUPT', 'zip member is corrupt', { cause: e2 })));
      stream.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    });
  });
}

/** Reads a zip archive from memory with the limits of `ctx`. Throws ARCHIVE_LIMIT / ARCHIVE_CORRUPT. */
export function readZip(ctx: LoadContext, where: string, input: Uint8Array): Promise<Member[]> {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return new Promise((resolve, reject) => {
    const opts = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true };
    yauzl.fromBuffer(buf, opts, (err, zip) => {
      if (err) return reject(firmwareError('ARCHIVE_CORRUPT', 'zip archive is corrupt', { cause: err }));
      const members: Member[] = [];
      const fail = (e: unknown) => {
        zip.close();
        reject(e);
      };
      zip.on('error', (e) => fail(firmwareError('ARCHIVE_CORRUPT', 'zip archive is corrupt', { cause: e })));
      zip.on('end', () => resolve(members));
      zip.on('entry', (e: yauzl.Entry) => {
        let name: string | null;
        try {
          name = admit(ctx, where, e);
        } catch (limitErr) {
          return fail(limitErr);
        }
        if (name === null) return zip.readEntry();
        const n = name;
        readMember(ctx, zip, e).then((bytes) => {
          members.push({ name: n, bytes });
          zip.readEntry();
        }, fail);
      });
      zip.readEntry();
    });
  });
}
