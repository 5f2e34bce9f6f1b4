import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampleReport } from '../protocol/testing/sample-report.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { parseSince } from './device-reports.ts';
import { runCli } from './main.ts';

test('--since: epoch ms, ISO time, or an age', () => {
  const now = Date.UTC(2026, 0, 2);
  assert.equal(parseSince('1700000000000', now), 1_700_000_000_000);
  assert.equal(parseSince('2026-01-01T00:00:00Z', now), Date.UTC(2026, 0, 1));
  assert.equal(parseSince('2h', now), now - 7_200_000);
  assert.equal(parseSince('1d', now), Date.UTC(2026, 0, 1));
  assert.throws(() => parseSince('yesterday-ish', now), { code: 'CLI_USAGE' });
});

test('fleetward device reports: table, --json, --all; unknown device exits 5', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const out: string[] = [];
  const err: string[] = [];
  const cli = (argv: string[]) => {
    out.length = 0;
    err.length = 0;
    return runCli(argv, { out: (s) => out.push(s), err: (s) => err.push(s), env });
  };
  assert.equal(
    await cli([
      'product',
      'create',
      'cam',
      '--name',
      'Cam',
      '--model',
      'C',
      '--manufacturer',
      'A',
      '--support-end',
      '2031-01-01',
    ]),
    0,
  );
  assert.equal(await cli(['device', 'create', 'cam-1', '--product', 'cam', '--serial', 'S1']), 0);
  for (let seq = 1; seq <= 3; seq++) {
    const payload = JSON.stringify(sampleReport({ seq, listening: [{ proto: 'tcp', port: 23, addr: '0.0.0.0' }] }));
    await server.services.telemetry.ingest({ deviceId: 'cam-1', payload, receivedAt: Date.now() });
  }
  assert.equal(await cli(['device', 'reports', 'cam-1']), 0, err.join('\n'));
  assert.match(out.join('\n'), /tcp\/23/);
  assert.equal(await cli(['device', 'reports', 'cam-1', '--limit', '2', '--all', '--since', '1h', '--json']), 0);
  assert.deepEqual(
    JSON.parse(out.join('\n')).map((r: { report: { seq: number } }) => r.report.seq),
    [1, 2, 3],
  );
  assert.equal(await cli(['device', 'reports', 'nope']), 5);
  assert.equal(await cli(['device', 'reports', 'cam-1', '--since', 'soon']), 2);
});
