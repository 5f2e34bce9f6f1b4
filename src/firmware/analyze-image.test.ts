import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { analyzeImage, diffReports, memorySource, parseOsvFeed, toCycloneDx } from './index.ts';
import { haveTool, makeWorkdir, readBytes } from './load/test-toolchain.ts';

const NOW = new Date('2025-06-01T00:00:00Z');
const dir = new URL('./testdata/osv/', import.meta.url);
const feed = parseOsvFeed(
  readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((name) => ({ name, text: readFileSync(new URL(name, dir), 'utf8') })),
);
const work = makeWorkdir();
after(() => work.dispose());

const DPKG =
  'Package: openssl\nStatus: install ok installed\nVersion: 1.1.1k-1\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n';

function image(binary: Uint8Array, extra: Record<string, string> = {}) {
  return memorySource('fw-1.0.bin', {
    'bin/busybox': binary,
    'lib/libcrypto.so.1.1': 'junk\0OpenSSL 1.1.1k  25 Mar 2021\0',
    'var/lib/dpkg/status': DPKG,
    'etc/passwd': 'root::0:0:root:/root:/bin/sh\n',
    ...extra,
  });
}

describe('analyzeImage', () => {
  test('reports binaries, secrets, components, vulnerabilities and a score', async (t) => {
    if (!haveTool('gcc')) return t.skip('gcc is not installed');
    const bin = readBytes(
      work.build(
        'gcc',
        ['-O2', '-fPIE', '-pie'],
        'bb',
        'const char *v = "BusyBox v1.31.1 (2020-01-01)";\nint main(void){return v[0];}\n',
      ),
    );
    const r = await analyzeImage(image(bin), { now: NOW, feed });
    assert.equal(r.binaries.length, 1);
    assert.match(r.binaries[0]!.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.ok(r.findings.some((f) => f.kind === 'empty-password'));
    const names = r.components.map((c) => `${c.source}:${c.name}@${c.version}`).sort();
    assert.deepEqual(names, [
      'dpkg:openssl@1.1.1k-1',
      'version-string:busybox@1.31.1',
      'version-string:openssl@1.1.1k',
    ]);
    assert.deepEqual(r.vulnerabilities.map((v) => v.id).sort(), [
      'FWTEST-2022-0778',
      'FWTEST-2022-48174',
      'FWTEST-DSA-5103-1',
    ]);
    assert.ok(r.score >= 1 && r.score < r.scoreBreakdown.binaryMean);
    assert.deepEqual(JSON.parse(JSON.stringify(r)), r, 'report is plain JSON');
  });

  test('a corrupt ELF is a finding for that file only', async () => {
    const bad = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0]);
    const r = await analyzeImage(memorySource('x', { 'bin/bad': bad, 'etc/app.conf': 'password=hunter22\n' }), {
      now: NOW,
    });
    assert.deepEqual(r.findings.map((f) => f.kind).sort(), ['hardcoded-credential', 'unparsable-file']);
    assert.equal(r.findings.find((f) => f.kind === 'unparsable-file')!.detail.code, 'ELF_TRUNCATED');
  });

  test('SBOM is CycloneDX JSON with purls', async () => {
    const r = await analyzeImage(image(new Uint8Array(0)), { now: NOW });
    const bom = JSON.parse(toCycloneDx(r));
    assert.equal(bom.bomFormat, 'CycloneDX');
    assert.equal(bom.specVersion, '1.5');
    assert.equal(bom.metadata.component.name, 'fw-1.0.bin');
    const purls = bom.components.map((c: { purl: string }) => c.purl).sort();
    assert.deepEqual(purls, ['pkg:deb/openssl@1.1.1k-1', 'pkg:generic/openssl@1.1.1k']);
  });
});

describe('diffReports', () => {
  test('a binary that lost PIE and gained system() is a regression', async (t) => {
    if (!haveTool('gcc')) return t.skip('gcc is not installed');
    const good = readBytes(
      work.build('gcc', ['-O2', '-fPIE', '-pie', '-Wl,-z,relro,-z,now'], 'v1', 'int main(void){return 0;}\n'),
    );
    const bad = readBytes(
      work.build(
        'gcc',
        ['-O0', '-no-pie', '-fno-PIE'],
        'v2',
        '#include <stdlib.h>\nint main(void){return system("id");}\n',
      ),
    );
    const a = await analyzeImage(memorySource('fw', { 'bin/app': good }), { now: NOW });
    const b = await analyzeImage(memorySource('fw', { 'bin/app': bad, 'etc/shadow': 'root::1:0:::::\n' }), {
      now: NOW,
    });
    const d = diffReports(a, b);
    assert.equal(d.direction, 'worse');
    const what = d.regressions.map((c) => `${c.what}:${c.from}->${c.to}`);
    assert.ok(what.includes('pie:yes->no'), what.join(' '));
    assert.ok(what.includes('relro:full->partial'), what.join(' '));
    assert.ok(what.includes('ick functions:->system'), what.join(' '));
    assert.ok(d.regressions.some((c) => c.what === 'finding' && c.to.startsWith('empty-password')));
    const back = diffReports(b, a);
    assert.equal(back.direction, 'better');
    assert.ok(back.improvements.some((c) => c.what === 'pie'));
    assert.equal(diffReports(a, a).direction, 'same');
  });
});
