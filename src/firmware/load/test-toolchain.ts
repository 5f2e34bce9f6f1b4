/**
 * Test support only: builds real binaries with the installed compilers and runs the reference tools
 * (checksec, hardening-check). Lives in load/ because it does I/O. Never used by the library itself.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when `name` is on PATH. */
export function haveTool(name: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', name], { stdio: 'ignore' }).status === 0;
}

/** A C program that calls a fortifiable function, uses a stack buffer, and two CITL-bad functions. */
export const SAMPLE_C = `#include <stdio.h>
#include <string.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  char buf[32];
  strcpy(buf, argv[0]);
  sprintf(buf + 1, "%d", argc);
  if (argc > 5) system("true");
  printf("%s\\n", buf);
  return rand() % 2;
}
`;

export interface Workdir {
  dir: string;
  build(cc: string, flags: string[], name: string, source?: string): string;
  dispose(): void;
}

/** A temporary directory to compile into; throws with the compiler's stderr on failure. */
export function makeWorkdir(): Workdir {
  const dir = mkdtempSync(join(tmpdir(), 'fw-elf-'));
  return {
    dir,
    build(cc, flags, name, source = SAMPLE_C) {
      const src = join(dir, `${name}.c`);
      const out = join(dir, name);
      writeFileSync(src, source);
      const r = spawnSync(cc, [...flags, '-o', out, src], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cc} ${flags.join(' ')} failed: ${r.stderr}`);
      return out;
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readBytes(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

/** `checksec --output=json --file=X` as a flat record (checksec 2.6 field names). */
export function runChecksec(file: string): Record<string, string> {
  const r = spawnSync('checksec', ['--output=json', `--file=${file}`], { encoding: 'utf8' });
  const parsed = JSON.parse(r.stdout) as Record<string, Record<string, string>>;
  return Object.values(parsed)[0]!;
}

/** `hardening-check X` as { 'Stack protected': 'yes', ... } (first word of each answer). */
export function runHardeningCheck(file: string): Record<string, string> {
  const r = spawnSync('hardening-check', [file], { encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+([^:]+):\s+(\w+)/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}
