import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import { DEFAULT_LIMITS } from '../limits.ts';
import { loadOsvDirectory, loadPath } from './index.ts';
import { gzip, makeTar, makeZip } from './test-archives.ts';
import { haveTool } from './test-toolchain.ts';

const root = mkdtempSync(join(tmpdir(), 'fw-load-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function put(name: string, bytes: Uint8Array | string): string {
  const p = join(root, `${n++}-${name}`);
  writeFileSync(p, bytes);
  return p;
}
const text = async (src: Awaited<ReturnType<typeof loadPath>>, path: string) =>
  new TextDecoder().decode(await src.files.find((f) => f.path === path)!.load());

describe('loadPath', () => {
  test('walks a directory without following symbolic links', async () => {
    const dir = join(root, 'tree');
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc', 'passwd'), 'root:x:0:0::/root:/bin/sh\n');
    symlinkSync('/etc/hostname', join(dir, 'etc', 'host-link'));
    const src = await loadPath(dir);
    assert.equal(src.kind, 'directory');
    assert.deepEqual(
      src.files.map((f) => f.path),
      ['etc/passwd'],
    );
    assert.match(await text(src, 'etc/passwd'), /^root:/);
  });

  test('reads tar, tar.gz and zip members in memory, nested archives included', async () => {
    const inner = makeZip([{ name: 'etc/shadow', data: 'root::19000:0:99999:7:::\n' }]);
    const tar = await makeTar([
      { name: 'bin/hello', data: 'hello' },
      { name: 'update.zip', data: inner },
    ]);
    const src = await loadPath(put('fw.tar.gz', gzip(tar)));
    assert.equal(src.kind, 'archive');
    const paths = src.files.map((f) => f.path).sort();
    assert.ok(paths.includes(`${src.name}!/bin/hello`));
    assert.ok(paths.includes(`${src.name}!/update.zip!/etc/shadow`));
    assert.deepEqual(src.findings, []);
  });

  test('reports traversal members as findings and writes nothing', async () => {
    const before = readdirSync(tmpdir()).length;
    const zip = makeZip([
      { name: '../../evil.sh', data: 'x' },
      { name: '/etc/cron.d/evil', data: 'x' },
      { name: 'ok.txt', data: 'fine' },
    ]);
    const tar = await makeTar([
      { name: '../escape', data: 'x' },
      { name: 'link', data: '', type: 'symlink' },
    ]);
    const zs = await loadPath(put('t.zip', zip));
    const ts = await loadPath(put('t.tar', tar));
    assert.deepEqual(
      zs.files.map((f) => f.path),
      [`${zs.name}!/ok.txt`],
    );
    assert.equal(zs.findings.filter((f) => f.kind === 'archive-path-traversal').length, 2);
    assert.equal(ts.files.length, 0, 'symlink members are never followed');
    assert.equal(ts.findings.filter((f) => f.kind === 'archive-path-traversal').length, 1);
    assert.equal(existsSync(join(root, '..', 'evil.sh')), false);
    assert.ok(readdirSync(tmpdir()).length <= before + 0, 'no temp files left behind');
  });

  test('stops zip and gzip bombs by ratio and total size', async () => {
    const zeros = new Uint8Array(20 * 1024 * 1024);
    const zipBomb = await loadPath(put('bomb.zip', makeZip([{ name: 'zeros', data: zeros }])));
    assert.equal(zipBomb.files.length, 0);
    assert.ok(zipBomb.findings.some((f) => f.kind === 'archive-limit'));
    const gzBomb = await loadPath(put('bomb.gz', gzip(zeros)));
    assert.equal(gzBomb.files.length, 0);
    assert.ok(gzBomb.findings.some((f) => f.kind === 'archive-limit'));
    const liar = await loadPath(put('liar.zip', makeZip([{ name: 'a', data: 'x'.repeat(5000), declaredSize: 10 }])));
    assert.equal(liar.files.length, 0, 'a member larger than declared is rejected');
    assert.ok(liar.findings.some((f) => f.kind === 'archive-corrupt'));
  });

  test('enforces entry count and nesting depth', async () => {
    const many = makeZip(Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, data: 'x' })));
    const src = await loadPath(put('many.zip', many), { ...DEFAULT_LIMITS, maxEntries: 10 });
    assert.ok(src.findings.some((f) => f.kind === 'archive-limit'));
    let nested = makeZip([{ name: 'core', data: 'deep' }]);
    for (let i = 0; i < 6; i++) nested = makeZip([{ name: `l${i}.zip`, data: nested }]);
    const deep = await loadPath(put('deep.zip', nested));
    assert.ok(deep.findings.some((f) => f.kind === 'archive-limit' && /nested/.test(f.message)));
  });

  test('a corrupt archive is a finding, not a crash', async () => {
    const bad = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const src = await loadPath(put('bad.zip', bad));
    assert.ok(src.findings.some((f) => f.kind === 'archive-corrupt'));
    const badGz = await loadPath(put('bad.gz', new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xff, 0xff])));
    assert.ok(badGz.findings.some((f) => f.kind === 'archive-corrupt'));
  });

  test('unpacks a SquashFS image with unsquashfs and cleans up', async (t) => {
    if (!haveTool('mksquashfs') || !haveTool('unsquashfs'))
      return t.skip('squashfs-tools (mksquashfs, unsquashfs) missing');
    const tree = join(root, 'sqroot');
    mkdirSync(join(tree, 'etc'), { recursive: true });
    writeFileSync(join(tree, 'etc', 'passwd'), 'admin::0:0::/:/bin/sh\n');
    symlinkSync('/etc/shadow', join(tree, 'etc', 'shadow'));
    const img = join(root, 'rootfs.sqfs');
    assert.equal(spawnSync('mksquashfs', [tree, img, '-noappend', '-quiet']).status, 0);
    const src = await loadPath(img);
    assert.equal(src.kind, 'filesystem-image');
    assert.deepEqual(
      src.files.map((f) => f.path),
      ['rootfs.sqfs!/etc/passwd'],
    );
    assert.match(await text(src, 'rootfs.sqfs!/etc/passwd'), /^admin::/);
    await src.dispose();
    const inTar = await loadPath(
      put('fw.tar', await makeTar([{ name: 'rootfs.sqfs', data: new Uint8Array(spawnSync('cat', [img]).stdout) }])),
    );
    assert.ok(inTar.files.some((f) => f.path.endsWith('rootfs.sqfs!/etc/passwd')));
    await inTar.dispose();
  });

  test('reports an image it cannot unpack when unsquashfs is missing', async (t) => {
    if (!haveTool('mksquashfs')) return t.skip('mksquashfs (squashfs-tools) missing to build the image');
    const img = join(root, 'rootfs.sqfs');
    if (!existsSync(img)) return t.skip('image from the previous test missing');
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const src = await loadPath(img);
      assert.ok(src.findings.some((f) => f.kind === 'filesystem-image' && /not installed/.test(f.message)));
      assert.equal(src.files.length, 1, 'the image itself is still analysed as a file');
    } finally {
      process.env.PATH = saved;
    }
  });

  test('a missing path is PATH_NOT_FOUND', async () => {
    await assert.rejects(loadPath(join(root, 'nope')), (e) => isFleetwardError(e, 'PATH_NOT_FOUND'));
  });
});

describe('loadOsvDirectory', () => {
  test('loads the shipped test feed', async () => {
    const feed = await loadOsvDirectory(new URL('../testdata/osv', import.meta.url).pathname);
    assert.ok(feed.entries.length >= 5);
    assert.ok(feed.entries.every((e) => e.id.startsWith('FWTEST-')));
  });

  test('an invalid file is OSV_INVALID', async () => {
    const dir = join(root, 'osv-bad');
    mkdirSync(dir);
    writeFileSync(join(dir, 'x.json'), '{"id": 5}');
    await assert.rejects(loadOsvDirectory(dir), (e) => isFleetwardError(e, 'OSV_INVALID'));
  });
});
