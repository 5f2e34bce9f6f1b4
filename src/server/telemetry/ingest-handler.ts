import { isFleetwardError } from '../../protocol/errors.ts';
import type { DeviceMessageHandler } from '../gateway/gateway.types.ts';
import type { TelemetryService } from './service.ts';

export interface HoldOptions {
  /** How long a report is held (not acknowledged) while the store is failing, ms. */
  holdMs: number;
  /** First retry delay, doubled up to 5 s, ms. */
  retryMs: number;
}

/**
 * Longer than the agent's PUBACK timeout (30 s): by the time we give up, the agent has dropped the
 * connection and will re-send, so the late acknowledgement reaches no one and nothing is lost.
 */
export const DEFAULT_HOLD: HoldOptions = { holdMs: 120_000, retryMs: 100 };

/**
 * The broker-facing handler for the `reports` channel: resolves once the report is durable (so the
 * broker's PUBACK means stored), rejects with the coded error for a malformed one (counted against
 * that device only). The broker acknowledges even when a handler rejects, so a transient failure
 * (database down, ingest overloaded) is retried here, holding the PUBACK, rather than turned into an
 * acknowledged loss.
 */
export function reportsHandler(telemetry: TelemetryService, hold: HoldOptions = DEFAULT_HOLD): DeviceMessageHandler {
  return async (msg) => {
    const started = Date.now();
    for (let delay = hold.retryMs; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        await telemetry.ingest({ deviceId: msg.deviceId, payload: msg.payload, receivedAt: msg.receivedAt });
        return;
      } catch (err) {
        const transient = isFleetwardError(err, 'TELEMETRY_STORE_FAILED', 'TELEMETRY_OVERLOADED');
        if (!transient || Date.now() - started + delay > hold.holdMs) throw err;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  };
}
