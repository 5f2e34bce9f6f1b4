import { createHash } from 'node:crypto';
import { mkdir, open, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Fetcher } from 'tuf-js';
// tuf-js 5.0 does not re-export its error classes; its Updater stops walking root versions only on
// *its* DownloadHTTPError (404/403), so a fetcher must throw exactly that class.
import tufErrors from 'tuf-js/dist/error.js';
import { isFleetwardError } from '../../protocol/errors.ts';
import { updateError } from './errors.ts';

export interface FetchLimits {
  /** Per request: connect + whole body, ms. */
  timeoutMs: number;
  /** No byte for this long: the connection counts as broken and the next attempt resumes, ms. */
  stallMs: number;
  /** Attempts after a broken connection; each resumes where the last stopped (HTTP Range). */
  retries: number;
}

export const DEFAULT_FETCH_LIMITS: FetchLimits = { timeoutMs: 30 * 60_000, stallMs: 30_000, retries: 5 };

/**
 * The fetcher tuf-js downloads through. Metadata is read whole, bounded by tuf-js's per-role limits.
 * Targets are written to a partial file in `dir` that survives a broken connection and a restart of
 * the agent; the next attempt asks for the rest with `Range` (RFC 9110 §14). Whatever arrives, never
 * more than the signed length is accepted (TUF 5.7.3, endless-data attack).
 */
export class ResumableFetcher implements Fetcher {
  readonly #dir: string;
  readonly #limits: FetchLimits;
  readonly #onProgress: ((received: number, total: number) => void) | undefined;
  /** Requests that carried a Range header: observable for tests and the agent's log. */
  resumedRequests = 0;

  constructor(
    dir: string,
    limits: FetchLimits = DEFAULT_FETCH_LIMITS,
    onProgress?: (received: number, total: number) => void,
  ) {
    this.#dir = dir;
    this.#limits = limits;
    this.#onProgress = onProgress;
  }

  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    const res = await this.#get(url, {});
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      n += chunk.byteLength;
      if (n > maxLength) throw new tufErrors.DownloadLengthMismatchError('Max length reached');
      chunks.push(Buffer.from(chunk));
    }
    return Buffer.concat(chunks);
  }

  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const part = join(this.#dir, `${createHash('sha256').update(url).digest('hex').slice(0, 32)}.part`);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#fetchRest(url, part, maxLength);
        break;
      } catch (err) {
        // Refusals are final; only a broken transfer is worth resuming.
        if (isFleetwardError(err, 'UPDATE_ARTIFACT_TOO_LONG') || err instanceof tufErrors.DownloadHTTPError) {
          await rm(part, { force: true });
          throw err;
        }
        if (attempt >= this.#limits.retries) {
          throw updateError('UPDATE_DOWNLOAD_FAILED', 'download failed; it resumes on the next attempt', {
            cause: err,
          });
        }
      }
    }
    try {
      return await handler(part);
    } finally {
      // Verified and copied, or refused: either way this partial file must not be resumed.
      await rm(part, { force: true });
    }
  }

  /** Appends the missing bytes of `url` to `part`. */
  async #fetchRest(url: string, part: string, maxLength: number): Promise<void> {
    let have = (await stat(part).catch(() => null))?.size ?? 0;
    if (have > maxLength) {
      await truncate(part, 0);
      have = 0;
    }
    const stall = new AbortController();
    const res = await this.#get(url, have > 0 ? { range: `bytes=${have}-` } : {}, stall.signal);
    if (have > 0) this.resumedRequests++;
    if (res.status === 206 && rangeStart(res.headers.get('content-range')) !== have) {
      throw new Error('server answered a different range');
    }
    if (res.status !== 206 && have > 0) {
      // The server ignored the range: start over rather than append a second copy.
      await truncate(part, 0);
      have = 0;
    }
    let received = have;
    // Chunk by chunk, each written before the next is read: whatever arrived before the connection
    // broke is on disk for the next attempt's Range request.
    const fh = await open(part, 'a', 0o600);
    // A stalled connection (common on cellular links) is a broken one: abort, keep what arrived, resume.
    let timer = setTimeout(() => stall.abort(), this.#limits.stallMs);
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        clearTimeout(timer);
        timer = setTimeout(() => stall.abort(), this.#limits.stallMs);
        received += chunk.byteLength;
        if (received > maxLength) {
          throw updateError('UPDATE_ARTIFACT_TOO_LONG', 'the server sent more than the signed length', {
            details: { limit: maxLength },
          });
        }
        await fh.write(chunk);
        this.#onProgress?.(received, maxLength);
      }
    } finally {
      clearTimeout(timer);
      await fh.close();
    }
  }

  async #get(url: string, headers: Record<string, string>, stall?: AbortSignal): Promise<Response> {
    const timeout = AbortSignal.timeout(this.#limits.timeoutMs);
    const res = await fetch(url, { headers, signal: stall ? AbortSignal.any([timeout, stall]) : timeout });
    if (res.status === 416 && headers.range) {
      // Nothing left to send: the partial file is already whole (or longer); the hash check decides.
      return new Response(new Uint8Array(0), {
        status: 206,
        headers: { 'content-range': `bytes ${headers.range.slice(6)}*/*` },
      });
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new tufErrors.DownloadHTTPError('Failed to download', res.status);
    }
    return res;
  }
}

function rangeStart(header: string | null): number | null {
  const m = /^bytes (\d+)-/.exec(header ?? '');
  return m ? Number(m[1]) : null;
}
