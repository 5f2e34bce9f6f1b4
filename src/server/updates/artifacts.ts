import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FleetwardError } from '../../protocol/errors.ts';
import type { StoredArtifact, UpdatesErrorCode } from './model.ts';

const fail = (code: UpdatesErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<UpdatesErrorCode>(code, message, details ? { details } : undefined);

const SHA256_RE = /^[0-9a-f]{64}$/;

/**
 * Firmware artifacts on disk, named by their SHA-256 (content-addressed: an artifact cannot be
 * replaced under its name, and TUF's consistent-snapshot URLs map straight onto the files).
 */
export class ArtifactFiles {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  pathOf(sha256: string): string {
    if (!SHA256_RE.test(sha256)) throw fail('ARTIFACT_NOT_FOUND', 'no such artifact');
    return join(this.#dir, sha256);
  }

  /**
   * Streams an upload into the artifact directory, hashing and counting as it goes: never buffered
   * whole, refused the moment it passes `maxBytes` (UPLOAD_TOO_LARGE) or when empty (UPLOAD_EMPTY).
   */
  async receive(body: Readable, maxBytes: number): Promise<StoredArtifact> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.#dir, `.upload-${randomBytes(8).toString('hex')}`);
    const hash = createHash('sha256');
    let length = 0;
    const meter = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        length += chunk.length;
        // Enforced while streaming: a lying or missing Content-Length cannot fill the disk.
        if (length > maxBytes)
          throw fail('UPLOAD_TOO_LARGE', `artifact exceeds ${maxBytes} bytes`, { limit: maxBytes });
        hash.update(chunk);
        yield chunk;
      }
    };
    try {
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      if (length === 0) throw fail('UPLOAD_EMPTY', 'the upload is empty');
      const sha256 = hash.digest('hex');
      await rename(tmp, this.pathOf(sha256));
      return { sha256, length };
    } catch (err) {
      await rm(tmp, { force: true });
      // The client hung up or sent too much: stop reading, so the rest is not buffered.
      body.destroy();
      throw err;
    }
  }

  async size(sha256: string): Promise<number | null> {
    return (await stat(this.pathOf(sha256)).catch(() => null))?.size ?? null;
  }

  /** A byte range of an artifact (inclusive end), for HTTP Range requests. */
  open(sha256: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(sha256), range);
  }
}

/**
 * One `bytes=start-end` / `bytes=start-` / `bytes=-suffix` range (RFC 9110 §14.1.2); multiple
 * ranges are not supported and served whole. Returns null for "serve everything", 'unsatisfiable'
 * when the range starts past the end.
 */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}
