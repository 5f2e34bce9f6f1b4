import { ELF } from './elf/constants.ts';
import { dynValue } from './elf/dynamic.ts';
import type { ParsedElf } from './elf/parse-elf.ts';
import { FORTIFIABLE, unfortifiedName } from './fortify-list.ts';
import type { Arch, ElfKind, FortifyFacts, Hardening, Pie, Relro, Tri } from './model.ts';

/** ELF kind from e_type, PT_INTERP and DF_1_PIE (gABI; DF_1_PIE is a GNU extension, binutils 2.26+). */
export function elfKind(elf: ParsedElf): ElfKind {
  const t = elf.header.type;
  if (t === ELF.ET_REL) return 'relocatable';
  if (t === ELF.ET_CORE) return 'core';
  const hasInterp = elf.interpreter !== null;
  if (t === ELF.ET_EXEC) return hasInterp || elf.dynamic.entries.length > 0 ? 'executable' : 'static';
  if (t !== ELF.ET_DYN) return 'other';
  const pieFlag = ((dynValue(elf.dynamic.entries, ELF.DT_FLAGS_1) ?? 0) & ELF.DF_1_PIE) !== 0;
  // A library may carry PT_INTERP to be runnable (libc.so.6, ld.so): its soname still makes it a DSO.
  if (hasInterp) return pieFlag || elf.dynamic.soname === null ? 'pie-executable' : 'shared-library';
  // musl/older static-pie lacks DF_1_PIE: no loader, no libraries and no soname means nothing can dlopen it.
  const looksStaticPie = elf.dynamic.needed.length === 0 && elf.dynamic.soname === null && elf.segments.length > 0;
  return pieFlag || looksStaticPie ? 'static-pie' : 'shared-library';
}

function pieOf(kind: ElfKind): Pie {
  switch (kind) {
    case 'pie-executable':
    case 'static-pie':
      return 'yes';
    case 'shared-library':
      return 'dso';
    case 'relocatable':
    case 'core':
    case 'other':
      return 'rel';
    case 'executable':
    case 'static':
      return 'no';
  }
}

/**
 * Without PT_GNU_STACK the kernel decides (Linux fs/binfmt_elf.c, elf_read_implies_exec per arch):
 * i386, 32-bit ARM, MIPS and 32-bit PowerPC then map the stack (and often all data) executable;
 * x86-64 (Linux >= 5.8), AArch64, PowerPC64 and RISC-V keep it non-executable.
 */
const MISSING_STACK_IS_EXEC: Record<Arch, boolean> = {
  x86: true,
  arm: true,
  mips: true,
  powerpc: true,
  'x86-64': false,
  aarch64: false,
  powerpc64: false,
  riscv: false,
  other: true,
};

function nxOf(elf: ParsedElf, arch: Arch): { nx: Tri; reason: string } {
  const st = elf.segments.find((s) => s.type === ELF.PT_GNU_STACK);
  if (st) {
    return (st.flags & ELF.PF_X) !== 0
      ? { nx: 'no', reason: 'PT_GNU_STACK requests an executable stack' }
      : { nx: 'yes', reason: 'PT_GNU_STACK marks the stack non-executable' };
  }
  if (elf.header.type === ELF.ET_REL) return { nx: 'unknown', reason: 'object file: decided at link time' };
  return MISSING_STACK_IS_EXEC[arch]
    ? { nx: 'no', reason: `no PT_GNU_STACK: a Linux ${arch} kernel maps the stack executable` }
    : { nx: 'yes', reason: `no PT_GNU_STACK: a Linux ${arch} kernel keeps the stack non-executable` };
}

/** GNU RELRO: full = PT_GNU_RELRO + immediate binding (DT_BIND_NOW, DF_BIND_NOW, DF_1_NOW). */
function relroOf(elf: ParsedElf): Relro {
  if (!elf.segments.some((s) => s.type === ELF.PT_GNU_RELRO)) return 'none';
  const e = elf.dynamic.entries;
  const now =
    dynValue(e, ELF.DT_BIND_NOW) !== null ||
    ((dynValue(e, ELF.DT_FLAGS) ?? 0) & ELF.DF_BIND_NOW) !== 0 ||
    ((dynValue(e, ELF.DT_FLAGS_1) ?? 0) & ELF.DF_1_NOW) !== 0;
  if (now) return 'full';
  // A static binary has no lazy binding at all; with no .got.plt outside RELRO nothing stays writable.
  const noLazyGot = e.length === 0 && elf.sections.length > 0 && !elf.sections.some((s) => s.name === '.got.plt');
  return noLazyGot ? 'full' : 'partial';
}

const CANARY_SYMBOLS = new Set([
  '__stack_chk_fail',
  '__stack_chk_guard',
  '__stack_chk_fail_local',
  '__intel_security_cookie',
  '__stack_smash_handler',
]);

/** Names the binary calls: undefined dynamic symbols, or for a static binary its linked functions. */
export function calledFunctions(elf: ParsedElf, isStatic: boolean): string[] | null {
  const fn = (t: number) => t === ELF.STT_FUNC || t === ELF.STT_NOTYPE || t === ELF.STT_GNU_IFUNC;
  if (!isStatic) return elf.symbols.dynsym.filter((s) => !s.defined && fn(s.type)).map((s) => s.name);
  return elf.symbols.symtab === null
    ? null
    : elf.symbols.symtab.filter((s) => s.defined && fn(s.type)).map((s) => s.name);
}

/**
 * Dynamic: importing __stack_chk_fail means some function was compiled with a canary. Static: libc
 * itself (built with -fstack-protector on most distributions) brings the symbol along even when the
 * program was built with -fno-stack-protector, so its presence proves nothing ("unknown"); only
 * its absence is a fact ("no"). checksec reports "yes" for every static glibc binary.
 */
function canaryOf(elf: ParsedElf, isStatic: boolean): Tri {
  const names = isStatic ? elf.symbols.symtab : elf.symbols.dynsym;
  if (names === null) return 'unknown';
  const found = names.some((s) => CANARY_SYMBOLS.has(s.name));
  if (isStatic) return found ? 'unknown' : 'no';
  return found ? 'yes' : 'no';
}

/**
 * Dynamic binaries: imported __*_chk calls are protected, imported plain ones are not. A static
 * binary links libc's own unprotected copies whatever the program calls, so only "yes" is knowable.
 */
function fortifyOf(called: string[] | null, isStatic: boolean): FortifyFacts {
  if (called === null) return { value: 'unknown', protected: [], unprotected: [] };
  const prot = new Set<string>();
  const unprot = new Set<string>();
  for (const n of called) {
    const base = unfortifiedName(n);
    if (base !== null) prot.add(n);
    else if (FORTIFIABLE.has(n)) unprot.add(n);
  }
  if (isStatic) return { value: prot.size > 0 ? 'yes' : 'unknown', protected: [...prot].sort(), unprotected: [] };
  const value = prot.size > 0 ? 'yes' : unprot.size > 0 ? 'no' : 'n/a';
  return { value, protected: [...prot].sort(), unprotected: [...unprot].sort() };
}

/** All hardening facts of one parsed binary. */
export function checkHardening(elf: ParsedElf, kind: ElfKind, arch: Arch): Hardening {
  const isStatic = kind === 'static' || kind === 'static-pie';
  const { nx, reason } = nxOf(elf, arch);
  const stripped = elf.symbols.symtab === null;
  return {
    pie: pieOf(kind),
    nx,
    nxReason: reason,
    relro: relroOf(elf),
    canary: canaryOf(elf, isStatic),
    fortify: fortifyOf(calledFunctions(elf, isStatic), isStatic),
    rpath: elf.dynamic.rpath,
    runpath: elf.dynamic.runpath,
    stripped,
  };
}
