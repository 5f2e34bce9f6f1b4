import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type Clock, systemClock } from '../protocol/clock.ts';
import { AccessService, registerAccessRoutes } from './access/index.ts';
import { AssessmentService, registerAssessmentRoutes } from './assessment/index.ts';
import type { Bus } from './bus/bus.types.ts';
import { InProcessBus } from './bus/in-process-bus.ts';
import type { ServeConfig } from './config.ts';
import type { DeviceGateway } from './gateway/gateway.types.ts';
import { createHttpApp } from './http/app.ts';
import type { FleetwardApp } from './http/app.types.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { createMetrics } from './http/metrics.ts';
import {
  CertificateAuthority,
  DEFAULT_IDENTITY_OPTIONS,
  DeviceTrust,
  FailureLimiter,
  IdentityService,
  loadMasterKey,
  registerIdentityRoutes,
} from './identity/index.ts';
import { LedgerService, registerLedgerRoutes } from './ledger/index.ts';
import { createLogger } from './logger.ts';
import type { TransportCounters } from './mqtt/counters.ts';
import { type DeviceTransport, startDeviceTransport } from './mqtt/transport.ts';
import { RegistryService, registerRegistryRoutes } from './registry/index.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.types.ts';
import { registerTelemetryRoutes, reportsHandler, TelemetryService } from './telemetry/index.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Services {
  store: Store;
  ledger: LedgerService;
  access: AccessService;
  registry: RegistryService;
  identity: IdentityService;
  trust: DeviceTrust;
  /** The device transport (built-in broker or external Mosquitto): register device-message handlers here. */
  gateway: DeviceGateway;
  /** Per-device and per-source transport counters (traffic, refusals): what detection reads. */
  deviceTraffic: TransportCounters;
  /** The event bus: adapters and tests subscribe to what happened. */
  bus: Bus;
  telemetry: TelemetryService;
  assessment: AssessmentService;
}

export interface RunningServer {
  app: FleetwardApp;
  /** Base URL the API listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  services: Services;
  /** A bootstrap token generated at this start (null when operators exist or one was preset). */
  bootstrapToken: string | null;
  /** Where devices connect over MQTT (the actual port when 0 was asked for). */
  mqtt: { host: string; port: number };
  /** The Fleetward root CA certificate (PEM) that devices pin. */
  caCertificate: string;
  /** Stops accepting, lets in-flight requests finish, then closes the bus and the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
}

/** Device identity routes and the MQTT transport (built-in broker or external Mosquitto), wired together. */
async function startIdentityAndTransport(
  config: ServeConfig,
  serverHosts: string[],
  deps: {
    app: FleetwardApp;
    identity: IdentityService;
    trust: DeviceTrust;
    ca: CertificateAuthority;
    registry: RegistryService;
    bus: InProcessBus;
    clock: Clock;
    logger: Logger;
    metrics: Registry;
  },
): Promise<DeviceTransport> {
  const transport = await startDeviceTransport({ ...config, serverHosts }, deps);
  deps.identity.useOutbox(transport.gateway);
  registerIdentityRoutes(deps.app, {
    identity: deps.identity,
    trust: deps.trust,
    // Brute force against enrollment tokens: 20 failures per source address per 10 minutes.
    enrollLimiter: new FailureLimiter(deps.clock, { max: 20, windowMs: 10 * 60_000 }),
    deviceEndpoint: () => transport.endpoint,
  });
  return transport;
}

/** The composition root: the only place that knows every module. */
export async function startServer(config: ServeConfig, options: StartOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.logLevel);
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const bus = new InProcessBus((topic, err) => logger.error({ err, topic }, 'event handler failed'));
  const ledger = new LedgerService(store, clock);
  const access = new AccessService(store, ledger, clock, {
    defaultTokenTtlDays: config.tokenTtlDays,
    maxTokenTtlDays: 365,
  });
  const registry = new RegistryService(store, ledger, bus, clock);
  const ca = await CertificateAuthority.open(config.dataDir, loadMasterKey(config.dataDir, config.masterKey), clock.now());
  const identityOptions = { ...DEFAULT_IDENTITY_OPTIONS, certValidityDays: config.deviceCertDays };
  const identity = new IdentityService({ store, ledger, bus, clock, registry, ca, options: identityOptions });
  const trust = new DeviceTrust({ store, ledger, bus, clock, registry, ca });
  const serverHosts = [
    ...new Set([config.publicHost ?? config.host, 'localhost', config.host].filter((h) => h && h !== '0.0.0.0')),
  ];
  const telemetry = new TelemetryService(store, bus, registry, clock);
  const assessment = new AssessmentService(store, ledger, clock, { workDir: join(config.dataDir, 'work') });
  const metrics = createMetrics();

  const https = config.tls ? await ca.issueServer(serverHosts, clock.now()) : undefined;
  const app = await createHttpApp({
    logger,
    access,
    ledger,
    metrics,
    bodyLimit: config.bodyLimit,
    version: VERSION,
    https: https && { cert: https.certPem, key: https.keyPem },
  });
  registerHealthRoutes(app, { ready: () => store.ping(), metrics });
  registerAccessRoutes(app, access);
  registerLedgerRoutes(app, ledger);
  registerRegistryRoutes(app, registry);
  const transport = await startIdentityAndTransport(config, serverHosts, {
    app,
    identity,
    trust,
    ca,
    registry,
    bus,
    clock,
    logger,
    metrics: metrics.registry,
  });
  const deviceServices = { identity, trust, gateway: transport.gateway, deviceTraffic: transport.counters, bus };
  // Rotated-out certificates are revoked when their grace period ends.
  const retireTimer = setInterval(() => {
    identity.retireDue().catch((err: unknown) => logger.error({ err }, 'certificate retirement failed'));
  }, 60_000);
  retireTimer.unref();
  registerTelemetryRoutes(app, telemetry);
  // Reports are validated and group-committed before the broker's PUBACK (acknowledged means stored).
  transport.gateway.onDeviceMessage('reports', reportsHandler(telemetry));
  registerAssessmentRoutes(app, assessment, { maxArtifactBytes: config.maxArtifactBytes });

  const { generated } = await access.prepareBootstrap(config.bootstrapToken);
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    clearInterval(retireTimer);
    await transport.close();
    await store.close();
    throw err;
  }
  logger.info({ address, database: store.dialect, version: VERSION }, 'fleetward serving');

  let closing: Promise<void> | undefined;
  return {
    app,
    url: address,
    services: { store, ledger, access, ...deviceServices, registry, telemetry, assessment },
    bootstrapToken: generated,
    mqtt: transport.endpoint,
    caCertificate: ca.rootPem,
    close: () => {
      closing ??= (async () => {
        await app.close();
        clearInterval(retireTimer);
        await transport.close();
        // Reports already acknowledged-pending are committed before the database closes.
        await telemetry.flush();
        await bus.close();
        await store.close();
      })();
      return closing;
    },
  };
}
