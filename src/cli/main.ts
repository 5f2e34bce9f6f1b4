import { isFleetwardError } from '../protocol/errors.ts';
import { agentNoun } from './agent.ts';
import { alarmsNoun } from './alarms.ts';
import { ApiClient, type ApiProblem } from './api-client.ts';
import { caNoun } from './ca.ts';
import type { CliContext, CliNoun } from './cli.types.ts';
import { deviceNoun } from './device.ts';
import { emergencyNoun } from './emergency.ts';
import { enrollTokenNoun } from './enroll-token.ts';
import { EXIT, exitForStatus } from './exit-codes.ts';
import { firmwareNoun, vulnsNoun } from './firmware.ts';
import { keysNoun } from './keys.ts';
import { ledgerNoun } from './ledger.ts';
import { mitigateNoun } from './mitigate.ts';
import { operatorNoun } from './operator.ts';
import { productNoun } from './product.ts';
import { profileNoun } from './profile.ts';
import { releaseNoun } from './release.ts';
import { rolloutNoun } from './rollout.ts';
import { runServe } from './serve.ts';
import { runSimulate } from './simulate.ts';
import { tokenNoun } from './token.ts';
import { tufNoun } from './tuf.ts';

const NOUNS: CliNoun[] = [
  productNoun,
  deviceNoun,
  enrollTokenNoun,
  caNoun,
  agentNoun,
  operatorNoun,
  tokenNoun,
  ledgerNoun,
  firmwareNoun,
  vulnsNoun,
  releaseNoun,
  rolloutNoun,
  keysNoun,
  tufNoun,
  profileNoun,
  alarmsNoun,
  mitigateNoun,
  emergencyNoun,
];

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** Runs one `fleetward …` invocation and returns its exit code; every failure is one line on stderr. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { rest, server, token } = takeGlobalFlags(argv);
  const ctx: CliContext = {
    ...io,
    api: () =>
      new ApiClient(server ?? io.env.FLEETWARD_URL ?? 'http://127.0.0.1:8080', token ?? io.env.FLEETWARD_TOKEN),
  };
  const [noun, verb, ...args] = rest;
  try {
    if (!noun || noun === 'help' || noun === '--help' || noun === '-h') {
      io.out(help());
      return noun ? EXIT.OK : EXIT.USAGE;
    }
    if (noun === 'serve') return await runServe(rest.slice(1), ctx);
    if (noun === 'simulate') return await runSimulate(rest.slice(1), ctx);
    const n = NOUNS.find((x) => x.name === noun);
    if (!n) return usageError(io, `unknown command '${noun}'; see 'fleetward help'`);
    const v = verb ? n.verbs[verb] : undefined;
    if (!v) {
      if (verb === '--help' || verb === 'help' || !verb) {
        io.out(nounHelp(n));
        return verb ? EXIT.OK : EXIT.USAGE;
      }
      return usageError(io, `unknown verb '${verb}' for ${noun}; see 'fleetward ${noun} help'`);
    }
    if (args.includes('--help') || args.includes('-h')) {
      io.out(`Usage: fleetward ${noun} ${verb} ${v.usage}\n\n${v.summary}`);
      return EXIT.OK;
    }
    return await v.run(args, ctx);
  } catch (err) {
    return reportError(io, err);
  }
}

function takeGlobalFlags(argv: string[]): { rest: string[]; server?: string; token?: string } {
  const rest: string[] = [];
  let server: string | undefined;
  let token: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    if (flag === '--server' || flag === '--token') {
      const value = inline ?? argv[++i];
      if (flag === '--server') server = value;
      else token = value;
    } else rest.push(a);
  }
  return { rest, ...(server ? { server } : {}), ...(token ? { token } : {}) };
}

function usageError(io: CliIo, message: string): number {
  io.err(`fleetward: ${message}`);
  return EXIT.USAGE;
}

/** The CLI edge's error table: code → exit code, message → one line. */
function reportError(io: CliIo, err: unknown): number {
  if (isFleetwardError(err)) {
    switch (err.code) {
      case 'CLI_USAGE':
        return usageError(io, err.message);
      case 'API_ERROR': {
        const problem = err.details?.problem as ApiProblem;
        const fields = (problem.errors ?? []).slice(0, 3).map((e) => `${e.path}: ${e.message}`);
        io.err(`fleetward: ${err.message}${fields.length ? ` (${fields.join('; ')})` : ''}`);
        return exitForStatus(problem.status);
      }
      case 'SERVER_UNREACHABLE':
        io.err(`fleetward: ${err.message} (is 'fleetward serve' running? set --server or FLEETWARD_URL)`);
        return EXIT.UNREACHABLE;
      case 'NO_TOKEN':
        io.err(`fleetward: ${err.message}`);
        return EXIT.UNAUTHORIZED;
      case 'CHECK_FAILED':
        io.err(`fleetward: ${err.message}`);
        return EXIT.CHECK_FAILED;
      case 'CONFIG_INVALID':
      case 'INPUT_INVALID':
        io.err(`fleetward: ${err.message}`);
        return EXIT.INVALID_INPUT;
      default:
        io.err(`fleetward: ${err.message}`);
        return EXIT.FAILURE;
    }
  }
  io.err(`fleetward: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT.FAILURE;
}

function help(): string {
  const lines = [
    'Usage: fleetward <command> [options]',
    '',
    'Global options: --server URL (FLEETWARD_URL), --token TOKEN (FLEETWARD_TOKEN); --json on every command.',
    '',
    `  ${'serve'.padEnd(14)}run the platform (see fleetward serve --help)`,
    `  ${'simulate'.padEnd(14)}a virtual fleet with labelled attacks (see fleetward simulate --help)`,
    ...NOUNS.map((n) => `  ${n.name.padEnd(14)}${n.summary}`),
    '',
    "Run 'fleetward <command> help' for its verbs.",
  ];
  return lines.join('\n');
}

function nounHelp(n: CliNoun): string {
  return [
    `fleetward ${n.name}: ${n.summary}`,
    '',
    ...Object.entries(n.verbs).map(([name, v]) => `  fleetward ${n.name} ${name} ${v.usage}\n      ${v.summary}`),
  ].join('\n');
}
