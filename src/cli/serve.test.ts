import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { freshDatabase, postgresUnavailable } from '../server/testing/test-stores.ts';
import { FLEETWARD_BIN } from './testing/run-fleetward.ts';

/** Starts the real `fleetward serve` and resolves once it logs its address. */
async function serve(t: TestContext, args: string[], env: Record<string, string> = {}) {
  // --mqtt-port 0 too: tests run in parallel and never bind fixed ports (the broker's default is 8883).
  const child = spawn(process.execPath, [FLEETWARD_BIN, 'serve', '--port', '0', '--mqtt-port', '0', ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const logs: Array<Record<string, unknown>> = [];
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'fleetward serving') resolve(entry.address as string);
    });
    child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${stderr}`)));
  });
  return { child, url, logs, stderr: () => stderr };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  child.kill(signal);
  const [code] = await once(child, 'exit');
  return code as number | null;
}

test('serve: starts on embedded SQLite, prints a one-time bootstrap token, stops cleanly on SIGTERM', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'fleetward-serve-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const s = await serve(t, ['--data', data]);
  assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
  const token = /--bootstrap-token (fwb_\S+)/.exec(s.stderr())?.[1];
  assert.ok(token, `bootstrap token printed: ${s.stderr()}`);
  assert.ok(!s.logs.some((l) => JSON.stringify(l).includes(token)), 'the token is never in the log');
  const boot = await fetch(`${s.url}/api/v1/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ bootstrapToken: token, name: 'admin' }),
  });
  assert.equal(boot.status, 201);
  assert.equal(await stop(s.child, 'SIGTERM'), 0);
  // A clean close checkpoints the WAL into the database file.
  assert.equal(existsSync(join(data, 'fleetward.db-wal')), false, 'WAL checkpointed on close');

  const again = await serve(t, ['--data', data]);
  assert.doesNotMatch(again.stderr(), /bootstrap-token/, 'no bootstrap once an operator exists');
  assert.equal(await stop(again.child, 'SIGINT'), 0);
});

test('serve: a bad setting is one readable line and exit 9', async (t) => {
  const child = spawn(process.execPath, [FLEETWARD_BIN, 'serve', '--port', 'eighty'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'exit');
  assert.equal(code, 9);
  assert.equal(stderr.trim(), 'fleetward: --port must be a whole number from 0 to 65535');
});

test('serve: runs on PostgreSQL with --database', async (t) => {
  const why = await postgresUnavailable();
  if (why) return t.skip(why);
  const { url, dataDir } = await freshDatabase(t, 'postgres');
  const s = await serve(t, ['--data', dataDir, '--database', url], {
    FLEETWARD_BOOTSTRAP_TOKEN: 'automation-token-0123',
  });
  assert.deepEqual(await (await fetch(`${s.url}/readyz`)).json(), { status: 'ready' });
  assert.ok(s.logs.some((l) => l.database === 'postgres'));
  const boot = await fetch(`${s.url}/api/v1/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ bootstrapToken: 'automation-token-0123', name: 'ci' }),
  });
  assert.equal(boot.status, 201);
  assert.equal(await stop(s.child, 'SIGTERM'), 0);
});

test('serve: SIGTERM lets an in-flight request finish before the process exits', async (t) => {
  const data = mkdtempSync(join(tmpdir(), 'fleetward-serve-'));
  t.after(() => rmSync(data, { recursive: true, force: true }));
  const s = await serve(t, ['--data', data], { FLEETWARD_BOOTSTRAP_TOKEN: 'graceful-shutdown-test-token' });
  const boot = await fetch(`${s.url}/api/v1/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ bootstrapToken: 'graceful-shutdown-test-token', name: 'admin' }),
  });
  const token = ((await boot.json()) as { token: { token: string } }).token.token;
  // An upload whose body we hold back: the request is in flight until we end the stream.
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => (push = c) });
  push.enqueue(new Uint8Array(4096));
  const response = fetch(`${s.url}/api/v1/firmware/analyses?name=slow.bin`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit);
  // Wait (bounded) until the server is writing the upload to its work directory.
  const deadline = Date.now() + 10_000;
  const staged = () => existsSync(join(data, 'work')) && readdirSync(join(data, 'work')).length > 0;
  while (!staged()) {
    assert.ok(Date.now() < deadline, 'upload never reached the server');
    await new Promise((r) => setImmediate(r));
  }
  const exited = once(s.child, 'exit');
  s.child.kill('SIGTERM');
  push.enqueue(new TextEncoder().encode('BusyBox v1.31.1 ('));
  push.close();
  const res = await response;
  assert.equal(res.status, 201, 'the in-flight request completed');
  const [code] = await exited;
  assert.equal(code, 0);
});
