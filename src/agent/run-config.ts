import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MIN_INTERVAL_MS } from './agent.ts';
import { agentError } from './errors.ts';
import { readJsonFile, writeFileDurable } from './state-file.ts';

/** Where the agent connects and enrolls, remembered in `DIR/agent.json` so later runs need only `--dir`. */
export interface AgentEndpoints {
  broker: { host: string; port: number };
  /** The API base URL, for credential rotation (enrollment with a rotation token). */
  server: string | null;
}

export const ENDPOINTS_FILE = 'agent.json';
export const DEFAULT_INTERVAL_S = 300;

/** `HOST:PORT` or `[v6]:PORT`. Throws AGENT_CONFIG_INVALID. */
export function parseBroker(text: string): { host: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : 0;
  if (!m || port < 1 || port > 65535) throw agentError('AGENT_CONFIG_INVALID', '--broker must be HOST:PORT');
  return { host: (m[1] ?? m[2])!, port };
}

/** Seconds → ms, at least 5 s. Throws AGENT_CONFIG_INVALID. */
export function parseInterval(text: string | undefined): number {
  if (text === undefined) return DEFAULT_INTERVAL_S * 1000;
  const s = Number(text);
  if (!/^\d+$/.test(text) || s * 1000 < MIN_INTERVAL_MS || s > 86_400) {
    throw agentError(
      'AGENT_CONFIG_INVALID',
      `--interval must be whole seconds from ${MIN_INTERVAL_MS / 1000} to 86400`,
    );
  }
  return s * 1000;
}

/** Flags win; what they name is saved for the next run. Throws AGENT_CONFIG_INVALID when no broker is known. */
export async function resolveEndpoints(
  dir: string,
  flags: { broker?: string | undefined; server?: string | undefined },
): Promise<AgentEndpoints> {
  const saved = (await readJsonFile(join(dir, ENDPOINTS_FILE))) as Partial<AgentEndpoints> | null;
  const broker = flags.broker ? parseBroker(flags.broker) : validBroker(saved?.broker);
  if (!broker) {
    throw agentError(
      'AGENT_CONFIG_INVALID',
      '--broker HOST:PORT is required on the first run (the enroll output names it)',
    );
  }
  const server = flags.server ?? (typeof saved?.server === 'string' ? saved.server : null);
  const endpoints = { broker, server };
  if (flags.broker || flags.server) await writeFileDurable(join(dir, ENDPOINTS_FILE), JSON.stringify(endpoints));
  return endpoints;
}

function validBroker(b: unknown): { host: string; port: number } | null {
  if (!b || typeof b !== 'object') return null;
  const { host, port } = b as { host?: unknown; port?: unknown };
  return typeof host === 'string' && Number.isInteger(port) ? { host, port: port as number } : null;
}

/** The firmware version: the flag, else VERSION_ID (or BUILD_ID) of os-release(5), else `unknown`. */
export async function detectFirmware(flag: string | undefined, osRelease = '/etc/os-release'): Promise<string> {
  if (flag) return flag.slice(0, 64);
  try {
    const text = await readFile(osRelease, 'utf8');
    const m = /^(?:VERSION_ID|BUILD_ID)="?([\x20-\x7e]+?)"?$/m.exec(text);
    if (m) return m[1]!.slice(0, 64);
  } catch {}
  return 'unknown';
}
