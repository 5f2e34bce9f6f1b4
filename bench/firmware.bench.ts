/**
 * Firmware analyzer benchmark: our ELF analysis against `checksec --output=json --file=X` on the
 * same files (the first N ELF files under /usr/bin, N = FW_BENCH_FILES or 200). Reports files/s
 * for each, the speed ratio, and how often the two agree on RELRO, PIE, NX and canary.
 * Run alone: `node bench/firmware.bench.ts` prints the result as JSON.
 */
import { execFile } from 'node:child_process';
import { open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { analyzeElf } from '../src/firmware/index.ts';
import type { Hardening } from '../src/firmware/model.ts';
import type { BenchResult } from './bench.types.ts';

export type { BenchResult };

const exec = promisify(execFile);

async function elfFiles(dir: string, max: number): Promise<string[]> {
  const out: string[] = [];
  for (const e of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (out.length >= max) break;
    if (!e.isFile()) continue;
    const fh = await open(join(dir, e.name), 'r');
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    await fh.close();
    if (head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) out.push(join(dir, e.name));
  }
  return out;
}

async function haveChecksec(): Promise<boolean> {
  try {
    await exec('checksec', ['--version']);
    return true;
  } catch {
    return false;
  }
}

function agrees(ours: Hardening, ref: Record<string, string>): Record<string, boolean> {
  return {
    relro: (ours.relro === 'none' ? 'no' : ours.relro) === ref.relro,
    pie: ours.pie === ref.pie,
    nx: ours.nx === ref.nx,
    canary: ours.canary === ref.canary,
  };
}

async function timeOurs(files: string[]): Promise<{ ms: number; reports: Map<string, Hardening> }> {
  const reports = new Map<string, Hardening>();
  const t0 = performance.now();
  for (const f of files) {
    const bytes = new Uint8Array(await readFile(f));
    reports.set(f, analyzeElf(bytes, f).hardening);
  }
  return { ms: performance.now() - t0, reports };
}

async function timeChecksec(files: string[]): Promise<{ ms: number; refs: Map<string, Record<string, string>> }> {
  const refs = new Map<string, Record<string, string>>();
  const t0 = performance.now();
  for (const f of files) {
    const { stdout } = await exec('checksec', ['--output=json', `--file=${f}`]);
    refs.set(f, Object.values(JSON.parse(stdout) as Record<string, Record<string, string>>)[0]!);
  }
  return { ms: performance.now() - t0, refs };
}

export async function run(): Promise<BenchResult> {
  const max = Number(process.env.FW_BENCH_FILES ?? 200);
  const files = await elfFiles('/usr/bin', max);
  const ours = await timeOurs(files);
  const oursRate = files.length / (ours.ms / 1000);
  const rows: BenchResult['rows'] = [
    {
      tool: 'fleetward analyzeElf',
      files: files.length,
      ms: Math.round(ours.ms),
      filesPerSecond: Math.round(oursRate),
    },
  ];
  if (!(await haveChecksec())) {
    return {
      name: 'firmware',
      rows,
      summary: `analyzeElf: ${Math.round(oursRate)} files/s on ${files.length} files; checksec not installed`,
    };
  }
  const ref = await timeChecksec(files);
  const refRate = files.length / (ref.ms / 1000);
  rows.push({
    tool: 'checksec --output=json --file',
    files: files.length,
    ms: Math.round(ref.ms),
    filesPerSecond: Math.round(refRate * 10) / 10,
  });
  const counts: Record<string, number> = { relro: 0, pie: 0, nx: 0, canary: 0 };
  for (const f of files)
    for (const [k, ok] of Object.entries(agrees(ours.reports.get(f)!, ref.refs.get(f)!))) counts[k]! += ok ? 1 : 0;
  for (const [k, v] of Object.entries(counts))
    rows.push({
      tool: `agreement ${k}`,
      files: files.length,
      agreePercent: Math.round((1000 * v) / files.length) / 10,
    });
  const ratio = Math.round(oursRate / refRate);
  return {
    name: 'firmware',
    rows,
    summary: `analyzeElf ${Math.round(oursRate)} files/s vs checksec ${refRate.toFixed(1)} files/s (${ratio}x) on ${files.length} ELF files from /usr/bin`,
  };
}

if (import.meta.main) {
  console.log(JSON.stringify(await run(), null, 2));
}
