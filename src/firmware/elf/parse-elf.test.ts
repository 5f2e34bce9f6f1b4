import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { isFleetwardError } from '../../protocol/errors.ts';
import { analyzeElf } from '../analyze-elf.ts';
import { haveTool, makeWorkdir, readBytes } from '../load/test-toolchain.ts';

interface Ph {
  type: number;
  flags?: number;
  offset: number;
  vaddr?: number;
  filesz: number;
}

/** A minimal ELF64 or ELF32 image: header, program headers, then `tail` bytes. */
function makeElf(o: {
  is64?: boolean;
  le?: boolean;
  machine?: number;
  type?: number;
  phs?: Ph[];
  phnum?: number;
  phoff?: number;
  shoff?: number;
  shnum?: number;
  tail?: Uint8Array;
}) {
  const is64 = o.is64 ?? true;
  const le = o.le ?? true;
  const eh = is64 ? 64 : 52;
  const phent = is64 ? 56 : 32;
  const phs = o.phs ?? [];
  const b = new Uint8Array(eh + phs.length * phent + (o.tail?.length ?? 0));
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
  const w = (off: number, val: number) => (is64 ? v.setBigUint64(off, BigInt(val), le) : v.setUint32(off, val, le));
  v.setUint16(16, o.type ?? 3, le);
  v.setUint16(18, o.machine ?? 62, le);
  w(24 + (is64 ? 8 : 4), o.phoff ?? eh);
  w(24 + (is64 ? 16 : 8), o.shoff ?? 0);
  const a = is64 ? 52 : 40;
  v.setUint16(a + 2, phent, le);
  v.setUint16(a + 4, o.phnum ?? phs.length, le);
  v.setUint16(a + 6, is64 ? 64 : 40, le);
  v.setUint16(a + 8, o.shnum ?? 0, le);
  phs.forEach((p, i) => {
    const off = eh + i * phent;
    v.setUint32(off, p.type, le);
    if (is64) {
      v.setUint32(off + 4, p.flags ?? 4, le);
      w(off + 8, p.offset);
      w(off + 16, p.vaddr ?? p.offset);
      w(off + 32, p.filesz);
      w(off + 40, p.filesz);
    } else {
      w(off + 4, p.offset);
      w(off + 8, p.vaddr ?? p.offset);
      w(off + 16, p.filesz);
      w(off + 20, p.filesz);
      v.setUint32(off + 24, p.flags ?? 4, le);
    }
  });
  if (o.tail) b.set(o.tail, eh + phs.length * phent);
  return b;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_GNU_STACK = 0x6474e551;
const onlyCoded = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    if (!isFleetwardError(err)) throw err;
  }
};

describe('ELF identity from synthetic headers', () => {
  const cases = [
    { is64: false, le: false, machine: 20, arch: 'powerpc' },
    { is64: true, le: false, machine: 21, arch: 'powerpc64' },
    { is64: true, le: true, machine: 243, arch: 'riscv' },
    { is64: false, le: true, machine: 3, arch: 'x86' },
    { is64: false, le: false, machine: 8, arch: 'mips' },
  ] as const;
  for (const c of cases) {
    test(`${c.arch} ${c.is64 ? 64 : 32}-bit ${c.le ? 'LE' : 'BE'}`, () => {
      const r = analyzeElf(makeElf({ ...c, type: 2 }), 'x');
      assert.deepEqual(
        [r.elf.arch, r.elf.bits, r.elf.endian, r.elf.kind],
        [c.arch, c.is64 ? 64 : 32, c.le ? 'little' : 'big', 'static'],
      );
    });
  }
  test('a missing PT_GNU_STACK means an executable stack on 32-bit ARM but not on AArch64', () => {
    assert.equal(analyzeElf(makeElf({ is64: false, machine: 40, type: 2 }), 'arm').hardening.nx, 'no');
    assert.equal(analyzeElf(makeElf({ machine: 183, type: 2 }), 'a64').hardening.nx, 'yes');
    const withStack = makeElf({
      is64: false,
      machine: 40,
      type: 2,
      phs: [{ type: PT_GNU_STACK, flags: 6, offset: 0, filesz: 0 }],
    });
    assert.equal(analyzeElf(withStack, 'arm').hardening.nx, 'yes');
  });
});

describe('hostile ELF input', () => {
  const code = (bytes: Uint8Array, expected: string) =>
    assert.throws(
      () => analyzeElf(bytes, 'h'),
      (e) => isFleetwardError(e, expected as 'ELF_TRUNCATED'),
    );
  test('bad magic, unknown class, truncated header', () => {
    code(new Uint8Array([1, 2, 3, 4]), 'ELF_BAD_MAGIC');
    const cls = makeElf({});
    cls[4] = 3;
    code(cls, 'ELF_UNSUPPORTED');
    code(makeElf({}).subarray(0, 40), 'ELF_TRUNCATED');
  });
  test('program headers past the end of file', () => {
    code(makeElf({ phnum: 3, phoff: 1 << 30 }), 'ELF_TRUNCATED');
    code(makeElf({ phnum: 3, phoff: 2 ** 52 }), 'ELF_TRUNCATED');
  });
  test('a section table past the end is a warning, not a failure', () => {
    const r = analyzeElf(makeElf({ type: 2, shoff: 1 << 20, shnum: 40 }), 'h');
    assert.ok(r.warnings.length > 0);
  });
  test('huge counts via extended numbering hit the limit', () => {
    const tail = new Uint8Array(64);
    new DataView(tail.buffer).setUint32(44, 0xffffffff, true); // section 0 sh_info = real phnum
    const b = makeElf({ phnum: 0xffff, shoff: 64, shnum: 1, tail });
    assert.throws(
      () => analyzeElf(b, 'h'),
      (e) => isFleetwardError(e, 'ELF_LIMIT', 'ELF_TRUNCATED'),
    );
  });
  test('a dynamic segment without DT_NULL and a GNU hash chain without an end bit terminate', () => {
    const tail = new Uint8Array(4096).fill(0xff);
    const dv = new DataView(tail.buffer);
    // DT_GNU_HASH -> table at file offset 64+2*56+512 whose chain never ends
    const base = 64 + 2 * 56;
    dv.setBigInt64(0, 0x6ffffef5n, true);
    dv.setBigUint64(8, BigInt(base + 512), true);
    dv.setBigInt64(16, 6n, true); // DT_SYMTAB
    dv.setBigUint64(24, BigInt(base + 1024), true);
    dv.setBigInt64(32, 5n, true); // DT_STRTAB
    dv.setBigUint64(40, BigInt(base + 2048), true);
    dv.setUint32(512, 1, true); // nbuckets
    dv.setUint32(516, 0, true); // symoffset
    dv.setUint32(520, 0, true); // bloom size
    dv.setUint32(528, 0, true); // bucket[0] = 0; chain at 532 is 0xfffffffe... -> no end bit below
    for (let i = 532; i < 4096; i += 4) dv.setUint32(i, 0xfffffffe, true);
    const b = makeElf({
      phs: [
        { type: PT_LOAD, offset: 0, filesz: base + 4096 },
        { type: PT_DYNAMIC, offset: base, filesz: 4096 },
      ],
      tail,
    });
    const t0 = performance.now();
    onlyCoded(() => analyzeElf(b, 'h'));
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe('fuzzing (fast-check, bounded)', () => {
  test('random bytes behind an ELF magic never crash the parser', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.boolean(), fc.boolean(), (body, is64, le) => {
        const b = new Uint8Array(body.length + 16);
        b.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, le ? 1 : 2, 1]);
        b.set(body, 16);
        onlyCoded(() => analyzeElf(b, 'fuzz'));
      }),
      { numRuns: 300 },
    );
  });

  test('mutations of a real binary never crash or hang the parser', (t) => {
    if (!haveTool('gcc')) return t.skip('gcc is not installed');
    const work = makeWorkdir();
    const seed = readBytes(work.build('gcc', ['-O2', '-fstack-protector-strong', '-Wl,-z,now'], 'seed'));
    work.dispose();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: seed.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 40 }),
        fc.nat({ max: seed.length }),
        (muts, cut) => {
          const b = seed.slice(0, Math.max(cut, 64));
          for (const [i, v] of muts) if (i < b.length) b[i] = v;
          const t0 = performance.now();
          onlyCoded(() => analyzeElf(b, 'fuzz'));
          assert.ok(performance.now() - t0 < 1000, 'one file analyses in under a second');
        },
      ),
      { numRuns: 300 },
    );
  });
});
