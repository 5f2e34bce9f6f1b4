import { readFileSync } from 'node:fs';
import { defaultActions } from '../agent/actions.ts';
import { Agent, type AgentLog } from '../agent/agent.ts';
import { DEFAULT_BACKOFF } from '../agent/backoff.ts';
import { REAL_PROC } from '../agent/collect/proc-files.ts';
import { readBootId } from '../agent/collect/system.ts';
import { writeRebootMarker } from '../agent/resets.ts';
import { detectFirmware, parseInterval, resolveEndpoints } from '../agent/run-config.ts';
import {
  commandHealthCheck,
  hasTrustedRoot,
  pinTrustedRoot,
  Updater,
  updateAction,
  updateStateDir,
} from '../agent/update/index.ts';
import { systemClock } from '../protocol/clock.ts';
import { isFleetwardError } from '../protocol/errors.ts';
import { RESET_REASONS, type ResetReason } from '../protocol/report.ts';
import type { CliContext } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { defineVerb, usage } from './verb.ts';

const AGENT_VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

function jsonLog(ctx: CliContext): AgentLog {
  return (level, msg, fields) => ctx.out(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
}

/** Exit codes: 2 usage (bad flags), 9 invalid configuration or no identity; otherwise runs until SIGTERM/SIGINT. */
export const agentRunVerb = defineVerb({
  summary:
    'report this device every interval over mTLS MQTT (queue on disk while offline); --broker and --server are remembered in DIR',
  usage:
    '--dir DIR [--broker HOST:PORT] [--interval SEC] [--auth-log FILE] [--firmware VERSION] [--proc DIR] [--reconnect-max SEC] [--health-check PROGRAM]',
  options: {
    dir: { type: 'string' },
    broker: { type: 'string' },
    interval: { type: 'string' },
    'auth-log': { type: 'string' },
    firmware: { type: 'string' },
    proc: { type: 'string' },
    'reconnect-max': { type: 'string' },
    'health-check': { type: 'string' },
  },
  run: async ({ values }, ctx) => {
    if (!values.dir) throw usage('--dir DIR is required (the directory agent enroll wrote)');
    const capS = values['reconnect-max'] === undefined ? DEFAULT_BACKOFF.capMs / 1000 : Number(values['reconnect-max']);
    if (!Number.isInteger(capS) || capS < 1 || capS > 3600) throw usage('--reconnect-max must be 1 to 3600 seconds');
    let agent: Agent;
    try {
      const intervalMs = parseInterval(values.interval);
      const endpoints = await resolveEndpoints(values.dir, { broker: values.broker, server: serverFlag(ctx) });
      // Updates (agent/update): TUF-verified, A/B slots under DIR/update, states on update-status.
      const updateDir = updateStateDir(values.dir);
      await pinRootOnFirstContact(updateDir, endpoints.server ?? DEFAULT_SERVER, jsonLog(ctx));
      const updater = new Updater({
        dir: updateDir,
        report: (s) => agent.publishUpdateStatus(JSON.stringify(s)),
        healthCheck: commandHealthCheck(values['health-check'] ? [values['health-check']] : []),
        now: () => systemClock.now(),
      });
      agent = new Agent({
        dir: values.dir,
        intervalMs,
        broker: endpoints.broker,
        proc: values.proc ? { root: values.proc } : REAL_PROC,
        authLog: values['auth-log'] ?? null,
        firmware: await detectFirmware(values.firmware),
        agentVersion: AGENT_VERSION,
        clock: systemClock,
        random: Math.random,
        backoff: { baseMs: Math.min(DEFAULT_BACKOFF.baseMs, capS * 1000), capMs: capS * 1000 },
        publishTimeoutMs: 30_000,
        connectTimeoutMs: 15_000,
        log: jsonLog(ctx),
        actions: defaultActions(
          values.dir,
          endpoints.server ?? DEFAULT_SERVER,
          () => systemClock.now(),
          updateAction(updater),
        ),
      });
      await agent.start();
      // An update interrupted by a restart is finished (health check) or undone now.
      await updater.recover();
    } catch (err) {
      if (isFleetwardError(err, 'AGENT_CONFIG_INVALID', 'AGENT_IDENTITY_MISSING', 'AGENT_QUEUE_IO')) {
        ctx.err(`fleetward: ${err.message}`);
        return EXIT.INVALID_INPUT;
      }
      throw err;
    }
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    jsonLog(ctx)('info', 'stopping', { signal });
    await agent.stop();
    return EXIT.OK;
  },
});

/**
 * Trust on first contact for the TUF root when enrollment pinned none: weaker than a root shipped in the
 * image (documented); every later root must chain from this one. A failure is retried at the next start.
 */
async function pinRootOnFirstContact(dir: string, server: string, log: AgentLog): Promise<void> {
  if (hasTrustedRoot(dir)) return;
  try {
    const res = await fetch(`${server}/device/v1/tuf/1.root.json`, { signal: AbortSignal.timeout(15_000) });
    if (res.ok) await pinTrustedRoot(dir, Buffer.from(await res.arrayBuffer()));
  } catch {
    log('warn', 'no TUF root pinned yet; updates are refused until one is');
  }
}

/** The CLI's default API address (main.ts): used for rotation when nothing else is known, never saved. */
const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** `--server` is a global flag (taken before the verb sees its flags): an explicit one differs from the default. */
function serverFlag(ctx: CliContext): string | undefined {
  const url = ctx.api().baseUrl;
  return url === DEFAULT_SERVER ? undefined : url;
}

export const agentRebootMarkerVerb = defineVerb({
  summary: 'record why this device is about to restart (run just before a planned reboot); no marker = unexpected',
  usage: `--dir DIR --reason ${RESET_REASONS.join('|')}`,
  options: { dir: { type: 'string' }, reason: { type: 'string' }, proc: { type: 'string' } },
  run: async ({ values }, ctx) => {
    if (!values.dir) throw usage('--dir DIR is required');
    if (!values.reason || !(RESET_REASONS as readonly string[]).includes(values.reason)) {
      throw usage(`--reason must be one of ${RESET_REASONS.join(', ')}`);
    }
    const boot = await readBootId(values.proc ? { root: values.proc } : REAL_PROC);
    await writeRebootMarker(values.dir, boot, values.reason as ResetReason);
    ctx.out(`reboot reason recorded: ${values.reason}`);
    return EXIT.OK;
  },
});
