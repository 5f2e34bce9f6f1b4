import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../protocol/clock.ts';
import { AccessService, registerAccessRoutes } from './access/index.ts';
import { AssessmentService, registerAssessmentRoutes } from './assessment/index.ts';
import { InProcessBus } from './bus/in-process-bus.ts';
import type { ServeConfig } from './config.ts';
import { createHttpApp } from './http/app.ts';
import type { FleetwardApp } from './http/app.types.ts';
import { registerHealthRoutes } from './http/health-routes.ts';
import { createMetrics } from './http/metrics.ts';
import { LedgerService, registerLedgerRoutes } from './ledger/index.ts';
import { createLogger } from './logger.ts';
import { RegistryService, registerRegistryRoutes } from './registry/index.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/store.types.ts';
import { registerTelemetryRoutes, TelemetryService } from './telemetry/index.ts';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Services {
  store: Store;
  ledger: LedgerService;
  access: AccessService;
  registry: RegistryService;
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
  /** Stops accepting, lets in-flight requests finish, then closes the bus and the database. */
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
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
  const telemetry = new TelemetryService(store, bus, registry, clock);
  const assessment = new AssessmentService(store, ledger, clock, { workDir: join(config.dataDir, 'work') });
  const metrics = createMetrics();

  const app = await createHttpApp({ logger, access, ledger, metrics, bodyLimit: config.bodyLimit, version: VERSION });
  registerHealthRoutes(app, { ready: () => store.ping(), metrics });
  registerAccessRoutes(app, access);
  registerLedgerRoutes(app, ledger);
  registerRegistryRoutes(app, registry);
  registerTelemetryRoutes(app, telemetry);
  registerAssessmentRoutes(app, assessment, { maxArtifactBytes: config.maxArtifactBytes });

  const { generated } = await access.prepareBootstrap(config.bootstrapToken);
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await store.close();
    throw err;
  }
  logger.info({ address, database: store.dialect, version: VERSION }, 'fleetward serving');

  let closing: Promise<void> | undefined;
  return {
    app,
    url: address,
    services: { store, ledger, access, registry, telemetry, assessment },
    bootstrapToken: generated,
    close: () => {
      closing ??= (async () => {
        await app.close();
        // Reports already acknowledged-pending are committed before the database closes.
        await telemetry.flush();
        await bus.close();
        await store.close();
      })();
      return closing;
    },
  };
}
