import { isExpectedReset, REPORT_LIMITS, REPORT_VERSION, type Report, type ResetReason } from '../protocol/report.ts';
import type { AgentState } from './agent-state.ts';
import { readAuthFailures } from './collect/auth-log.ts';
import { deltaCounters, type NetCounters, readNetDev } from './collect/net-dev.ts';
import type { ProcSource } from './collect/proc-files.ts';
import { readSockets, type SocketView } from './collect/sockets.ts';
import { readBootId, readUptime } from './collect/system.ts';

export interface BuildInput {
  proc: ProcSource;
  /** Auth log to count failed logins in; null: not collected (reported as 0). */
  authLog: string | null;
  firmware: string;
  agentVersion: string;
  /** Device time now, epoch ms. */
  now: number;
  seq: number;
  state: AgentState;
  /** Resets seen since the previous report (from the reboot marker at start-up). */
  resets: ResetReason[];
  meta: NonNullable<Report['meta']>;
}

const ZERO: NetCounters = { bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0 };

/**
 * Reads the system and composes one report, plus the state the next report starts from. A collector
 * that fails contributes an empty value and is counted in `custom['agent.collect_errors']`: one
 * unreadable file never stops reporting.
 */
export async function buildReport(input: BuildInput): Promise<{ report: Report; state: AgentState }> {
  let errors = 0;
  const safe = async <T>(fn: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await fn();
    } catch {
      errors++;
      return fallback;
    }
  };
  const { state } = input;
  const bootId = await safe(() => readBootId(input.proc), 'unknown');
  const uptime = await safe(() => readUptime(input.proc), 0);
  const counters = await safe(() => readNetDev(input.proc), null);
  const sockets = await safe<SocketView>(() => readSockets(input.proc), { listening: [], connections: [] });
  const auth = input.authLog
    ? await safe(() => readAuthFailures(input.authLog!, state.authCursor), { failures: 0, cursor: state.authCursor })
    : { failures: 0, cursor: null };
  // Same boot: delta from the last report. New boot: the kernel counters started at zero. First run
  // ever: no baseline, so zero rather than all traffic since boot as one misleading spike.
  const base = state.bootId === bootId ? state.counters : state.bootId === null ? counters : ZERO;
  const traffic = counters ? deltaCounters(base, counters) : ZERO;
  const report: Report = {
    v: REPORT_VERSION,
    boot: bootId,
    seq: input.seq,
    at: input.now,
    span: state.lastAt !== null && state.bootId === bootId ? Math.max(0, input.now - state.lastAt) : uptime * 1000,
    uptime,
    firmware: input.firmware,
    agent: input.agentVersion,
    traffic,
    ...boundSockets(sockets),
    resets: groupResets(input.resets),
    authFailures: auth.failures,
    custom: errors > 0 ? { 'agent.collect_errors': errors } : {},
    meta: input.meta,
  };
  const next: AgentState = {
    seq: input.seq,
    bootId,
    counters: counters ?? state.counters,
    lastAt: input.now,
    authCursor: auth.cursor,
  };
  return { report, state: next };
}

/** Lists capped at the limits; the totals keep counting past them (a scan of 5,000 hosts still shows). */
function boundSockets(s: SocketView): Pick<Report, 'listening' | 'connections' | 'totals'> {
  const remotes = new Set(s.connections.map((c) => c.addr));
  // Outbound connections to distinct remotes first, so a truncated list still names many endpoints.
  const firstPerRemote = new Map<string, SocketView['connections'][number]>();
  for (const c of s.connections) if (!firstPerRemote.has(c.addr)) firstPerRemote.set(c.addr, c);
  const rest = s.connections.filter((c) => firstPerRemote.get(c.addr) !== c);
  return {
    listening: s.listening.slice(0, REPORT_LIMITS.listening),
    connections: [...firstPerRemote.values(), ...rest].slice(0, REPORT_LIMITS.connections),
    totals: { connections: s.connections.length, remotes: remotes.size },
  };
}

function groupResets(resets: ResetReason[]): Report['resets'] {
  const counts = new Map<ResetReason, number>();
  for (const r of resets) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => {
      // Unexpected first: if anything is cut, it is not the crashes.
      return Number(isExpectedReset(a.reason)) - Number(isExpectedReset(b.reason));
    });
}
