import type { DeviceMessageHandler } from '../gateway/gateway.types.ts';
import type { TelemetryService } from './service.ts';

/**
 * The broker-facing handler for the `reports` channel: resolves once the report is durable (so the
 * broker's PUBACK means stored), rejects with the coded error for a malformed one (counted against
 * that device only).
 */
export function reportsHandler(telemetry: TelemetryService): DeviceMessageHandler {
  return async (msg) => {
    await telemetry.ingest({ deviceId: msg.deviceId, payload: msg.payload, receivedAt: msg.receivedAt });
  };
}
