export { CommandResultsService, type StoredCommandResult } from './command-results.ts';
export { DEFAULT_HOLD, type HoldOptions, reportsHandler } from './ingest-handler.ts';
export type {
  AcceptedReport,
  IngestMessage,
  IngestOptions,
  IngestOutcome,
  MalformedCount,
  StoredReport,
  TelemetryErrorCode,
  TelemetryStats,
} from './model.ts';
export { DEFAULT_INGEST } from './model.ts';
export { registerTelemetryRoutes } from './routes.ts';
export { TelemetryService } from './service.ts';
