import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The real CLI entry point, as a user runs it. */
export const FLEETWARD_BIN = fileURLToPath(new URL('../../../bin/fleetward.ts', import.meta.url));

const run = promisify(execFile);

/**
 * Runs the real `fleetward` binary in its own Node 24 process (process.execPath) with only PATH and
 * `env` in its environment, and returns its exit code and output, failures included.
 */
export async function fleetward(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [FLEETWARD_BIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
