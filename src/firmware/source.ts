import type { Finding } from './model.ts';

/** One file of a firmware image; bytes are loaded on demand so the pure analyzer never touches a disk. */
export interface FirmwareFile {
  /** path inside the image; archive members read as `outer.tar!/etc/passwd` */
  path: string;
  size: number;
  load(): Promise<Uint8Array>;
}

/** What a loader produced: the files, plus findings about the container itself (traversal, limits). */
export interface FirmwareSource {
  name: string;
  kind: 'file' | 'directory' | 'archive' | 'filesystem-image';
  files: FirmwareFile[];
  findings: Finding[];
  /** Removes temporary files (an unpacked SquashFS); safe to call twice. */
  dispose(): Promise<void>;
}

/** A source over in-memory files, for tests and for callers that already hold the bytes. */
export function memorySource(name: string, entries: Record<string, Uint8Array | string>): FirmwareSource {
  const enc = new TextEncoder();
  const files = Object.entries(entries).map(([path, v]) => {
    const bytes = typeof v === 'string' ? enc.encode(v) : v;
    return { path, size: bytes.length, load: async () => bytes };
  });
  return { name, kind: 'directory', files, findings: [], dispose: async () => {} };
}
