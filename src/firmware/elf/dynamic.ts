import { firmwareError } from '../errors.ts';
import type { FirmwareLimits } from '../limits.ts';
import { ELF } from './constants.ts';
import type { ElfHeader, Segment } from './headers.ts';

export interface DynEntry {
  tag: number;
  value: number;
}

export interface DynamicInfo {
  entries: DynEntry[];
  needed: string[];
  soname: string | null;
  rpath: string[];
  runpath: string[];
  /** file offset and size of the dynamic string table, when DT_STRTAB maps into the file */
  strtab: { offset: number; size: number } | null;
}

/** Maps a virtual address to a file offset through the PT_LOAD segments (gABI "Program Loading"). */
export function vaddrToOffset(segments: Segment[], addr: number): number | null {
  for (const s of segments) {
    if (s.type === ELF.PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz) return s.offset + (addr - s.vaddr);
  }
  return null;
}

/** Reads the PT_DYNAMIC array up to DT_NULL, bounded by the segment size and maxDynamicEntries. */
export function readDynamic(h: ElfHeader, segments: Segment[], limits: FirmwareLimits, warnings: string[]): DynEntry[] {
  const seg = segments.find((s) => s.type === ELF.PT_DYNAMIC);
  if (!seg) return [];
  const ent = h.is64 ? 16 : 8;
  const count = Math.floor(seg.filesz / ent);
  if (!h.view.has(seg.offset, count * ent)) {
    warnings.push('PT_DYNAMIC lies past the end of the file');
    return [];
  }
  const out: DynEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (out.length >= limits.maxDynamicEntries) {
      throw firmwareError('ELF_LIMIT', `more than ${limits.maxDynamicEntries} dynamic entries`);
    }
    const o = seg.offset + i * ent;
    const tag = h.is64 ? h.view.i64(o) : h.view.view.getInt32(o, h.view.le);
    if (tag === ELF.DT_NULL) break;
    out.push({ tag, value: h.is64 ? h.view.u64(o + 8) : h.view.u32(o + 4) });
  }
  return out;
}

export function dynValue(entries: DynEntry[], tag: number): number | null {
  return entries.find((e) => e.tag === tag)?.value ?? null;
}

/** Resolves DT_NEEDED, DT_SONAME, DT_RPATH and DT_RUNPATH through DT_STRTAB/DT_STRSZ. */
export function readDynamicStrings(h: ElfHeader, segments: Segment[], entries: DynEntry[]): DynamicInfo {
  const info: DynamicInfo = { entries, needed: [], soname: null, rpath: [], runpath: [], strtab: null };
  const addr = dynValue(entries, ELF.DT_STRTAB);
  const off = addr === null ? null : vaddrToOffset(segments, addr);
  if (off === null) return info;
  const size = Math.min(dynValue(entries, ELF.DT_STRSZ) ?? h.view.size - off, h.view.size - off);
  info.strtab = { offset: off, size };
  const str = (v: number) => h.view.cstr(off + v, 4096, off + size);
  for (const e of entries) {
    const s = e.tag === ELF.DT_NEEDED || e.tag === ELF.DT_SONAME || e.tag === ELF.DT_RPATH || e.tag === ELF.DT_RUNPATH;
    if (!s) continue;
    const value = str(e.value);
    if (value === null) continue;
    if (e.tag === ELF.DT_NEEDED) info.needed.push(value);
    else if (e.tag === ELF.DT_SONAME) info.soname = value;
    else if (e.tag === ELF.DT_RPATH) info.rpath.push(value);
    else info.runpath.push(value);
  }
  return info;
}
