import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import pino from 'pino';
import type { Report } from '../protocol/report.ts';
import { parseServeConfig } from '../server/config.ts';
import { type RunningServer, startServer } from '../server/main.ts';
import { enrollTestDevice, eventually } from '../server/testing/mqtt-clients.ts';
import { startTestServer } from '../server/testing/test-server.ts';
import { runCli } from './main.ts';
import { FLEETWARD_BIN } from './testing/run-fleetward.ts';

/** The real agent: `fleetward agent run` in its own Node 24 process, reading this machine's /proc. */
function startAgent(t: TestContext, dir: string, brokerPort: number): { child: ChildProcess; log: string[] } {
  const child = spawn(
    process.execPath,
    [
      FLEETWARD_BIN,
      'agent',
      'run',
      '--dir',
      dir,
      '--broker',
      `127.0.0.1:${brokerPort}`,
      '--interval',
      '5',
      '--reconnect-max',
      '2',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log: string[] = [];
  child.stdout!.on('data', (d: Buffer) => log.push(...String(d).trim().split('\n')));
  child.stderr!.on('data', (d: Buffer) => log.push(`stderr: ${d}`));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
  return { child, log };
}

async function storedReports(server: RunningServer, deviceId: string): Promise<Report[]> {
  const out: Report[] = [];
  let after: number | undefined;
  for (;;) {
    const page = await server.services.telemetry.listReports(deviceId, { after, limit: 1000 });
    out.push(...page.items.map((i) => i.report));
    if (!page.next) return out;
    after = Number(page.next);
  }
}

test('done when: the real agent reports a TCP port opened after it started, in the next report the server stores', async (t) => {
  const server = await startTestServer(t);
  const device = await enrollTestDevice(t, server, 'agent-e2e-1');
  const { log } = startAgent(t, device.dir, server.mqtt.port);
  await eventually(async () => (await storedReports(server, device.deviceId)).length >= 1, 30_000).catch((e) => {
    throw new Error(`${e.message}; agent said:\n${log.join('\n')}`);
  });
  const listener: Server = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.after(() => listener.close());
  const port = (listener.address() as { port: number }).port;
  const openedAt = Date.now();
  // The first report made after the listener opened (device time), whenever it is stored.
  const next = await eventually(
    async () => (await storedReports(server, device.deviceId)).find((r) => r.at > openedAt),
    30_000,
  );
  assert.ok(
    next.listening.some((l) => l.proto === 'tcp' && l.port === port && l.addr === '127.0.0.1'),
    `tcp/${port} in ${JSON.stringify(next.listening)}`,
  );
  const stored = await storedReports(server, device.deviceId);
  assert.ok(stored.every((r) => !r.listening.some((l) => l.port === port) || r.at > openedAt - 1000));
  assert.equal(stored[0]!.firmware.length > 0, true);
});

test('done when: the server stops for a while and restarts on the same data and broker port — no report lost, none doubled', async (t) => {
  const first = await startTestServer(t);
  const device = await enrollTestDevice(t, first, 'agent-e2e-2');
  const brokerPort = first.mqtt.port;
  const { child, log } = startAgent(t, device.dir, brokerPort);
  await eventually(async () => (await storedReports(first, device.deviceId)).length >= 1, 30_000).catch((e) => {
    throw new Error(`${e.message}; agent said:\n${log.join('\n')}`);
  });
  await first.close();
  // While the server is down the agent keeps reporting into its disk queue: wait for two queued reports.
  const queueDir = join(device.dir, 'queue');
  const queued = () => readdirSync(queueDir).filter((f) => f.endsWith('.rep'));
  await eventually(() => queued().length >= 2, 30_000);
  const config = parseServeConfig(
    ['--data', first.dataDir, '--port', '0', '--mqtt-port', String(brokerPort), '--log-level', 'silent'],
    {},
  );
  const second = await startServer(config, { logger: pino({ level: 'silent' }) });
  t.after(() => second.close());
  await eventually(() => queued().length === 0, 30_000).catch((e) => {
    throw new Error(`${e.message}; agent said:\n${log.slice(-20).join('\n')}`);
  });
  child.kill('SIGTERM');
  await once(child, 'exit');
  assert.equal(child.exitCode, 0, log.slice(-5).join('\n'));
  const lastSeq = (JSON.parse(readFileSync(join(device.dir, 'agent-state.json'), 'utf8')) as { seq: number }).seq;
  const left = queued().map((f) => Number(f.slice(0, 16)));
  const stored = (await storedReports(second, device.deviceId)).map((r) => r.seq).sort((a, b) => a - b);
  const expected = Array.from({ length: lastSeq }, (_, i) => i + 1).filter((s) => !left.includes(s));
  assert.ok(lastSeq >= 3, `reports made: ${lastSeq}`);
  assert.deepEqual(stored, expected, 'every report the agent made is stored exactly once');
  assert.ok(log.some((l) => l.includes('"disconnected"')) && log.filter((l) => l.includes('"connected"')).length >= 2);
});

test('fleetward agent run: bad flags are usage errors (2), a directory without an identity is exit 9', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-agent-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const err: string[] = [];
  const io = { out: () => {}, err: (s: string) => err.push(s), env: {} };
  assert.equal(await runCli(['agent', 'run'], io), 2);
  assert.equal(await runCli(['agent', 'run', '--dir', dir, '--reconnect-max', '0'], io), 2);
  assert.equal(await runCli(['agent', 'run', '--dir', dir, '--broker', '127.0.0.1:1', '--interval', '2'], io), 9);
  assert.match(err.at(-1)!, /--interval must be whole seconds from 5/);
  assert.equal(await runCli(['agent', 'run', '--dir', dir, '--broker', '127.0.0.1:1'], io), 9);
  assert.match(err.at(-1)!, /no enrolled identity/);
  assert.equal(await runCli(['agent', 'reboot-marker', '--dir', dir, '--reason', 'gremlins'], io), 2);
  assert.equal(await runCli(['agent', 'reboot-marker', '--dir', dir, '--reason', 'firmware-update'], io), 0);
});
