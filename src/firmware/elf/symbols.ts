import { firmwareError } from '../errors.ts';
import type { FirmwareLimits } from '../limits.ts';
import { ELF } from './constants.ts';
import { type DynamicInfo, dynValue, vaddrToOffset } from './dynamic.ts';
import type { ElfHeader, Section, Segment } from './headers.ts';

export interface ElfSymbol {
  name: string;
  type: number;
  bind: number;
  defined: boolean;
}

interface Table {
  offset: number;
  count: number;
  strOffset: number;
  strSize: number;
}

/** Reads one symbol table (gABI "Symbol Table"); names past the string table are dropped, not fatal. */
function readTable(h: ElfHeader, t: Table, budget: { left: number }): ElfSymbol[] {
  const ent = h.is64 ? 24 : 16;
  const v = h.view;
  const count = Math.min(t.count, Math.floor((v.size - Math.min(v.size, t.offset)) / ent));
  if (count > budget.left) throw firmwareError('ELF_LIMIT', `symbol count exceeds the limit`);
  budget.left -= count;
  const strEnd = Math.min(v.size, t.strOffset + t.strSize);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const o = t.offset + i * ent;
    const nameOff = v.u32(o);
    const info = v.u8(o + (h.is64 ? 4 : 12));
    const shndx = v.u16(o + (h.is64 ? 6 : 14));
    if (nameOff === 0) continue;
    const name = v.cstr(t.strOffset + nameOff, 1024, strEnd);
    if (name === null || name === '') continue;
    out.push({ name, type: info & 0xf, bind: info >> 4, defined: shndx !== ELF.SHN_UNDEF });
  }
  return out;
}

function fromSection(sections: Section[], type: number, h: ElfHeader): Table | null {
  const s = sections.find((x) => x.type === type);
  if (!s) return null;
  const str = sections[s.link];
  if (!str || !h.view.has(s.offset, 0)) return null;
  const ent = h.is64 ? 24 : 16;
  return { offset: s.offset, count: Math.floor(s.size / ent), strOffset: str.offset, strSize: str.size };
}

/** Number of dynamic symbols from DT_HASH nchain, DT_GNU_HASH chains, or DT_MIPS_SYMTABNO. */
function dynsymCount(h: ElfHeader, segments: Segment[], dyn: DynamicInfo, limits: FirmwareLimits): number | null {
  const mips = dynValue(dyn.entries, ELF.DT_MIPS_SYMTABNO);
  if (mips !== null) return mips;
  const hash = dynValue(dyn.entries, ELF.DT_HASH);
  const hashOff = hash === null ? null : vaddrToOffset(segments, hash);
  if (hashOff !== null) return h.view.u32(hashOff + 4);
  const gnu = dynValue(dyn.entries, ELF.DT_GNU_HASH);
  const gnuOff = gnu === null ? null : vaddrToOffset(segments, gnu);
  return gnuOff === null ? null : gnuHashCount(h, gnuOff, limits);
}

/** GNU hash layout (no formal spec; binutils/glibc dl-lookup): the highest chain end gives the count. */
function gnuHashCount(h: ElfHeader, off: number, limits: FirmwareLimits): number {
  const v = h.view;
  const nbuckets = v.u32(off);
  const symoffset = v.u32(off + 4);
  const bloomSize = v.u32(off + 8);
  if (nbuckets > limits.maxElfSymbols || bloomSize > limits.maxElfSymbols) {
    throw firmwareError('ELF_LIMIT', 'GNU hash table too large');
  }
  const buckets = off + 16 + bloomSize * (h.is64 ? 8 : 4);
  let max = 0;
  for (let i = 0; i < nbuckets; i++) max = Math.max(max, v.u32(buckets + i * 4));
  if (max < symoffset) return symoffset;
  const chains = buckets + nbuckets * 4;
  // Bounded walk: a hostile chain without an end bit stops at the symbol limit, never loops forever.
  for (let idx = max; idx - symoffset < limits.maxElfSymbols; idx++) {
    if (v.u32(chains + (idx - symoffset) * 4) & 1) return idx + 1;
  }
  throw firmwareError('ELF_LIMIT', 'GNU hash chain has no end');
}

function fromDynamic(h: ElfHeader, segments: Segment[], dyn: DynamicInfo, limits: FirmwareLimits): Table | null {
  const symAddr = dynValue(dyn.entries, ELF.DT_SYMTAB);
  const symOff = symAddr === null ? null : vaddrToOffset(segments, symAddr);
  if (symOff === null || dyn.strtab === null) return null;
  const count = dynsymCount(h, segments, dyn, limits);
  if (count === null) return null;
  return { offset: symOff, count, strOffset: dyn.strtab.offset, strSize: dyn.strtab.size };
}

export interface SymbolTables {
  dynsym: ElfSymbol[];
  /** null when the file has no .symtab (stripped) */
  symtab: ElfSymbol[] | null;
}

/** Dynamic symbols from the section table when present, else from the dynamic segment (sstrip'ed files). */
export function readSymbols(
  h: ElfHeader,
  sections: Section[],
  segments: Segment[],
  dyn: DynamicInfo,
  limits: FirmwareLimits,
  warnings: string[],
): SymbolTables {
  const budget = { left: limits.maxElfSymbols };
  let dynsym: ElfSymbol[] = [];
  try {
    const t = fromSection(sections, ELF.SHT_DYNSYM, h) ?? fromDynamic(h, segments, dyn, limits);
    if (t) dynsym = readTable(h, t, budget);
  } catch (err) {
    warnings.push(`dynamic symbols unreadable: ${(err as Error).message}`);
  }
  let symtab: ElfSymbol[] | null = null;
  const st = fromSection(sections, ELF.SHT_SYMTAB, h);
  if (st) {
    try {
      symtab = readTable(h, st, budget);
    } catch (err) {
      warnings.push(`symbol table unreadable: ${(err as Error).message}`);
      symtab = [];
    }
  }
  return { dynsym, symtab };
}
