import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseReport } from '../protocol/report.ts';
import type { AgentState } from './agent-state.ts';
import { buildReport } from './report-builder.ts';

const DEV = (rx: number, tx: number) =>
  `Inter-| Receive | Transmit\n face |bytes packets|bytes packets\n  eth0: ${rx} 10 0 0 0 0 0 0 ${tx} 5 0 0 0 0 0 0\n`;

function fixture(t: { after: (fn: () => void) => void }) {
  const root = mkdtempSync(join(tmpdir(), 'fw-build-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'net'));
  mkdirSync(join(root, 'sys/kernel/random'), { recursive: true });
  const set = (boot: string, rx: number, tx: number) => {
    writeFileSync(join(root, 'sys/kernel/random/boot_id'), `${boot}\n`);
    writeFileSync(join(root, 'uptime'), '120.5 100.0\n');
    writeFileSync(join(root, 'net/dev'), DEV(rx, tx));
    writeFileSync(join(root, 'net/tcp'), 'header\n 0: 00000000:0017 00000000:0000 0A 0\n');
  };
  return { root, set };
}

const EMPTY: AgentState = { seq: 0, bootId: null, counters: null, lastAt: null, authCursor: null };
const input = (root: string, state: AgentState, seq: number, now: number, authLog: string | null = null) => ({
  proc: { root },
  authLog,
  firmware: '1.0',
  agentVersion: 'test',
  now,
  seq,
  state,
  resets: [],
  meta: { queued: 0, dropped: 0, corrupt: 0 },
});

test('deltas: zero on the very first run, since the last report within a boot, since boot after a reset', async (t) => {
  const { root, set } = fixture(t);
  set('boot-a', 1_000_000, 500_000);
  const r1 = await buildReport(input(root, EMPTY, 1, 1_000));
  assert.deepEqual([r1.report.traffic.bytesIn, r1.report.traffic.bytesOut], [0, 0], 'no baseline yet: no spike');
  set('boot-a', 1_000_700, 500_300);
  const r2 = await buildReport(input(root, r1.state, 2, 301_000));
  assert.deepEqual([r2.report.traffic.bytesIn, r2.report.traffic.bytesOut], [700, 300]);
  assert.equal(r2.report.span, 300_000);
  set('boot-b', 900, 400);
  const r3 = await buildReport({ ...input(root, r2.state, 3, 601_000), resets: ['unknown', 'unknown'] });
  assert.deepEqual([r3.report.traffic.bytesIn, r3.report.traffic.bytesOut], [900, 400], 'counted since the new boot');
  assert.equal(r3.report.boot, 'boot-b');
  assert.deepEqual(r3.report.resets, [{ reason: 'unknown', count: 2 }]);
  assert.deepEqual(r3.report.listening, [{ proto: 'tcp', port: 23, addr: '0.0.0.0' }]);
  for (const r of [r1, r2, r3]) parseReport(r.report);
});

test('an unreadable collector is counted, not fatal; auth failures are counted from the log', async (t) => {
  const { root, set } = fixture(t);
  set('boot-a', 10, 10);
  rmSync(join(root, 'net/dev'));
  const log = join(root, 'auth.log');
  writeFileSync(log, '');
  const r1 = await buildReport(input(root, EMPTY, 1, 1_000, log));
  assert.equal(r1.report.custom['agent.collect_errors'], 1);
  appendFileSync(log, 'sshd[1]: Failed password for root from 198.51.100.1 port 1 ssh2\n'.repeat(3));
  const r2 = await buildReport(input(root, r1.state, 2, 2_000, log));
  assert.equal(r2.report.authFailures, 3);
  parseReport(r2.report);
});
