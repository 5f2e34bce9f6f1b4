import { createHash } from 'node:crypto';
import { type Key, Metadata, MetadataKind, MetaFile, Root, Snapshot, type Targets, Timestamp } from '@tufjs/models';
import { FleetwardError } from '../../protocol/errors.ts';
import type { UpdatesErrorCode } from './model.ts';

/** The TUF specification version our metadata declares (tuf-js accepts 1.x). */
export const SPEC_VERSION = '1.0.31';
/** Largest metadata document accepted on import: bounds parsing of operator-supplied JSON. */
export const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

const invalid = (message: string, cause?: unknown) =>
  new FleetwardError<UpdatesErrorCode>('TUF_METADATA_INVALID', message, cause === undefined ? undefined : { cause });

/** TUF's expiry format: ISO 8601 UTC with seconds, no fraction. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function serialize(md: AnyMetadata): string {
  return JSON.stringify(md.toJSON());
}

/** Parses untrusted metadata JSON of a known kind. Throws TUF_METADATA_INVALID; never returns a half-parsed object. */
export function parseMetadata(kind: 'root', input: unknown): Metadata<Root>;
export function parseMetadata(kind: 'targets', input: unknown): Metadata<Targets>;
export function parseMetadata(kind: 'snapshot', input: unknown): Metadata<Snapshot>;
export function parseMetadata(kind: 'timestamp', input: unknown): Metadata<Timestamp>;
export function parseMetadata(kind: string, input: unknown): AnyMetadata;
export function parseMetadata(kind: string, input: unknown): AnyMetadata {
  let obj = input;
  if (typeof input === 'string') {
    if (input.length > MAX_METADATA_BYTES) throw invalid('metadata too large');
    try {
      obj = JSON.parse(input);
    } catch (err) {
      throw invalid('metadata is not JSON', err);
    }
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw invalid('metadata must be an object');
  try {
    switch (kind) {
      case 'root':
        return Metadata.fromJSON(MetadataKind.Root, obj as never);
      case 'targets':
        return Metadata.fromJSON(MetadataKind.Targets, obj as never);
      case 'snapshot':
        return Metadata.fromJSON(MetadataKind.Snapshot, obj as never);
      case 'timestamp':
        return Metadata.fromJSON(MetadataKind.Timestamp, obj as never);
      default:
        throw invalid(`unknown metadata kind ${kind}`);
    }
  } catch (err) {
    if (err instanceof FleetwardError) throw err;
    throw invalid(`not valid ${kind} metadata`, err);
  }
}

/** Key ids (of `allowed`) whose signature on `md` verifies. Invalid or unknown signatures count for nothing. */
export function validSigners(md: AnyMetadata, keys: Record<string, Key>, allowed: readonly string[]): string[] {
  const ok: string[] = [];
  for (const id of new Set(allowed)) {
    const key = keys[id];
    if (!key || !md.signatures[id]) continue;
    try {
      key.verifySignature(md as never);
      ok.push(id);
    } catch {
      // An invalid signature is ignored, as TUF 5.3.4 prescribes; the threshold decides.
    }
  }
  return ok;
}

/** Copies over valid signatures from `from` (same signed content) for the allowed keys. */
export function mergeSignatures(
  into: AnyMetadata,
  from: AnyMetadata,
  keys: Record<string, Key>,
  allowed: string[],
): void {
  for (const id of validSigners(from, keys, allowed)) {
    const sig = from.signatures[id];
    if (sig) into.signatures[id] = sig;
  }
}

/** Drops signatures no key of `allowed` can vouch for, so what we publish carries no junk. */
export function pruneSignatures(md: AnyMetadata, keys: Record<string, Key>, allowed: string[]): void {
  const keep = new Set(validSigners(md, keys, allowed));
  for (const id of Object.keys(md.signatures)) if (!keep.has(id)) delete md.signatures[id];
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The snapshot's or timestamp's record of a metadata file: version, length and hash (mix-and-match defence). */
export function metaFileFor(version: number, body: string): MetaFile {
  return new MetaFile({ version, length: Buffer.byteLength(body), hashes: { sha256: sha256Hex(body) } });
}

export function newSnapshot(version: number, expires: number, meta: Record<string, MetaFile>): Metadata<Snapshot> {
  return new Metadata(new Snapshot({ version, specVersion: SPEC_VERSION, expires: isoTime(expires), meta }));
}

export function newTimestamp(version: number, expires: number, snapshotMeta: MetaFile): Metadata<Timestamp> {
  return new Metadata(new Timestamp({ version, specVersion: SPEC_VERSION, expires: isoTime(expires), snapshotMeta }));
}

export function expiresMs(md: AnyMetadata): number {
  return Date.parse(md.signed.expires);
}

/** Same `signed` content (signatures aside). */
export function sameSigned(a: AnyMetadata, b: AnyMetadata): boolean {
  return JSON.stringify(a.signed.toJSON()) === JSON.stringify(b.signed.toJSON());
}

export { Root };
