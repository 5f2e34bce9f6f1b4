import { join } from 'node:path';
import type { AuthLogCursor } from './collect/auth-log.ts';
import type { NetCounters } from './collect/net-dev.ts';
import { readJsonFile, writeFileDurable } from './state-file.ts';

/**
 * What the agent remembers between runs, in `DIR/agent-state.json`: the last seq (report ids are
 * never reused), the boot it last ran in (a different one means a reset), the counters the next deltas
 * start from, and where the auth log was read to. Written durably after each report is queued.
 */
export interface AgentState {
  seq: number;
  bootId: string | null;
  /** Counters at the previous report, in `bootId`. */
  counters: NetCounters | null;
  /** Device time of the previous report, epoch ms. */
  lastAt: number | null;
  authCursor: AuthLogCursor | null;
}

export const STATE_FILE = 'agent-state.json';

const EMPTY: AgentState = { seq: 0, bootId: null, counters: null, lastAt: null, authCursor: null };

/** A missing or unreadable state file starts fresh (the queue still guards seq against reuse). */
export async function loadState(dir: string): Promise<AgentState> {
  const raw = (await readJsonFile(join(dir, STATE_FILE))) as Partial<AgentState> | null;
  if (!raw || typeof raw !== 'object') return { ...EMPTY };
  const num = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : null);
  const counters = raw.counters;
  const validCounters =
    counters &&
    ['bytesIn', 'bytesOut', 'packetsIn', 'packetsOut'].every((k) => num(counters[k as keyof NetCounters]) !== null);
  const cursor = raw.authCursor;
  return {
    seq: num(raw.seq) ?? 0,
    bootId: typeof raw.bootId === 'string' ? raw.bootId : null,
    counters: validCounters ? counters : null,
    lastAt: num(raw.lastAt),
    authCursor: cursor && num(cursor.ino) !== null && num(cursor.offset) !== null ? cursor : null,
  };
}

export async function saveState(dir: string, state: AgentState): Promise<void> {
  await writeFileDurable(join(dir, STATE_FILE), JSON.stringify(state));
}
