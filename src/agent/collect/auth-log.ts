import { open, stat } from 'node:fs/promises';

/**
 * Failed logins, counted from a log file the device already writes (default none; e.g.
 * `/var/log/auth.log`). Each line matching the pattern is one failure. The default pattern covers
 * OpenSSH ("Failed password", "Failed publickey", "Invalid user"), Dropbear ("Bad password attempt",
 * "Login attempt for nonexistent user") and login(1) ("FAILED LOGIN"); PAM's own "authentication
 * failure" line is left out because sshd logs "Failed password" for the same attempt.
 */
export const DEFAULT_AUTH_FAILURE_PATTERN =
  /Failed password|Failed publickey|Invalid user|Bad password attempt|Login attempt for nonexistent user|FAILED LOGIN/;

/** Largest slice of the log read per collection, bytes: a flood is counted over several reports, never buffered whole. */
export const AUTH_LOG_READ_LIMIT = 4 * 1024 * 1024;

/** Where the reader stopped: kept in the agent's state so a restart neither recounts nor misses lines. */
export interface AuthLogCursor {
  ino: number;
  offset: number;
}

export interface AuthLogReading {
  failures: number;
  cursor: AuthLogCursor | null;
}

/**
 * Counts failure lines written since `cursor`. With no cursor it starts at the end (history before
 * the agent ran is not news). A file that was rotated (new inode) or truncated is read from the start.
 * A missing or unreadable file counts zero.
 */
export async function readAuthFailures(
  path: string,
  cursor: AuthLogCursor | null,
  pattern: RegExp = DEFAULT_AUTH_FAILURE_PATTERN,
): Promise<AuthLogReading> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch {
    return { failures: 0, cursor: null };
  }
  const ino = Number(info.ino);
  const size = Number(info.size);
  if (!cursor) return { failures: 0, cursor: { ino, offset: size } };
  const start = cursor.ino === ino && cursor.offset <= size ? cursor.offset : 0;
  const length = Math.min(size - start, AUTH_LOG_READ_LIMIT);
  if (length <= 0) return { failures: 0, cursor: { ino, offset: start } };
  const buf = Buffer.alloc(length);
  const fh = await open(path, 'r');
  try {
    await fh.read(buf, 0, length, start);
  } finally {
    await fh.close();
  }
  // Count whole lines only; a partial last line is read again next time.
  const lastNewline = buf.lastIndexOf(0x0a);
  if (lastNewline < 0)
    return { failures: 0, cursor: { ino, offset: length === AUTH_LOG_READ_LIMIT ? start + length : start } };
  const text = buf.subarray(0, lastNewline + 1).toString('utf8');
  let failures = 0;
  for (const line of text.split('\n')) if (pattern.test(line)) failures++;
  return { failures, cursor: { ino, offset: start + lastNewline + 1 } };
}
