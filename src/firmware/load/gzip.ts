import { createGunzip } from 'node:zlib';
import { firmwareError } from '../errors.ts';
import { checkRatio, type LoadContext, spendBytes } from './context.ts';

/**
 * Gunzips in memory, counting output while it streams so a gzip bomb is stopped after at most
 * one chunk past the limit (never fully inflated). Throws ARCHIVE_LIMIT or ARCHIVE_CORRUPT.
 */
export function gunzipLimited(ctx: LoadContext, input: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const gz = createGunzip();
    const chunks: Buffer[] = [];
    let out = 0;
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      gz.destroy();
      reject(err);
    };
    gz.on('data', (c: Buffer) => {
      try {
        out += c.length;
        if (out > ctx.limits.maxFileBytes) throw firmwareError('ARCHIVE_LIMIT', 'gzip member larger than maxFileBytes');
        checkRatio(ctx, out, input.length);
        spendBytes(ctx, c.length);
        chunks.push(c);
      } catch (err) {
        fail(err);
      }
    });
    gz.on('error', (err) => fail(firmwareError('ARCHIVE_CORRUPT', 'gzip stream is corrupt', { cause: err })));
    gz.on('end', () => {
      if (!failed) resolve(new Uint8Array(Buffer.concat(chunks)));
    });
    gz.end(input);
  });
}
