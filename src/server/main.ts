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
import { type CloudCounterSource, DetectService, ProfileService, registerDetectRoutes } from './detect/index.ts';
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
  seal,
  unseal,
} from './identity/index.ts';
import { LedgerService, registerLedgerRoutes, SYSTEM_ACTOR } from './ledger/index.ts';
import { createLogger } from './logger.ts';
import type { TransportCounters } from './mqtt/counters.ts';
import { type DeviceTransport, startDeviceTransport } from './mqtt/transport.ts';
import { RegistryService, registerRegistryRoutes } from './registry/index.ts';
import { CommandUpdatePort, RespondService, registerRespondRoutes } from './respond/index.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.types.ts';
import { CommandResultsService, registerTelemetryRoutes, reportsHandler, TelemetryService } from './telemetry/index.ts';
import {
  registerReleaseRoutes,
  registerRolloutRoutes,
  registerTufAdminRoutes,
  registerTufRoutes,
  UpdatesService,
} from './updates/index.ts';

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
  updates: UpdatesService;
  profiles: ProfileService;
  detect: DetectService;
  respond: RespondService;
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
  /** How often event streams send a heartbeat and re-check the caller's token (default 15 s). */
  streamHeartbeatMs?: number;
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
    tufRoot: () => Promise<string | null>;
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
    tufRoot: deps.tufRoot,
  });
  return transport;
}

/** Detection and response: profiles, the detector on the bus, alarms and mitigations wired to identity, transport and updates. */
async function startDetection(
  config: ServeConfig,
  d: {
    app: FleetwardApp;
    store: Store;
    ledger: LedgerService;
    bus: InProcessBus;
    clock: Clock;
    registry: RegistryService;
    identity: IdentityService;
    trust: DeviceTrust;
    transport: DeviceTransport;
    updates: UpdatesService;
    baseUrl: () => string;
    streamHeartbeatMs: number | undefined;
  },
) {
  const { store, ledger, bus, clock, registry, transport } = d;
  const profiles = new ProfileService(store, ledger, clock);
  const cloud: CloudCounterSource = {
    snapshot: (id) => {
      const t = transport.counters.get(id);
      return t ? { ...t, source: t.lastSource } : null;
    },
  };
  const detect = new DetectService(
    { store, bus, clock, profiles, registry, cloud },
    { deviceTime: config.detectDeviceTime === true },
  );
  const latestRelease = async (productId: string) => {
    const { items } = await d.updates.releases.listReleases({ productId }, undefined, 1000);
    const published = items.filter((r) => r.state === 'published');
    return published.sort((a, b) => b.securityVersion - a.securityVersion)[0] ?? null;
  };
  const respond = new RespondService({
    store,
    ledger,
    bus,
    clock,
    registry,
    outbox: transport.gateway,
    identity: {
      revokeDevice: (id, reason, ctx) => d.identity.revokeDevice(id, reason, ctx),
      revokeCa: (caId, _reason, ctx) => d.trust.removeManufacturerCa(caId, ctx),
      rotateDevice: (id, ctx) => d.identity.rotate(id, ctx),
    },
    // Until updates offers a per-device forced rollout: the `update` command for the newest published release.
    updates: new CommandUpdatePort({
      outbox: transport.gateway,
      registry,
      clock,
      latestRelease,
      metadataUrl: () => `${d.baseUrl()}/device/v1/tuf/`,
    }),
    webhook: { secret: config.webhookSecret ?? null },
  });
  registerDetectRoutes(d.app, profiles);
  registerRespondRoutes(d.app, respond, { streamHeartbeatMs: d.streamHeartbeatMs });
  await detect.start();
  respond.start();
  return {
    profiles,
    detect,
    respond,
    stop: async () => {
      await detect.stop();
      await respond.stop();
    },
  };
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
  const masterKey = loadMasterKey(config.dataDir, config.masterKey);
  const ca = await CertificateAuthority.open(config.dataDir, masterKey, clock.now());
  const identityOptions = { ...DEFAULT_IDENTITY_OPTIONS, certValidityDays: config.deviceCertDays };
  const identity = new IdentityService({ store, ledger, bus, clock, registry, ca, options: identityOptions });
  const trust = new DeviceTrust({ store, ledger, bus, clock, registry, ca });
  const serverHosts = [
    ...new Set([config.publicHost ?? config.host, 'localhost', config.host].filter((h) => h && h !== '0.0.0.0')),
  ];
  const telemetry = new TelemetryService(store, bus, registry, clock);
  const assessment = new AssessmentService(store, ledger, clock, { workDir: join(config.dataDir, 'work') });
  const updates = new UpdatesService({
    store,
    ledger,
    registry,
    bus,
    clock,
    dataDir: config.dataDir,
    // TUF keys the server holds are sealed like the CA keys (identity's AES-256-GCM under the master key).
    sealer: {
      seal: (purpose, data) => seal(masterKey, purpose, data),
      unseal: (purpose, text) => unseal(masterKey, purpose, text),
    },
    // The release gate scores an artifact with the firmware assessment (stored analysis or a new one).
    scorer: {
      score: (path, a) =>
        assessment.scoreArtifact(path, { name: a.name, sha256: a.sha256, size: a.length }, SYSTEM_ACTOR),
    },
  });
  await updates.initialize();
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
    tufRoot: () => updates.repo.metadataFile('root.json'),
  }).catch(async (err: unknown) => {
    // e.g. the broker's port is taken: leave the database closed cleanly, not held open by a dead start.
    updates.close();
    await store.close();
    throw err;
  });
  const deviceServices = { identity, trust, gateway: transport.gateway, deviceTraffic: transport.counters, bus };
  // Rotated-out certificates are revoked when their grace period ends.
  const retireTimer = setInterval(() => {
    identity.retireDue().catch((err: unknown) => logger.error({ err }, 'certificate retirement failed'));
  }, 60_000);
  retireTimer.unref();
  const commandResults = new CommandResultsService(store, clock);
  registerTelemetryRoutes(app, telemetry, commandResults);
  // Reports are validated and group-committed before the broker's PUBACK (acknowledged means stored).
  transport.gateway.onDeviceMessage('reports', reportsHandler(telemetry));
  transport.gateway.onDeviceMessage('command-results', (m) => commandResults.ingest(m));
  let baseUrl = '';
  const detection = await startDetection(config, {
    ...{ app, store, ledger, bus, clock, registry, identity, trust, transport, updates },
    baseUrl: () => baseUrl,
    streamHeartbeatMs: options.streamHeartbeatMs,
  });
  registerAssessmentRoutes(app, assessment, { maxArtifactBytes: config.maxArtifactBytes });
  registerTufRoutes(app, updates.repo, updates.artifacts);
  registerReleaseRoutes(app, updates.releases, registry, {
    maxArtifactBytes: config.maxArtifactBytes,
    now: () => clock.now(),
  });
  registerTufAdminRoutes(app, updates.tuf, updates.releases);
  registerRolloutRoutes(app, updates.rollouts);
  // Rollouts send `update` commands over the transport; devices answer on update-status.
  updates.useOutbox(transport.gateway, () => `${baseUrl}/device/v1/tuf/`);
  transport.gateway.onDeviceMessage('update-status', (m) => updates.handleStatusMessage(m.deviceId, m.payload));
  // Soak timers, command retries and TUF re-signing before expiry; each turn is one cheap query when idle.
  const updatesTimer = setInterval(() => {
    updates.tick().catch((err: unknown) => logger.error({ err }, 'updates scheduler failed'));
  }, 5_000);
  updatesTimer.unref();

  const { generated } = await access.prepareBootstrap(config.bootstrapToken);
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
    baseUrl = config.publicHost ? address.replace(/\/\/[^:/]+/, `//${config.publicHost}`) : address;
  } catch (err) {
    clearInterval(retireTimer);
    clearInterval(updatesTimer);
    await transport.close();
    await detection.stop();
    await store.close();
    throw err;
  }
  logger.info({ address, mqtt: transport.endpoint, database: store.dialect, version: VERSION }, 'fleetward serving');

  let closing: Promise<void> | undefined;
  return {
    app,
    url: address,
    services: {
      ...{ store, ledger, access, ...deviceServices, registry, telemetry, assessment, updates },
      ...{ profiles: detection.profiles, detect: detection.detect, respond: detection.respond },
    },
    bootstrapToken: generated,
    mqtt: transport.endpoint,
    caCertificate: ca.rootPem,
    close: () => {
      closing ??= (async () => {
        await app.close();
        clearInterval(retireTimer);
        clearInterval(updatesTimer);
        updates.close();
        await transport.close();
        // Reports already acknowledged-pending are committed before the database closes.
        await telemetry.flush();
        // Alarms for the last reports are raised and the learned baselines written before the database closes.
        await detection.stop();
        await bus.close();
        await store.close();
      })();
      return closing;
    },
  };
}
