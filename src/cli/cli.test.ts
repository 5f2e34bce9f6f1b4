import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { startTestServer } from '../server/testing/test-server.ts';
import { fleetward } from './testing/run-fleetward.ts';

/** Runs the real `fleetward` binary (Node 24 via process.execPath) and returns its exit code and output. */

test('cli: products and devices through the API, --json for scripts, tables for people', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const p = await fleetward(
    [
      'product',
      'create',
      'lock',
      '--name',
      'Smart Lock',
      '--model',
      'SL-1',
      '--manufacturer',
      'Acme',
      '--support-end',
      '2031-06-30',
      '--json',
    ],
    env,
  );
  assert.equal(p.code, 0, p.stderr);
  assert.equal(JSON.parse(p.stdout).supportEnd, '2031-06-30');
  for (const id of ['lock-1', 'lock-2', 'lock-3']) {
    const d = await fleetward(
      ['device', 'create', id, '--product', 'lock', '--serial', `S-${id}`, '--tag', 'site:a'],
      env,
    );
    assert.equal(d.code, 0, d.stderr);
  }
  const list = await fleetward(['device', 'list', '--json', '--tag', 'site:a'], env);
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(
    JSON.parse(list.stdout).items.map((d: { id: string }) => d.id),
    ['lock-1', 'lock-2', 'lock-3'],
  );
  const all = await fleetward(['device', 'list', '--all', '--limit', '2', '--json'], env);
  assert.equal(JSON.parse(all.stdout).length, 3, 'follows every page');
  const table = await fleetward(['device', 'list'], env);
  assert.match(table.stdout.split('\n')[0]!, /^ID\s+PRODUCTID\s+SERIAL\s+STATUS/);
  const flags = await fleetward(['--server', server.url, '--token', server.adminToken, 'product', 'get', 'lock']);
  assert.equal(flags.code, 0, 'global flags work in place of the environment');
});

test('cli: exit codes mean something and errors are one readable line', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const cases: Array<[string[], Record<string, string>, number, RegExp]> = [
    [['device', 'get', 'nope'], env, 5, /no such device/],
    [['device', 'list', '--colour'], env, 2, /Unknown option '--colour'/],
    [['frobnicate'], env, 2, /unknown command 'frobnicate'/],
    [
      ['product', 'create', 'x', '--name', 'n', '--model', 'm', '--manufacturer', 'a', '--support-end', 'soon'],
      env,
      9,
      /supportEnd/,
    ],
    [['device', 'list'], { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: 'fwt_nope' }, 3, /unauthorized/],
    [['device', 'list'], { FLEETWARD_URL: server.url }, 3, /no API token/],
    [['device', 'list'], { FLEETWARD_URL: 'http://127.0.0.1:9', FLEETWARD_TOKEN: 'x' }, 7, /cannot reach/],
  ];
  for (const [args, e, code, message] of cases) {
    const r = await fleetward(args, e);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const auditor = await server.tokenFor('auditor');
  const forbidden = await fleetward(['operator', 'list'], { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: auditor });
  assert.equal(forbidden.code, 4);
});

test('cli: ledger verify names the entry edited behind the server’s back', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  for (const id of ['a', 'b', 'c']) {
    await fleetward(
      ['product', 'create', id, '--name', id, '--model', id, '--manufacturer', 'Acme', '--support-end', '2030-01-01'],
      env,
    );
  }
  const ok = await fleetward(['ledger', 'verify'], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ledger intact: 4 entries verified/);
  await sql`update ledger set actor = 'operator:someone-else' where seq = 3`.execute(server.services.store.db);
  const bad = await fleetward(['ledger', 'verify'], env);
  assert.equal(bad.code, 8);
  assert.equal(bad.stderr.trim(), 'fleetward: ledger broken: entry 3 was altered (2 entries verified before it)');
  const json = await fleetward(['ledger', 'verify', '--json'], env);
  assert.equal(json.code, 8);
  assert.deepEqual(JSON.parse(json.stdout).firstBad, { seq: 3, problem: 'altered' });
});

test('cli: the first admin via the bootstrap token, then operators with roles', async (t) => {
  const server = await startTestServer(t);
  const env = { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: server.adminToken };
  const created = await fleetward(['operator', 'create', 'carol', '--role', 'auditor', '--with-token', '--json'], env);
  assert.equal(created.code, 0, created.stderr);
  const { token } = JSON.parse(created.stdout);
  const who = await fleetward(['ledger', 'list', '--json', '--limit', '2'], {
    FLEETWARD_URL: server.url,
    FLEETWARD_TOKEN: token.token,
  });
  assert.equal(who.code, 0, 'an auditor reads the ledger');
  assert.deepEqual(
    JSON.parse(who.stdout).map((e: { action: string }) => e.action),
    ['token.create', 'operator.create'],
  );
  const write = await fleetward(['device', 'delete', 'x'], { FLEETWARD_URL: server.url, FLEETWARD_TOKEN: token.token });
  assert.equal(write.code, 4, 'but may not change anything');
});
