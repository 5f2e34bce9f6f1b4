import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchVerifiedTarget, pinTrustedRoot } from '../agent/update/tuf-client.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { fleetward } from './testing/run-fleetward.ts';

function workDir(t: { after: (fn: () => void) => void }): string {
  const d = mkdtempSync(join(tmpdir(), 'fleetward-release-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('cli: release create uploads, signs and publishes; the real TUF client fetches it from the server', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const dir = workDir(t);
  const fw = join(dir, 'fw.bin');
  writeFileSync(fw, Buffer.from('lock firmware 1.2.0 '.repeat(500)));
  await server.call('POST', '/api/v1/products', {
    token: server.adminToken,
    body: { id: 'lock', name: 'Lock', model: 'L1', manufacturer: 'Acme', supportEnd: '2099-12-31' },
  });
  const r = await fleetward(
    [
      'release',
      'create',
      '--product',
      'lock',
      '--version',
      '1.2.0',
      '--security-version',
      '5',
      '--file',
      fw,
      '--cve',
      'CVE-2024-1234',
      '--cve',
      'CVE-2024-5678',
      '--severity',
      'high',
      '--notes',
      'fixes the BLE pairing bypass',
      '--json',
    ],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  const release = JSON.parse(r.stdout);
  assert.equal(release.state, 'published');
  assert.deepEqual(release.advisory, { cves: ['CVE-2024-1234', 'CVE-2024-5678'], severity: 'high' });
  assert.deepEqual(release.warnings, []);
  const get = await fleetward(['release', 'get', release.id], env);
  assert.match(get.stdout, /fixes CVE-2024-1234, CVE-2024-5678/);

  // Anti-rollback at the source: an equal or lower security version is refused (409 → exit 6).
  const lower = await fleetward(
    ['release', 'create', '--product', 'lock', '--version', '1.2.1', '--security-version', '5', '--file', fw],
    env,
  );
  assert.equal(lower.code, 6);
  assert.match(lower.stderr, /securityVersion must exceed 5/);

  // The agent's TUF client against the server's own routes (with its Range support).
  const client = join(dir, 'agent');
  await pinTrustedRoot(client, await (await fetch(`${server.url}/device/v1/tuf/1.root.json`)).text());
  const got = await fetchVerifiedTarget(
    { metadataUrl: `${server.url}/device/v1/tuf/`, stateDir: client },
    release.targetPath,
    join(dir, 'out'),
  );
  assert.equal(got.custom.securityVersion, 5);
  assert.deepEqual(readFileSync(join(dir, 'out')), readFileSync(fw));
  const ranged = await fetch(`${server.url}/device/v1/tuf/targets/lock/${release.sha256}.lock-1.2.0.fw`, {
    headers: { range: 'bytes=10-19' },
  });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${release.length}`);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), readFileSync(fw).subarray(10, 20));
});

test('cli: a product past its support period warns on release; the fleet view flags it', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const dir = workDir(t);
  writeFileSync(join(dir, 'fw'), 'old product firmware');
  await server.call('POST', '/api/v1/products', {
    token: server.adminToken,
    body: { id: 'cam', name: 'Cam', model: 'C1', manufacturer: 'Acme', supportEnd: '2020-01-31' },
  });
  const r = await fleetward(
    ['release', 'create', '--product', 'cam', '--version', '9', '--security-version', '1', '--file', join(dir, 'fw')],
    env,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: product cam is past its published support period \(ended 2020-01-31\)/);
  const support = await server.call('GET', '/api/v1/support-status', { token: server.adminToken });
  assert.deepEqual(support.body.items, [{ productId: 'cam', supportEnd: '2020-01-31', supportExpired: true }]);
  const ledger = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
  const entry = ledger.body.items.find((e: { action: string }) => e.action === 'release.create');
  assert.match(entry.details.warnings[0], /past its published support period/);
});

test('cli: offline signing — keys generate, delegate, export-unsigned, sign, import-signed', async (t) => {
  const server = await startTestServer(t);
  const dir = workDir(t);
  const env = {
    FLEETWARD_URL: server.url,
    FLEETWARD_TOKEN: server.adminToken,
    FLEETWARD_KEY_PASSPHRASE: 'a long offline passphrase',
  };
  await server.call('POST', '/api/v1/products', {
    token: server.adminToken,
    body: { id: 'gw', name: 'Gateway', model: 'G1', manufacturer: 'Acme', supportEnd: '2099-01-01' },
  });
  const key = join(dir, 'gw.key');
  let r = await fleetward(['keys', 'generate', '--role', 'product', '--product', 'gw', '--out', key], env);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(readFileSync(key, 'utf8'), /PRIVATE KEY/, 'the key file is encrypted');
  r = await fleetward(['keys', 'generate', '--role', 'product', '--product', 'gw', '--out', key], env);
  assert.equal(r.code, 2, 'an existing key is never overwritten');
  r = await fleetward(['tuf', 'delegate', '--product', 'gw', '--key', `${key}.pub.json`], env);
  assert.equal(r.code, 0, r.stderr);
  writeFileSync(join(dir, 'fw'), 'gateway firmware');
  r = await fleetward(
    [
      'release',
      'create',
      '--product',
      'gw',
      '--version',
      '1.0',
      '--security-version',
      '1',
      '--file',
      join(dir, 'fw'),
      '--json',
    ],
    env,
  );
  assert.equal(JSON.parse(r.stdout).state, 'awaiting-signature');
  const draft = join(dir, 'gw.json');
  r = await fleetward(['tuf', 'export-unsigned', 'gw', '--out', draft], env);
  assert.equal(r.code, 0, r.stderr);
  r = await fleetward(['tuf', 'sign', draft, '--key', key], { ...env, FLEETWARD_KEY_PASSPHRASE: 'not the passphrase' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot decrypt the key file/);
  r = await fleetward(['tuf', 'sign', draft, '--key', key], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /target gw\/gw-1.0.fw/, 'the signer sees what they sign');
  r = await fleetward(['tuf', 'import-signed', draft], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /published: gw/);
  r = await fleetward(['release', 'list', '--product', 'gw', '--json'], env);
  assert.equal(JSON.parse(r.stdout)[0].state, 'published');
  r = await fleetward(['tuf', 'status'], env);
  assert.match(r.stdout, /^gw\s+1\s.*false$/m, 'the product role is signed offline, nothing pending');
});
