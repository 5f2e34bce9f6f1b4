import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Clock } from '../../protocol/clock.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceGateway } from '../gateway/gateway.types.ts';
import type { CertificateAuthority, DeviceTrust, IdentityService } from '../identity/index.ts';
import type { RegistryService } from '../registry/index.ts';
import { BuiltinBroker } from './builtin-broker.ts';
import { TransportCounters } from './counters.ts';
import { ExternalBroker } from './external-broker.ts';

export interface TransportConfig {
  broker: 'builtin' | 'external';
  mqttHost: string;
  mqttPort: number;
  mqttMaxPacketBytes: number;
  externalBrokerUrl: string;
  dataDir: string;
  /** Names and addresses for the server certificate's SAN. */
  serverHosts: string[];
}

export interface TransportDeps {
  ca: CertificateAuthority;
  trust: DeviceTrust;
  identity: IdentityService;
  registry: RegistryService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: Registry;
}

/** The device transport as the rest of the server sees it: a gateway, where devices connect, counters. */
export interface DeviceTransport {
  gateway: DeviceGateway;
  /** Where devices connect (told to them at enrollment). */
  endpoint: { host: string; port: number };
  counters: TransportCounters;
  close(): Promise<void>;
}

/** Starts the built-in broker, or attaches to the external Mosquitto (writing its configuration first). */
export async function startDeviceTransport(config: TransportConfig, deps: TransportDeps): Promise<DeviceTransport> {
  const counters = new TransportCounters(deps.metrics, () => deps.clock.now());
  const serverCert = await deps.ca.issueServer(config.serverHosts, deps.clock.now());
  if (config.broker === 'external') {
    const ext = await ExternalBroker.start({ ...deps, counters, serverCert, config });
    deps.logger.info({ config: ext.configPath }, 'external broker mode: start Mosquitto with this configuration');
    return { gateway: ext, endpoint: ext.endpoint, counters, close: () => ext.close() };
  }
  const broker = await BuiltinBroker.start({
    ...deps,
    counters,
    serverCert,
    host: config.mqttHost,
    port: config.mqttPort,
    maxPacketBytes: config.mqttMaxPacketBytes,
  });
  const host = config.serverHosts[0] ?? config.mqttHost;
  return { gateway: broker, endpoint: { host, port: broker.port }, counters, close: () => broker.close() };
}
