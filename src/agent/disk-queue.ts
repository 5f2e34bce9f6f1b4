import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseReportPayload } from '../protocol/report.ts';
import { agentError } from './errors.ts';
import { syncDir, writeFileDurable } from './state-file.ts';

/** Bounds of the offline queue: at the default 300 s interval 10,000 reports are about 35 days. */
export const QUEUE_LIMITS = {
  /** Reports kept; the oldest is dropped (and counted) to make room. */
  maxEntries: 10_000,
  /** Bytes kept on disk, summed over entries. */
  maxBytes: 16 * 1024 * 1024,
} as const;

export interface QueueLimits {
  maxEntries: number;
  maxBytes: number;
}

export interface QueueEntry {
  seq: number;
  /** The report's JSON, exactly as it will be published. */
  payload: string;
}

const NAME_RE = /^(\d{16})\.rep$/;
const nameOf = (seq: number) => `${String(seq).padStart(16, '0')}.rep`;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Reports waiting for the server's PUBACK, one file per report named by its seq, so directory order is
 * report order. Each file is `<json>\n<sha256 of json>\n`, written durably (temp, fsync, rename): a torn
 * or altered file fails its checksum and is skipped and counted, never fatal. An entry is removed only
 * after the broker acknowledged it; a crash between the two re-sends it, and the server's (boot, seq)
 * key keeps it from being stored twice.
 */
export class DiskQueue {
  readonly #dir: string;
  readonly #limits: QueueLimits;
  /** Sorted seqs and each file's size. */
  #entries = new Map<number, number>();
  #order: number[] = [];
  #bytes = 0;
  #dropped = 0;
  #corrupt = 0;

  private constructor(dir: string, limits: QueueLimits) {
    this.#dir = dir;
    this.#limits = limits;
  }

  /** Opens (creating) the queue in `dir`, removing temp files of an interrupted write. Throws AGENT_QUEUE_IO. */
  static async open(dir: string, limits: Partial<QueueLimits> = {}): Promise<DiskQueue> {
    const q = new DiskQueue(dir, { ...QUEUE_LIMITS, ...limits });
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const name of await readdir(dir)) {
        const m = NAME_RE.exec(name);
        if (m) q.#track(Number(m[1]), (await stat(join(dir, name))).size);
        else if (name.endsWith('.tmp')) await rm(join(dir, name), { force: true });
      }
    } catch (err) {
      throw agentError('AGENT_QUEUE_IO', 'cannot open the report queue', { cause: err });
    }
    q.#order.sort((a, b) => a - b);
    return q;
  }

  #track(seq: number, size: number): void {
    this.#entries.set(seq, size);
    this.#order.push(seq);
    this.#bytes += size;
  }

  get size(): number {
    return this.#order.length;
  }

  /** Highest seq on disk (0 when empty): the agent never reuses one, even if its state file was lost. */
  get lastSeq(): number {
    return this.#order.at(-1) ?? 0;
  }

  /** Appends durably; drops the oldest entries beyond the bounds. Seqs must increase. Throws AGENT_QUEUE_IO. */
  async append(entry: QueueEntry): Promise<void> {
    if (entry.seq <= this.lastSeq) throw agentError('AGENT_QUEUE_IO', 'queue seqs must increase');
    const body = `${entry.payload}\n${sha256(entry.payload)}\n`;
    try {
      await writeFileDurable(join(this.#dir, nameOf(entry.seq)), body);
    } catch (err) {
      throw agentError('AGENT_QUEUE_IO', 'cannot write the report queue', { cause: err });
    }
    this.#track(entry.seq, Buffer.byteLength(body));
    while (
      this.#order.length > 1 &&
      (this.#order.length > this.#limits.maxEntries || this.#bytes > this.#limits.maxBytes)
    ) {
      await this.remove(this.#order[0]!);
      this.#dropped++;
    }
  }

  /** The oldest intact entry, or null. Corrupt entries met on the way are deleted and counted. */
  async peek(): Promise<QueueEntry | null> {
    while (this.#order.length > 0) {
      const seq = this.#order[0]!;
      const payload = await this.#readIntact(seq);
      if (payload !== null) return { seq, payload };
      await this.remove(seq);
      this.#corrupt++;
    }
    return null;
  }

  async #readIntact(seq: number): Promise<string | null> {
    let text: string;
    try {
      text = await readFile(join(this.#dir, nameOf(seq)), 'utf8');
    } catch {
      return null;
    }
    const m = /^([^\n]*)\n([0-9a-f]{64})\n$/.exec(text);
    if (!m || sha256(m[1]!) !== m[2]) return null;
    try {
      parseReportPayload(m[1]!);
    } catch {
      return null;
    }
    return m[1]!;
  }

  /** Deletes an entry (after its PUBACK). Throws AGENT_QUEUE_IO. */
  async remove(seq: number): Promise<void> {
    const size = this.#entries.get(seq);
    if (size === undefined) return;
    try {
      await rm(join(this.#dir, nameOf(seq)), { force: true });
    } catch (err) {
      throw agentError('AGENT_QUEUE_IO', 'cannot delete from the report queue', { cause: err });
    }
    this.#entries.delete(seq);
    if (this.#order[0] === seq) this.#order.shift();
    else this.#order = this.#order.filter((s) => s !== seq);
    this.#bytes -= size;
  }

  /** Reports dropped for room and corrupt entries skipped since the last call (for the next report's meta). */
  takeLosses(): { dropped: number; corrupt: number } {
    const out = { dropped: this.#dropped, corrupt: this.#corrupt };
    this.#dropped = 0;
    this.#corrupt = 0;
    return out;
  }

  /** Makes the deletions durable too (call before exit). */
  async sync(): Promise<void> {
    await syncDir(this.#dir).catch(() => {});
  }
}
