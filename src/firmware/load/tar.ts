import * as tarStream from 'tar-stream';
import { safeMemberPath } from '../detect.ts';
import { firmwareError } from '../errors.ts';
import { addFinding, type LoadContext, spendBytes, spendEntry } from './context.ts';

export interface Member {
  name: string;
  bytes: Uint8Array;
}

/**
 * Reads a tar archive from memory. Traversal names become findings and are skipped; only regular
 * files are returned (links and devices are never followed). Throws ARCHIVE_LIMIT / ARCHIVE_CORRUPT.
 */
export function readTar(ctx: LoadContext, where: string, input: Uint8Array): Promise<Member[]> {
  return new Promise((resolve, reject) => {
    const extract = tarStream.extract();
    const members: Member[] = [];
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      extract.destroy();
      reject(err);
    };
    extract.on('entry', (header, stream, next) => {
      const skip = () => {
        stream.on('end', next);
        stream.resume();
      };
      try {
        if (header.type !== 'file' && header.type !== 'contiguous-file') return skip();
        spendEntry(ctx);
        const name = safeMemberPath(header.name);
        if (name === null) {
          addFinding(ctx, 'archive-path-traversal', 'high', where, 'archive member escapes the extraction root', {
            member: header.name.slice(0, 200),
          });
          return skip();
        }
        if ((header.size ?? 0) > ctx.limits.maxFileBytes) {
          addFinding(ctx, 'archive-limit', 'medium', `${where}!/${name}`, 'member larger than maxFileBytes skipped', {
            size: header.size ?? 0,
          });
          return skip();
        }
        const chunks: Uint8Array[] = [];
        stream.on('data', (data: unknown) => {
          const c = data as Uint8Array;
          try {
            spendBytes(ctx, c.length);
            chunks.push(c);
          } catch (err) {
            fail(err);
          }
        });
        stream.on('end', () => {
          members.push({ name, bytes: new Uint8Array(Buffer.concat(chunks)) });
          next();
        });
      } catch (err) {
        fail(err);
      }
    });
    extract.on('finish', () => {
      if (!failed) resolve(members);
    });
    extract.on('error', (err: unknown) =>
      fail(firmwareError('ARCHIVE_CORRUPT', 'tar archive is corrupt', { cause: err })),
    );
    extract.end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  });
}
