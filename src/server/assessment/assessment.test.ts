import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fleetward } from '../../cli/testing/run-fleetward.ts';
import { startTestServer } from '../testing/test-server.ts';

const run = promisify(execFile);
const FEED = fileURLToPath(new URL('../../firmware/testdata/osv/', import.meta.url));

/** A small image: an old BusyBox (known vulnerable in the test feed) and a root account without a password. */
async function makeImage(t: TestContext, opts: { emptyRoot: boolean }): Promise<{ dir: string; tarball: string }> {
  const work = mkdtempSync(join(tmpdir(), 'fleetward-fw-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const root = join(work, 'rootfs');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'));
  const blob = Buffer.concat([
    Buffer.alloc(64),
    Buffer.from('BusyBox v1.31.1 (2020-01-01 00:00:00 UTC)\0'),
    Buffer.alloc(64),
  ]);
  writeFileSync(join(root, 'bin', 'busybox'), blob);
  writeFileSync(
    join(root, 'etc', 'shadow'),
    opts.emptyRoot ? 'root::19000:0:99999:7:::\n' : 'root:*:19000:0:99999:7:::\n',
  );
  const tarball = join(work, 'fw.tar.gz');
  await run('tar', ['-czf', tarball, '-C', root, '.']);
  return { dir: root, tarball };
}

test('firmware through the server: feed import, upload analysis, report, SBOM, size limit', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const imported = await fleetward(['vulns', 'import', FEED, '--json'], env);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(JSON.parse(imported.stdout).total, readdirSync(FEED).filter((f) => f.endsWith('.json')).length);

  const { tarball } = await makeImage(t, { emptyRoot: true });
  const up = await fleetward(['firmware', 'upload', tarball, '--json'], env);
  assert.equal(up.code, 0, up.stderr);
  const summary = JSON.parse(up.stdout);
  assert.ok(summary.vulnerabilities >= 1, 'the old BusyBox matches the feed');
  assert.ok(summary.score < 100);
  const full = await server.call('GET', `/api/v1/firmware/analyses/${summary.id}`, { token: server.adminToken });
  assert.equal(full.status, 200);
  assert.ok(full.body.report.vulnerabilities.some((v: { id: string }) => v.id === 'FWTEST-2022-48174'));
  assert.ok(full.body.report.findings.some((f: { kind: string }) => f.kind === 'empty-password'));
  const sbom = await server.call('GET', `/api/v1/firmware/analyses/${summary.id}/sbom`, { token: server.adminToken });
  assert.equal(sbom.body.bomFormat, 'CycloneDX');
  assert.ok(
    sbom.body.components.some((c: { name: string; version: string }) => c.name === 'busybox' && c.version === '1.31.1'),
  );

  const big = await server.call('POST', '/api/v1/firmware/analyses?name=huge.bin', {
    token: server.adminToken,
    raw: 'x'.repeat(9 * 1024 * 1024),
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(big.status, 413);
  assert.equal(big.body.code, 'ARTIFACT_TOO_LARGE');
  assert.deepEqual(readdirSync(join(server.dataDir, 'work')), [], 'staged uploads are removed');

  const badFeed = await server.call('POST', '/api/v1/vulns', {
    token: server.adminToken,
    body: { files: [{ name: 'x.json', text: '{"no":"id"}' }] },
  });
  assert.equal(badFeed.status, 400);
  assert.equal(badFeed.body.code, 'FEED_INVALID');
});

test('firmware locally: analyze with an SBOM and a score gate, diff names regressions', async (t) => {
  const good = await makeImage(t, { emptyRoot: false });
  const bad = await makeImage(t, { emptyRoot: true });
  const sbomFile = join(good.dir, '..', 'sbom.json');
  const a = await fleetward(['firmware', 'analyze', good.tarball, '--vulns', FEED, '--sbom', sbomFile, '--json'], {});
  assert.equal(a.code, 0, a.stderr);
  const report = JSON.parse(a.stdout);
  assert.equal(JSON.parse(readFileSync(sbomFile, 'utf8')).bomFormat, 'CycloneDX');
  const gated = await fleetward(
    ['firmware', 'analyze', bad.dir, '--vulns', FEED, '--min-score', String(report.score)],
    {},
  );
  assert.equal(gated.code, 8, 'below the required score: exit 8');
  assert.match(gated.stderr, /is below the required/);
  const saved = join(good.dir, '..', 'good.json');
  writeFileSync(saved, a.stdout);
  const diff = await fleetward(['firmware', 'diff', saved, bad.dir, '--vulns', FEED, '--json'], {});
  assert.equal(diff.code, 8, diff.stderr);
  const d = JSON.parse(diff.stdout);
  assert.equal(d.direction, 'worse');
  assert.ok(
    d.regressions.some((c: { what: string }) => /finding/.test(c.what)),
    JSON.stringify(d.regressions),
  );
  const missing = await fleetward(['firmware', 'analyze', '/no/such/firmware'], {});
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim().split('\n').length, 1);
});
