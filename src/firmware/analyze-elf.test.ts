import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { analyzeElf } from './analyze-elf.ts';
import { haveTool, makeWorkdir, readBytes, runChecksec, runHardeningCheck } from './load/test-toolchain.ts';
import type { BinaryReport } from './model.ts';

const work = makeWorkdir();
after(() => work.dispose());

const HOST_CASES = [
  {
    name: 'hardened',
    flags: ['-O2', '-D_FORTIFY_SOURCE=2', '-fPIE', '-pie', '-fstack-protector-strong', '-Wl,-z,relro,-z,now'],
  },
  { name: 'soft', flags: ['-O0', '-fno-PIE', '-no-pie', '-fno-stack-protector', '-Wl,-z,norelro'] },
  { name: 'partial-relro', flags: ['-O2', '-fPIE', '-pie', '-Wl,-z,relro,-z,lazy'] },
  { name: 'execstack', flags: ['-O2', '-Wl,-z,execstack'] },
  { name: 'rpath', flags: ['-Wl,--disable-new-dtags', '-Wl,-rpath,/opt/vendor/lib'] },
  { name: 'runpath', flags: ['-Wl,--enable-new-dtags', '-Wl,-rpath,lib'] },
  { name: 'stripped', flags: ['-O2', '-s', '-fstack-protector-strong', '-D_FORTIFY_SOURCE=2'] },
  { name: 'static', flags: ['-static', '-O2'] },
  { name: 'static-pie', flags: ['-static-pie', '-O2'] },
  { name: 'shared', flags: ['-shared', '-fPIC', '-O2'] },
] as const;

function build(name: string, flags: readonly string[]): BinaryReport {
  const path = work.build('gcc', [...flags], name);
  return analyzeElf(readBytes(path), name);
}

describe('analyzeElf on binaries built with gcc', () => {
  test('facts follow the compiler flags', (t) => {
    if (!haveTool('gcc')) return t.skip('gcc is not installed');
    const r = Object.fromEntries(HOST_CASES.map((c) => [c.name, build(c.name, c.flags)]));
    assert.equal(r.hardened!.elf.kind, 'pie-executable');
    assert.deepEqual(
      [r.hardened!.hardening.pie, r.hardened!.hardening.relro, r.hardened!.hardening.canary, r.hardened!.hardening.nx],
      ['yes', 'full', 'yes', 'yes'],
    );
    assert.equal(r.hardened!.hardening.fortify.value, 'yes');
    assert.ok(r.hardened!.hardening.fortify.protected.includes('__strcpy_chk'));
    assert.deepEqual([r.soft!.hardening.pie, r.soft!.hardening.relro, r.soft!.hardening.canary], ['no', 'none', 'no']);
    assert.equal(r.soft!.hardening.fortify.value, 'no');
    assert.equal(r.soft!.elf.kind, 'executable');
    assert.equal(r['partial-relro']!.hardening.relro, 'partial');
    assert.equal(r.execstack!.hardening.nx, 'no');
    assert.deepEqual(r.rpath!.hardening.rpath, ['/opt/vendor/lib']);
    assert.deepEqual(r.runpath!.hardening.runpath, ['lib']);
    assert.equal(r.stripped!.hardening.stripped, true);
    assert.equal(r.stripped!.hardening.canary, 'yes', 'dynamic imports survive stripping');
    assert.equal(r.static!.elf.kind, 'static');
    assert.equal(r.static!.hardening.canary, 'unknown', 'libc brings __stack_chk_fail along');
    assert.equal(r['static-pie']!.elf.kind, 'static-pie');
    assert.equal(r['static-pie']!.hardening.pie, 'yes');
    assert.equal(r.shared!.elf.kind, 'shared-library');
    assert.equal(r.shared!.hardening.pie, 'dso');
    assert.ok(r.soft!.hygiene.bad.includes('strcpy') && r.soft!.hygiene.ick.includes('system'));
    assert.ok(r.hardened!.score > r.soft!.score, 'hardening raises the score');
  });

  test('agrees with checksec where the meanings agree', (t) => {
    if (!haveTool('gcc') || !haveTool('checksec')) return t.skip('gcc or checksec (Debian package checksec) missing');
    for (const c of HOST_CASES) {
      const path = work.build('gcc', [...c.flags], `cs-${c.name}`);
      const ours = analyzeElf(readBytes(path), c.name).hardening;
      const ref = runChecksec(path);
      const ctx = `${c.name}: ours ${JSON.stringify(ours)} checksec ${JSON.stringify(ref)}`;
      assert.equal(ours.relro === 'none' ? 'no' : ours.relro, ref.relro, ctx);
      assert.equal(ours.nx, ref.nx, ctx);
      assert.equal(ours.pie, ref.pie, ctx);
      assert.equal(ours.rpath.length > 0 ? 'yes' : 'no', ref.rpath, ctx);
      assert.equal(ours.runpath.length > 0 ? 'yes' : 'no', ref.runpath, ctx);
      assert.equal(ours.stripped ? 'no' : 'yes', ref.symbols, ctx);
      if (c.name === 'static' || c.name === 'static-pie') {
        // Documented difference: checksec says "yes" because libc itself carries __stack_chk_fail.
        assert.equal(ours.canary, 'unknown', ctx);
        continue;
      }
      assert.equal(ours.canary, ref.canary, ctx);
      assert.equal(ours.fortify.value === 'yes' ? 'yes' : 'no', ref.fortify_source, ctx);
    }
  });

  test('agrees with hardening-check', (t) => {
    if (!haveTool('gcc') || !haveTool('hardening-check'))
      return t.skip('gcc or hardening-check (Debian package devscripts) missing');
    for (const c of HOST_CASES.filter((x) => !x.name.startsWith('static'))) {
      const path = work.build('gcc', [...c.flags], `hc-${c.name}`);
      const ours = analyzeElf(readBytes(path), c.name).hardening;
      const ref = runHardeningCheck(path);
      const ctx = `${c.name}: ${JSON.stringify(ref)}`;
      assert.equal(ours.pie === 'yes' ? 'yes' : 'no', ref['Position Independent Executable'], ctx);
      assert.equal(ours.canary, ref['Stack protected'], ctx);
      assert.equal(ours.relro === 'none' ? 'no' : 'yes', ref['Read-only relocations'], ctx);
      assert.equal(ours.relro === 'full' ? 'yes' : 'no', ref['Immediate binding'], ctx);
      const fortify = { yes: 'yes', no: 'no', 'n/a': 'unknown', unknown: 'unknown' }[ours.fortify.value];
      assert.equal(fortify, ref['Fortify Source functions'], ctx);
    }
  });
});

const CROSS = [
  { cc: 'arm-linux-gnueabihf-gcc', arch: 'arm', bits: 32, endian: 'little' },
  { cc: 'aarch64-linux-gnu-gcc', arch: 'aarch64', bits: 64, endian: 'little' },
  { cc: 'mipsel-linux-gnu-gcc', arch: 'mips', bits: 32, endian: 'little' },
  { cc: 'mips-linux-gnu-gcc', arch: 'mips', bits: 32, endian: 'big' },
  { cc: 'riscv64-linux-gnu-gcc', arch: 'riscv', bits: 64, endian: 'little' },
] as const;

describe('analyzeElf on cross-compiled binaries', () => {
  for (const x of CROSS) {
    test(x.cc, (t) => {
      if (!haveTool(x.cc)) return t.skip(`${x.cc} is not installed`);
      const hard = work.build(
        x.cc,
        ['-O2', '-fPIE', '-pie', '-fstack-protector-strong', '-Wl,-z,relro,-z,now'],
        `${x.arch}-${x.endian}-h`,
      );
      const soft = work.build(
        x.cc,
        ['-O0', '-no-pie', '-fno-stack-protector', '-Wl,-z,norelro', '-s'],
        `${x.arch}-${x.endian}-s`,
      );
      const h = analyzeElf(readBytes(hard), 'hard');
      const s = analyzeElf(readBytes(soft), 'soft');
      assert.deepEqual([h.elf.arch, h.elf.bits, h.elf.endian], [x.arch, x.bits, x.endian]);
      assert.deepEqual([h.hardening.pie, h.hardening.relro, h.hardening.canary], ['yes', 'full', 'yes']);
      assert.deepEqual(
        [s.hardening.pie, s.hardening.relro, s.hardening.canary, s.hardening.stripped],
        ['no', 'none', 'no', true],
      );
      assert.ok(s.hygiene.ick.includes('system'), 'imports read from a stripped binary');
      if (!haveTool('checksec')) return;
      for (const [path, ours] of [
        [hard, h],
        [soft, s],
      ] as const) {
        const ref = runChecksec(path);
        assert.equal(
          ours.hardening.relro === 'none' ? 'no' : ours.hardening.relro,
          ref.relro,
          `${path} ${JSON.stringify(ref)}`,
        );
        assert.equal(ours.hardening.pie, ref.pie, `${path} ${JSON.stringify(ref)}`);
        assert.equal(ours.hardening.canary, ref.canary, `${path} ${JSON.stringify(ref)}`);
        assert.equal(ours.hardening.nx, ref.nx, `${path} ${JSON.stringify(ref)}`);
      }
    });
  }
});
