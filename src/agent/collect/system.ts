import { type ProcSource, readProc } from './proc-files.ts';

/** The kernel's boot id: a new one means the device restarted (random per boot, proc(5)). */
export async function readBootId(src: ProcSource): Promise<string> {
  const id = (await readProc(src, 'sys/kernel/random/boot_id')).trim();
  return /^[A-Za-z0-9-]{1,64}$/.test(id) ? id : 'unknown';
}

/** Seconds since boot, from the first field of /proc/uptime. */
export async function readUptime(src: ProcSource): Promise<number> {
  const first = Number((await readProc(src, 'uptime')).trim().split(/\s+/)[0]);
  return Number.isFinite(first) && first >= 0 ? Math.floor(first) : 0;
}
