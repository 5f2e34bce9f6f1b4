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
  /** Address and port of the built-in MQTT broker (mTLS); port 0 picks a free one. */
  mqttHost: string;
  mqttPort: number;
  /** Largest MQTT packet a device may send, bytes. */
  mqttMaxPacketBytes: number;
  /** Serve the API over HTTPS with a server certificate from the Fleetward CA. */
  tls: boolean;
  /** Host name or address devices use to reach the server: put in server certificates' SAN. */
  publicHost: string | undefined;
  /** Base64 32-byte key sealing CA keys at rest; otherwise `<data>/master.key` (0600) is used. */
  masterKey: string | undefined;
  /** `builtin`: Aedes in this process; `external`: attach to a Mosquitto configured by us. */
  broker: 'builtin' | 'external';
  /** `mqtts://host:port` of the external broker (broker=external). */
  externalBrokerUrl: string;
  /** Lifetime of device certificates, days. */
  deviceCertDays: number;
  /** Largest firmware artifact accepted (analysis uploads, releases), bytes. */
  maxArtifactBytes: number;
  /** HMAC-SHA256 key for webhook notifications (detection); unset: the notify mitigation fails. */
  webhookSecret?: string | undefined;
  /** Judge reports at the device's clock, not the server's (simulated fleets running faster than real time only). */
  detectDeviceTime?: boolean | undefined;
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
  ['--mqtt-host', 'FLEETWARD_MQTT_HOST', '127.0.0.1', 'address the MQTT broker (mTLS) listens on'],
  ['--mqtt-port', 'FLEETWARD_MQTT_PORT', '8883', 'MQTT broker port (0 picks a free one)'],
  ['--mqtt-max-packet', 'FLEETWARD_MQTT_MAX_PACKET', '262144', 'largest MQTT packet from a device, bytes'],
  ['--tls', 'FLEETWARD_TLS', 'off', 'serve the API over HTTPS with a certificate from the Fleetward CA'],
  ['--public-host', 'FLEETWARD_PUBLIC_HOST', '(--host, localhost)', 'name devices use to reach us (cert SAN)'],
  ['--device-cert-days', 'FLEETWARD_DEVICE_CERT_DAYS', '365', 'lifetime of device certificates'],
  ['--broker', 'FLEETWARD_BROKER', 'builtin', 'builtin (Aedes) or external (Mosquitto we configure)'],
  ['--external-broker-url', 'FLEETWARD_EXTERNAL_BROKER_URL', '', 'mqtts://host:port of the external Mosquitto'],
  ['', 'FLEETWARD_MASTER_KEY', '(<data>/master.key)', 'base64 32-byte key that seals CA keys at rest'],
  ['--max-artifact-bytes', 'FLEETWARD_MAX_ARTIFACT_BYTES', '536870912', 'largest firmware upload in bytes'],
  ['', 'FLEETWARD_BOOTSTRAP_TOKEN', '(generated, printed once)', 'preset bootstrap token for automation'],
  ['', 'FLEETWARD_WEBHOOK_SECRET', '(none: notify fails)', 'HMAC-SHA256 key signing alarm webhooks'],
  ['', 'FLEETWARD_DETECT_DEVICE_TIME', 'off', 'detection on device time: only for simulated fleets'],
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
      'mqtt-host': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'mqtt-max-packet': { type: 'string' },
      tls: { type: 'boolean' },
      'public-host': { type: 'string' },
      'device-cert-days': { type: 'string' },
      broker: { type: 'string' },
      'external-broker-url': { type: 'string' },
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
    webhookSecret: env.FLEETWARD_WEBHOOK_SECRET || undefined,
    detectDeviceTime: /^(1|true|on|yes)$/i.test(env.FLEETWARD_DETECT_DEVICE_TIME ?? ''),
    ...transportConfig(values, env),
    maxArtifactBytes: int(
      pick(values['max-artifact-bytes'], 'FLEETWARD_MAX_ARTIFACT_BYTES', '536870912'),
      '--max-artifact-bytes',
      1024,
      2 ** 40,
    ),
  };
}

/** Device identity and transport settings (identity/, mqtt/). */
function transportConfig(
  values: Record<string, string | boolean | undefined>,
  env: Record<string, string | undefined>,
): Pick<
  ServeConfig,
  | 'mqttHost'
  | 'mqttPort'
  | 'mqttMaxPacketBytes'
  | 'tls'
  | 'publicHost'
  | 'masterKey'
  | 'broker'
  | 'externalBrokerUrl'
  | 'deviceCertDays'
> {
  const str = (flag: string, name: string, dflt: string) => (values[flag] as string | undefined) ?? env[name] ?? dflt;
  const broker = str('broker', 'FLEETWARD_BROKER', 'builtin');
  if (broker !== 'builtin' && broker !== 'external') throw bad('--broker must be builtin or external');
  const externalBrokerUrl = str('external-broker-url', 'FLEETWARD_EXTERNAL_BROKER_URL', '');
  if (broker === 'external' && !/^mqtts:\/\/[^/\s]+:\d+\/?$/.test(externalBrokerUrl))
    throw bad('--broker external needs --external-broker-url mqtts://host:port');
  return {
    mqttHost: str('mqtt-host', 'FLEETWARD_MQTT_HOST', '127.0.0.1'),
    mqttPort: int(str('mqtt-port', 'FLEETWARD_MQTT_PORT', '8883'), '--mqtt-port', 0, 65535),
    mqttMaxPacketBytes: int(
      str('mqtt-max-packet', 'FLEETWARD_MQTT_MAX_PACKET', '262144'),
      '--mqtt-max-packet',
      1024,
      1 << 28,
    ),
    tls: values.tls === true || /^(1|true|on|yes)$/i.test(env.FLEETWARD_TLS ?? ''),
    publicHost: str('public-host', 'FLEETWARD_PUBLIC_HOST', '') || undefined,
    masterKey: env.FLEETWARD_MASTER_KEY || undefined,
    broker,
    externalBrokerUrl,
    deviceCertDays: int(str('device-cert-days', 'FLEETWARD_DEVICE_CERT_DAYS', '365'), '--device-cert-days', 1, 3650),
  };
}

function int(text: string, name: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw bad(`${name} must be a whole number from ${min} to ${max}`);
  return n;
}

export function serveHelp(): string {
  const header = ['flag', 'environment', 'default', 'meaning'] as const;
  const rows: ReadonlyArray<readonly string[]> = [header, ...SERVE_SETTINGS];
  const width = (c: number) => Math.max(...rows.map((r) => r[c]!.length)) + 2;
  const widths = [width(0), width(1), width(2)];
  const line = (r: readonly string[]) => `  ${r.map((v, c) => (c < 3 ? v.padEnd(widths[c]!) : v)).join('')}`;
  return ['Usage: fleetward serve [options]', '', ...rows.map(line)].join('\n');
}
