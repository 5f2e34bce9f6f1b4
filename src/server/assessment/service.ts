import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { analyzeImage, type OsvFeed, parseOsvFeed, toCycloneDx } from '../../firmware/index.ts';
import { loadPath } from '../../firmware/load/index.ts';
import type { Clock } from '../../protocol/clock.ts';
import { FleetwardError, isFleetwardError } from '../../protocol/errors.ts';
import type { ActionContext, LedgerService } from '../ledger/index.ts';
import type { Store } from '../store/store.types.ts';
import type { Analysis, AnalysisSummary, AssessmentErrorCode } from './model.ts';
import * as db from './store.ts';

const fail = (code: AssessmentErrorCode, message: string, details?: Record<string, unknown>) =>
  new FleetwardError<AssessmentErrorCode>(code, message, details ? { details } : undefined);

export interface AssessmentOptions {
  /** Where uploads are staged while analyzed (inside the data directory, 0700). */
  workDir: string;
}

/** Firmware assessment on the server: the imported vulnerability feed, analyses of uploaded artifacts, the score gate. */
export class AssessmentService {
  readonly #store: Store;
  readonly #ledger: LedgerService;
  readonly #clock: Clock;
  readonly #options: AssessmentOptions;
  #feed: Promise<OsvFeed> | undefined;

  constructor(store: Store, ledger: LedgerService, clock: Clock, options: AssessmentOptions) {
    this.#store = store;
    this.#ledger = ledger;
    this.#clock = clock;
    this.#options = options;
  }

  /** Imports OSV files (one record or an array each); all parse, or nothing is stored. Throws FEED_INVALID. */
  async importFeed(
    files: Array<{ name: string; text: string }>,
    ctx: ActionContext,
  ): Promise<{ imported: number; total: number }> {
    let records: Array<{ id: string; body: string }>;
    try {
      parseOsvFeed(files);
      records = files.flatMap((f) => {
        const json: unknown = JSON.parse(f.text);
        return (Array.isArray(json) ? json : [json]).map((r) => ({
          id: (r as { id: string }).id,
          body: JSON.stringify(r),
        }));
      });
    } catch (err) {
      const message = isFleetwardError(err) ? err.message : 'feed is not valid OSV JSON';
      throw fail('FEED_INVALID', message);
    }
    await this.#store.transaction(async (tx) => {
      await db.upsertVulnRecords(tx, records, this.#clock.now());
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'vulns.import',
        target: null,
        result: 'ok',
        details: { files: files.length, records: records.length },
      });
    });
    this.#feed = undefined;
    return { imported: records.length, total: await db.countVulnRecords(this.#store.db) };
  }

  async listVulnIds(): Promise<string[]> {
    return (await db.readVulnRecords(this.#store.db)).map((r) => r.id);
  }

  /**
   * Streams an upload to the work directory (hashing as it goes, at most `maxBytes`), analyzes it and
   * stores the report. Throws ARTIFACT_TOO_LARGE, ARTIFACT_EMPTY.
   */
  async analyzeUpload(body: Readable, name: string, maxBytes: number, ctx: ActionContext): Promise<Analysis> {
    const dir = join(this.#options.workDir, randomBytes(8).toString('hex'));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      const file = join(dir, safeName(name));
      const { sha256, size } = await receive(body, file, maxBytes);
      return await this.analyzeFile(file, { name, sha256, size }, ctx);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Analyzes a file already on disk (a release artifact) and stores the report. */
  async analyzeFile(
    path: string,
    meta: { name: string; sha256: string; size: number },
    ctx: ActionContext,
  ): Promise<Analysis> {
    const feed = await this.#loadFeed();
    const source = await loadPath(path);
    let report: Awaited<ReturnType<typeof analyzeImage>>;
    try {
      report = await analyzeImage(source, { now: new Date(this.#clock.now()), feed });
    } finally {
      await source.dispose();
    }
    report.name = meta.name;
    const stored = {
      id: randomBytes(8).toString('hex'),
      ...meta,
      score: report.score,
      feedSize: feed.entries.length,
      createdAt: this.#clock.now(),
      report,
    };
    const analysis: Analysis = { ...db.summarize(stored), report };
    await this.#store.transaction(async (tx) => {
      await db.insertAnalysis(tx, analysis);
      await this.#ledger.appendIn(tx, {
        ...ctx,
        action: 'firmware.analyze',
        target: `firmware:${analysis.id}`,
        result: 'ok',
        details: { sha256: meta.sha256, name: meta.name, score: analysis.score },
      });
    });
    return analysis;
  }

  /** The safety score of an artifact: its newest stored analysis, or a new one. Used by the release gate. */
  async scoreArtifact(
    path: string,
    meta: { name: string; sha256: string; size: number },
    ctx: ActionContext,
  ): Promise<number> {
    const known = await db.findLatestBySha(this.#store.db, meta.sha256);
    return (known ?? (await this.analyzeFile(path, meta, ctx))).score;
  }

  /** Throws ANALYSIS_NOT_FOUND. */
  async getAnalysis(id: string): Promise<Analysis> {
    const a = await db.findAnalysis(this.#store.db, id);
    if (!a) throw fail('ANALYSIS_NOT_FOUND', 'no such analysis', { id });
    return a;
  }

  async listAnalyses(before: number | undefined, limit: number): Promise<AnalysisSummary[]> {
    return db.listAnalyses(this.#store.db, before, limit);
  }

  /** CycloneDX 1.5 JSON of an analysis. Throws ANALYSIS_NOT_FOUND. */
  async sbom(id: string): Promise<string> {
    return toCycloneDx((await this.getAnalysis(id)).report);
  }

  #loadFeed(): Promise<OsvFeed> {
    this.#feed ??= db
      .readVulnRecords(this.#store.db)
      .then((rows) => parseOsvFeed(rows.map((r) => ({ name: r.id, text: r.body }))));
    return this.#feed;
  }
}

/** Keeps the extension (it helps people reading reports) but nothing that could leave the directory. */
function safeName(name: string): string {
  return (
    name
      .replace(/[^A-Za-z0-9._-]/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 100) || 'artifact'
  );
}

async function receive(body: Readable, file: string, maxBytes: number): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      size += chunk.length;
      // Enforced while streaming: a lying or missing Content-Length cannot fill the disk.
      if (size > maxBytes) throw fail('ARTIFACT_TOO_LARGE', `artifact exceeds ${maxBytes} bytes`);
      hash.update(chunk);
      yield chunk;
    }
  };
  await pipeline(body, meter, createWriteStream(file, { mode: 0o600 }));
  if (size === 0) throw fail('ARTIFACT_EMPTY', 'the upload is empty');
  return { sha256: hash.digest('hex'), size };
}
