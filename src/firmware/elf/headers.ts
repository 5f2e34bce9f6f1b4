import { firmwareError } from '../errors.ts';
import type { FirmwareLimits } from '../limits.ts';
import { ByteView } from './byte-view.ts';
import { ELF } from './constants.ts';

export interface ElfHeader {
  view: ByteView;
  is64: boolean;
  type: number;
  machine: number;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface Section {
  name: string;
  type: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/** Parses e_ident and the ELF header (gABI "ELF Header"); throws ELF_BAD_MAGIC, ELF_UNSUPPORTED, ELF_TRUNCATED. */
export function parseHeader(bytes: Uint8Array): ElfHeader {
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw firmwareError('ELF_BAD_MAGIC', 'not an ELF file');
  }
  if (bytes.length < 52) throw firmwareError('ELF_TRUNCATED', 'ELF header is truncated');
  const cls = bytes[4];
  const data = bytes[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) {
    throw firmwareError('ELF_UNSUPPORTED', `unknown ELF class ${cls} or data encoding ${data}`);
  }
  const is64 = cls === 2;
  const v = new ByteView(bytes, data === 1);
  const w = is64 ? 8 : 4;
  const after = 24 + 3 * w + 4; // e_entry, e_phoff, e_shoff, e_flags
  return {
    view: v,
    is64,
    type: v.u16(16),
    machine: v.u16(18),
    phoff: v.word(24 + w, is64),
    shoff: v.word(24 + 2 * w, is64),
    phentsize: v.u16(after + 2),
    phnum: v.u16(after + 4),
    shentsize: v.u16(after + 6),
    shnum: v.u16(after + 8),
    shstrndx: v.u16(after + 10),
  };
}

/**
 * gABI "Extended section numbering": PN_XNUM / SHN_XINDEX / shnum 0 move the real counts into
 * section 0. Resolved here so the rest of the parser sees plain numbers.
 */
export function resolveExtendedCounts(h: ElfHeader, warnings: string[]): void {
  const needs = h.phnum === ELF.PN_XNUM || (h.shnum === 0 && h.shoff !== 0) || h.shstrndx === ELF.SHN_XINDEX;
  if (!needs) return;
  if (!h.view.has(h.shoff, sectionEntrySize(h.is64))) {
    warnings.push('extended numbering announced but section 0 is past the end');
    h.shnum = 0;
    if (h.phnum === ELF.PN_XNUM) h.phnum = 0;
    return;
  }
  const s0 = readSectionRaw(h, 0);
  if (h.phnum === ELF.PN_XNUM) h.phnum = s0.info;
  if (h.shnum === 0) h.shnum = s0.size;
  if (h.shstrndx === ELF.SHN_XINDEX) h.shstrndx = s0.link;
}

function sectionEntrySize(is64: boolean): number {
  return is64 ? 64 : 40;
}

function checkTable(count: number, entsize: number, min: number, what: string, limits: FirmwareLimits) {
  if (count > limits.maxElfHeaders) {
    throw firmwareError('ELF_LIMIT', `${what} count ${count} exceeds the limit ${limits.maxElfHeaders}`);
  }
  if (count > 0 && entsize < min) throw firmwareError('ELF_UNSUPPORTED', `${what} entry size ${entsize} too small`);
}

/** Program headers (gABI "Program Header"); a table past the end of file throws ELF_TRUNCATED. */
export function readSegments(h: ElfHeader, limits: FirmwareLimits): Segment[] {
  checkTable(h.phnum, h.phentsize, h.is64 ? 56 : 32, 'program header', limits);
  const out: Segment[] = [];
  const v = h.view;
  for (let i = 0; i < h.phnum; i++) {
    const o = h.phoff + i * h.phentsize;
    if (h.is64) {
      out.push({
        type: v.u32(o),
        flags: v.u32(o + 4),
        offset: v.u64(o + 8),
        vaddr: v.u64(o + 16),
        filesz: v.u64(o + 32),
        memsz: v.u64(o + 40),
      });
    } else {
      out.push({
        type: v.u32(o),
        offset: v.u32(o + 4),
        vaddr: v.u32(o + 8),
        filesz: v.u32(o + 16),
        memsz: v.u32(o + 20),
        flags: v.u32(o + 24),
      });
    }
  }
  return out;
}

interface RawSection {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

function readSectionRaw(h: ElfHeader, i: number): RawSection {
  const v = h.view;
  const o = h.shoff + i * (h.shentsize || sectionEntrySize(h.is64));
  if (h.is64) {
    return {
      name: v.u32(o),
      type: v.u32(o + 4),
      offset: v.u64(o + 24),
      size: v.u64(o + 32),
      link: v.u32(o + 40),
      info: v.u32(o + 44),
      entsize: v.u64(o + 56),
    };
  }
  return {
    name: v.u32(o),
    type: v.u32(o + 4),
    offset: v.u32(o + 16),
    size: v.u32(o + 20),
    link: v.u32(o + 24),
    info: v.u32(o + 28),
    entsize: v.u32(o + 36),
  };
}

/**
 * Section headers with names. Section headers are optional for execution (sstrip'ed firmware has
 * none), so a damaged table is a warning and an empty list, never a failure of the whole file.
 */
export function readSections(h: ElfHeader, limits: FirmwareLimits, warnings: string[]): Section[] {
  if (h.shoff === 0 || h.shnum === 0) return [];
  try {
    checkTable(h.shnum, h.shentsize, sectionEntrySize(h.is64), 'section header', limits);
    const raw: RawSection[] = [];
    for (let i = 0; i < h.shnum; i++) raw.push(readSectionRaw(h, i));
    const strtab = raw[h.shstrndx];
    return raw.map((s) => ({
      name: strtab
        ? (h.view.cstr(strtab.offset + s.name, 256, Math.min(h.view.size, strtab.offset + strtab.size)) ?? '')
        : '',
      type: s.type,
      offset: s.offset,
      size: s.size,
      link: s.link,
      entsize: s.entsize,
    }));
  } catch (err) {
    warnings.push(`section headers ignored: ${(err as Error).message}`);
    return [];
  }
}
