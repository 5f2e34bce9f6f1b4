import { MACHINES } from './elf/constants.ts';
import { parseElf } from './elf/parse-elf.ts';
import { calledFunctions, checkHardening, elfKind } from './hardening.ts';
import { classifyFunctions } from './hygiene.ts';
import { DEFAULT_LIMITS, type FirmwareLimits } from './limits.ts';
import type { BinaryReport, ElfIdentity } from './model.ts';
import { scoreBinary } from './score.ts';

/** True when the bytes start with the ELF magic (gABI e_ident[EI_MAG0..3]). */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
}

/**
 * Analyzes one ELF file: identity, hardening, CITL hygiene and score.
 * Throws FleetwardError ELF_BAD_MAGIC, ELF_UNSUPPORTED, ELF_TRUNCATED or ELF_LIMIT when the ELF or
 * program headers cannot be read; damage elsewhere becomes `warnings`.
 */
export function analyzeElf(bytes: Uint8Array, name: string, limits: FirmwareLimits = DEFAULT_LIMITS): BinaryReport {
  const elf = parseElf(bytes, limits);
  const kind = elfKind(elf);
  const arch = MACHINES[elf.header.machine] ?? 'other';
  const elfId: ElfIdentity = {
    bits: elf.header.is64 ? 64 : 32,
    endian: elf.header.view.le ? 'little' : 'big',
    arch,
    machine: elf.header.machine,
    kind,
    interpreter: elf.interpreter,
    soname: elf.dynamic.soname,
    needed: elf.dynamic.needed,
  };
  const hardening = checkHardening(elf, kind, arch);
  const called = calledFunctions(elf, kind === 'static' || kind === 'static-pie') ?? [];
  const hygiene = classifyFunctions(called);
  const report: BinaryReport = {
    path: name,
    size: bytes.length,
    sha256: null,
    elf: elfId,
    hardening,
    hygiene,
    score: 0,
    warnings: elf.warnings,
  };
  report.score = scoreBinary(report);
  return report;
}
