import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FleetwardError } from '../protocol/errors.ts';

export type ConfigErrorCode = 'CONFIG_INVALID';

export interface ServeConfig {
  host: string;
  port: number;
  /** Data directory: SQLite file, keys, uploads. */
  dataDir: string;
  /** Empty: embedded SQLite in dataDir; `postgres://…`: PostgreSQL. */
  databaseUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Largest API request body, bytes. */
  bodyLimit: number;
  /** Preset one-time bootstrap token for automation; otherwise one is generated and printed. */
  bootstrapToken: string | undefined;
  tokenTtlDays: number;
  /** Largest firmware artifact accepted (analysis uploads, releases), bytes. */
  maxArtifactBytes: number;
}

/** Every setting: flag, environment variable, default, meaning. `serve --help` and the README print this table. */
export const SERVE_SETTINGS = [
  ['--host', 'FLEETWARD_HOST', '127.0.0.1', 'address the HTTP API listens on'],
  ['--port', 'FLEETWARD_PORT', '8080', 'HTTP API port (0 picks a free one)'],
  ['--data', 'FLEETWARD_DATA', './.fleetward', 'data directory (SQLite file, keys)'],
  ['--database', 'FLEETWARD_DATABASE_URL', '(SQLite in --data)', 'postgres://user@host:5432/db to use PostgreSQL'],
  ['--log-level', 'FLEETWARD_LOG_LEVEL', 'info', 'fatal|error|warn|info|debug|trace|silent'],
  ['--body-limit', 'FLEETWARD_BODY_LIMIT', '1048576', 'largest API request body in bytes'],
  ['--token-ttl-days', 'FLEETWARD_TOKEN_TTL_DAYS', '90', 'lifetime of new API tokens'],
  ['--max-artifact-bytes', 'FLEETWARD_MAX_ARTIFACT_BYTES', '536870912', 'largest firmware upload in bytes'],
  ['', 'FLEETWARD_BOOTSTRAP_TOKEN', '(generated, printed once)', 'preset bootstrap token for automation'],
] as const;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const bad = (message: string) => new FleetwardError<ConfigErrorCode>('CONFIG_INVALID', message);

/** Flags win over environment variables, which win over defaults. Throws CONFIG_INVALID with one readable line. */
export function parseServeConfig(argv: string[], env: Record<string, string | undefined>): ServeConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      database: { type: 'string' },
      'log-level': { type: 'string' },
      'body-limit': { type: 'string' },
      'token-ttl-days': { type: 'string' },
      'max-artifact-bytes': { type: 'string' },
    },
  });
  const pick = (flag: string | undefined, name: string, dflt: string) => flag ?? env[name] ?? dflt;
  const logLevel = pick(values['log-level'], 'FLEETWARD_LOG_LEVEL', 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw bad(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    host: pick(values.host, 'FLEETWARD_HOST', '127.0.0.1'),
    port: int(pick(values.port, 'FLEETWARD_PORT', '8080'), '--port', 0, 65535),
    dataDir: resolve(pick(values.data, 'FLEETWARD_DATA', './.fleetward')),
    databaseUrl: pick(values.database, 'FLEETWARD_DATABASE_URL', ''),
    logLevel: logLevel as ServeConfig['logLevel'],
    bodyLimit: int(pick(values['body-limit'], 'FLEETWARD_BODY_LIMIT', '1048576'), '--body-limit', 1024, 1 << 30),
    bootstrapToken: env.FLEETWARD_BOOTSTRAP_TOKEN || undefined,
    tokenTtlDays: int(pick(values['token-ttl-days'], 'FLEETWARD_TOKEN_TTL_DAYS', '90'), '--token-ttl-days', 1, 365),
    maxArtifactBytes: int(
      pick(values['max-artifact-bytes'], 'FLEETWARD_MAX_ARTIFACT_BYTES', '536870912'),
      '--max-artifact-bytes',
      1024,
      2 ** 40,
    ),
  };
}

function int(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw bad(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export function serveHelp(): string {
  const rows = SERVE_SETTINGS.map(([f, e, d, m]) => `  ${(f || '').padEnd(18)}${e.padEnd(28)}${d.padEnd(28)}${m}`);
  return [
    'Usage: fleetward serve [options]',
    '',
    `  ${'flag'.padEnd(18)}${'environment'.padEnd(28)}${'default'.padEnd(28)}meaning`,
    ...rows,
  ].join('\n');
}
