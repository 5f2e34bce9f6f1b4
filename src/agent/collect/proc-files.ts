import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { agentError } from '../errors.ts';

/**
 * Where the collectors read the kernel's view of the system. `/proc` on a device; tests may point it at
 * fixture files with the same layout (the end-to-end tests read the real /proc of the machine).
 */
export interface ProcSource {
  root: string;
}

export const REAL_PROC: ProcSource = { root: '/proc' };

/** Largest /proc file read, bytes: a device with thousands of sockets stays far below it. */
export const PROC_READ_LIMIT = 8 * 1024 * 1024;

/** Reads `root/rel` as text, at most PROC_READ_LIMIT bytes. Throws AGENT_PROC_UNREADABLE. */
export async function readProc(src: ProcSource, rel: string): Promise<string> {
  try {
    const buf = await readFile(join(src.root, rel));
    return buf.subarray(0, PROC_READ_LIMIT).toString('utf8');
  } catch (err) {
    throw agentError('AGENT_PROC_UNREADABLE', `cannot read ${rel}`, { cause: err });
  }
}

/** Like readProc but a missing file (no IPv6 in this kernel) is empty text. */
export async function readProcOptional(src: ProcSource, rel: string): Promise<string> {
  try {
    return await readProc(src, rel);
  } catch (err) {
    const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOENT') return '';
    throw err;
  }
}
