import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { systemClock } from '../protocol/clock.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { REAL_PROC } from './collect/proc-files.ts';
import { TestBroker } from './testing/test-broker.ts';
import { makeTestPki, type TestPki } from './testing/test-pki.ts';

function setup(t: { after: (fn: () => unknown) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'fw-agent-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const pki = makeTestPki(join(root, 'pki'));
  return { root, pki };
}

function agentFor(pki: TestPki, dir: string, deviceId: string, port: number, over: Partial<AgentOptions> = {}) {
  pki.issueDevice(deviceId, dir);
  const logs: string[] = [];
  const agent = new Agent({
    dir,
    intervalMs: 60_000,
    broker: { host: '127.0.0.1', port },
    proc: REAL_PROC,
    authLog: null,
    firmware: '1.0.0',
    agentVersion: 'test',
    clock: systemClock,
    random: () => 0.5,
    backoff: { baseMs: 50, capMs: 400 },
    publishTimeoutMs: 2_000,
    connectTimeoutMs: 2_000,
    log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`),
    actions: {
      rotateCredentials: async () => ({ status: 'ok' }),
      quarantineNotice: async () => ({ status: 'ok' }),
      update: async () => ({ status: 'failed', code: 'UPDATE_UNAVAILABLE' }),
    },
    ...over,
  });
  return { agent, logs };
}

const seqs = (b: TestBroker) => b.received.map((r) => r.seq);
const unique = (xs: number[]) => [...new Set(xs)];

test('agent: reports reach the broker; a port opened now is in the next report', async (t) => {
  const { root, pki } = setup(t);
  const broker = await TestBroker.start(pki);
  t.after(() => broker.close());
  const { agent } = agentFor(pki, join(root, 'dev'), 'dev-1', broker.port);
  await agent.start();
  t.after(() => agent.stop());
  await broker.waitFor(() => broker.received.length >= 1, 20_000, 'first report');
  const listener: Server = createTcpServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.after(() => listener.close());
  const port = (listener.address() as { port: number }).port;
  await agent.report();
  await broker.waitFor(() => broker.received.length >= 2, 20_000, 'second report');
  const listening = broker.received[1]!.body.listening as Array<{ port: number }>;
  assert.ok(
    listening.some((l) => l.port === port),
    `port ${port} reported`,
  );
  assert.equal(broker.received[0]!.deviceId, 'dev-1');
});

test('agent: offline reports queue on disk and arrive in order, none lost or doubled, across agent and broker restarts', async (t) => {
  const { root, pki } = setup(t);
  // A free port nobody listens on yet: the broker is "down".
  const probe = await TestBroker.start(pki);
  const port = probe.port;
  await probe.close();
  const dir = join(root, 'dev');
  const first = agentFor(pki, dir, 'dev-2', port);
  await first.agent.start();
  for (let i = 0; i < 4; i++) await first.agent.report();
  await first.agent.stop(); // the agent restarts while still offline
  const second = agentFor(pki, dir, 'dev-2', port);
  await second.agent.start();
  t.after(() => second.agent.stop());
  await second.agent.report();
  const broker = await TestBroker.start(pki, port);
  await broker.waitFor(() => unique(seqs(broker)).length >= 7, 20_000, '7 reports');
  assert.deepEqual(unique(seqs(broker)), [1, 2, 3, 4, 5, 6, 7], 'in order, from both runs');
  assert.deepEqual(seqs(broker), unique(seqs(broker)), 'nothing sent twice when every PUBACK arrived');
  // Broker restart: reports made while it is down follow once it is back.
  await broker.close();
  await second.agent.report();
  await second.agent.report();
  const again = await TestBroker.start(pki, port);
  t.after(() => again.close());
  await again.waitFor(() => again.received.length >= 2, 20_000, 'reports after restart');
  assert.deepEqual(seqs(again), [8, 9]);
});

test('agent: a slow server (no PUBACK) costs a reconnect and a re-send, never a loss', async (t) => {
  const { root, pki } = setup(t);
  const broker = await TestBroker.start(pki);
  t.after(() => broker.close());
  broker.holdAcks = true;
  const { agent, logs } = agentFor(pki, join(root, 'dev'), 'dev-3', broker.port, { publishTimeoutMs: 300 });
  await agent.start();
  t.after(() => agent.stop());
  await broker.waitFor(() => broker.received.length >= 2, 20_000, 'a re-send');
  assert.deepEqual(unique(seqs(broker)), [1], 'the same report again, the next one waits its turn');
  broker.holdAcks = false;
  await agent.report();
  await broker.waitFor(() => seqs(broker).includes(2), 20_000, 'report 2');
  assert.ok(logs.some((l) => l.includes('publish failed')));
});

test('agent: a server answering garbage does not crash it; it backs off and delivers once a broker is there', async (t) => {
  const { root, pki } = setup(t);
  let connections = 0;
  const garbage = createTlsServer({ key: pki.serverKeyPem, cert: pki.serverCertPem }, (s) => {
    connections++;
    s.on('error', () => {});
    s.resume(); // read, so the server notices the agent hanging up
    s.end(Buffer.from([0x20, 0x02, 0xff, 0xff, 0x00, 0x13, 0x37]));
  });
  garbage.listen(0, '127.0.0.1');
  await once(garbage, 'listening');
  const port = (garbage.address() as { port: number }).port;
  const { agent, logs } = agentFor(pki, join(root, 'dev'), 'dev-4', port);
  await agent.start();
  t.after(() => agent.stop());
  const deadline = Date.now() + 15_000;
  while (connections < 3 && Date.now() < deadline) await new Promise((r) => garbage.once('secureConnection', r));
  assert.ok(connections >= 3, 'it kept trying');
  assert.ok(logs.some((l) => l.includes('broker unavailable')));
  await new Promise<void>((r) => garbage.close(() => r()));
  const broker = await TestBroker.start(pki, port);
  t.after(() => broker.close());
  await broker.waitFor(() => broker.received.length >= 1, 20_000, 'delivery after garbage');
  assert.equal(broker.received[0]!.seq, 1);
});

test('agent: commands — report-now, unknown type, expired, duplicate delivery — each answered once', async (t) => {
  const { root, pki } = setup(t);
  const broker = await TestBroker.start(pki);
  t.after(() => broker.close());
  let quarantined = '';
  const { agent } = agentFor(pki, join(root, 'dev'), 'dev-5', broker.port, {
    actions: {
      rotateCredentials: async () => ({ status: 'failed', code: 'AGENT_ENROLL_FAILED' }),
      quarantineNotice: async (state, reason) => {
        quarantined = `${state}:${reason}`;
        return { status: 'ok' };
      },
      update: async () => ({ status: 'failed', code: 'UPDATE_UNAVAILABLE' }),
    },
  });
  await agent.start();
  t.after(() => agent.stop());
  await broker.waitFor(() => broker.received.length >= 1, 20_000, 'connected');
  const now = Date.now();
  // The first report was just made: report-now within 5 s is refused (rate limit against command floods).
  await broker.sendCommand('dev-5', { v: 1, id: 'c1', issuedAt: now, type: 'report-now' });
  await broker.sendCommand('dev-5', { v: 1, id: 'c2', issuedAt: now, type: 'self-destruct' });
  await broker.sendCommand('dev-5', { v: 1, id: 'c3', issuedAt: 0, expiresAt: 1, type: 'report-now' });
  const q = { v: 1, id: 'c4', issuedAt: now, type: 'quarantine-notice', state: 'quarantined', reason: 'scan' };
  await broker.sendCommand('dev-5', q);
  await broker.sendCommand('dev-5', q);
  await broker.waitFor(() => broker.results.length >= 4, 20_000, 'four results');
  const byId = Object.fromEntries(broker.results.map((r) => [r.id, r.status]));
  assert.deepEqual(byId, { c1: 'rejected', c2: 'unsupported', c3: 'expired', c4: 'ok' });
  assert.equal(quarantined, 'quarantined:scan');
  assert.equal(broker.results.filter((r) => r.id === 'c4').length, 1, 'a duplicate delivery is acted on once');
});
