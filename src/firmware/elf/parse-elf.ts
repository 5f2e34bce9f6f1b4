import { DEFAULT_LIMITS, type FirmwareLimits } from '../limits.ts';
import { ELF } from './constants.ts';
import { type DynamicInfo, readDynamic, readDynamicStrings } from './dynamic.ts';
import {
  type ElfHeader,
  parseHeader,
  readSections,
  readSegments,
  resolveExtendedCounts,
  type Section,
  type Segment,
} from './headers.ts';
import { readSymbols, type SymbolTables } from './symbols.ts';

export interface ParsedElf {
  header: ElfHeader;
  segments: Segment[];
  sections: Section[];
  dynamic: DynamicInfo;
  interpreter: string | null;
  symbols: SymbolTables;
  warnings: string[];
}

/**
 * Parses the parts of an ELF file the hardening checks need. The ELF header and program headers
 * must be sound (they are what the kernel loads); everything else degrades to warnings.
 * Throws ELF_BAD_MAGIC, ELF_UNSUPPORTED, ELF_TRUNCATED, ELF_LIMIT.
 */
export function parseElf(bytes: Uint8Array, limits: FirmwareLimits = DEFAULT_LIMITS): ParsedElf {
  const warnings: string[] = [];
  const header = parseHeader(bytes);
  resolveExtendedCounts(header, warnings);
  const segments = readSegments(header, limits);
  const sections = readSections(header, limits, warnings);
  let entries: ReturnType<typeof readDynamic> = [];
  try {
    entries = readDynamic(header, segments, limits, warnings);
  } catch (err) {
    warnings.push(`dynamic section unreadable: ${(err as Error).message}`);
  }
  const dynamic = readDynamicStrings(header, segments, entries);
  const interp = segments.find((s) => s.type === ELF.PT_INTERP);
  const interpreter = interp
    ? header.view.cstr(interp.offset, 4096, Math.min(header.view.size, interp.offset + interp.filesz))
    : null;
  const symbols = readSymbols(header, sections, segments, dynamic, limits, warnings);
  return { header, segments, sections, dynamic, interpreter, symbols, warnings };
}
