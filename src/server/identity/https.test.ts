import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import { enrollDevice } from '../../agent/enroll.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { parseServeConfig } from '../config.ts';
import { startServer } from '../main.ts';
import { freshDatabase } from '../testing/test-stores.ts';

async function startTls(t: TestContext) {
  const { url, dataDir } = await freshDatabase(t, 'sqlite');
  // Through the real flag parser: --tls and --public-host as an operator would type them.
  const config = parseServeConfig(
    [
      '--port',
      '0',
      '--mqtt-port',
      '0',
      '--tls',
      '--public-host',
      'fleetward.test',
      '--data',
      dataDir,
      '--log-level',
      'silent',
    ],
    { FLEETWARD_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), FLEETWARD_DATABASE_URL: url },
  );
  assert.equal(config.tls, true);
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  t.after(() => server.close());
  return server;
}

function opensslProbe(port: number, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, ...args],
      { timeout: 10_000 },
      (_err, stdout, stderr) => resolve(stdout + stderr),
    );
    child.stdin?.end();
  });
}

test('--tls: the API speaks HTTPS with a certificate from our CA; a device pinning the CA enrolls over it', async (t) => {
  const server = await startTls(t);
  assert.match(server.url, /^https:\/\//);
  await server.services.registry.createProduct(
    { id: 'lock', name: 'Lock', model: 'L', manufacturer: 'Acme', description: '', supportEnd: '2031-01-01' },
    { actor: 'system', source: null },
  );
  const [tok, tok2] = await server.services.identity.createEnrollmentTokens(
    { productId: 'lock', count: 2 },
    { actor: 'system', source: null },
  );
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-https-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = new URL(server.url).port;
  const pinned = await enrollDevice({
    server: `https://localhost:${port}`,
    token: tok!.token,
    deviceId: 'lock-1',
    outDir: dir,
    caPem: server.caCertificate,
  });
  assert.equal(pinned.deviceId, 'lock-1');
  // Without the pinned CA the device does not trust the server (and sends it nothing).
  await assert.rejects(
    enrollDevice({ server: `https://localhost:${port}`, token: tok2!.token, deviceId: 'lock-2', outDir: dir }),
    (err) => isFleetwardError(err, 'AGENT_ENROLL_FAILED'),
  );
  const text = await opensslProbe(Number(port), [
    '-CAfile',
    join(dir, 'ca.pem'),
    '-verify_return_error',
    '-servername',
    'fleetward.test',
  ]);
  assert.match(text, /Verify return code: 0 \(ok\)/, 'the SAN carries --public-host');
});

test('--tls: TLS 1.1 and older are refused on the API and the broker', async (t) => {
  const server = await startTls(t);
  for (const port of [Number(new URL(server.url).port), server.mqtt.port]) {
    const text = await opensslProbe(port, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
    assert.match(
      text,
      /alert protocol version|unsupported protocol|no protocols available|wrong version number/i,
      text,
    );
    assert.match(text, /Cipher is \(NONE\)/, 'no session was established');
  }
});
