import type { FleetwardApp } from '../http/app.types.ts';
import { registerEmergencyRoutes, registerMitigationRoutes } from './action-routes.ts';
import { registerAlarmRoutes } from './alarm-routes.ts';
import { registerDeliveryRoutes } from './delivery-routes.ts';
import type { RespondService } from './service.ts';

/** Alarms (with the SSE stream), device mitigations, emergency actions and webhook deliveries. */
export function registerRespondRoutes(
  app: FleetwardApp,
  respond: RespondService,
  opts: { streamHeartbeatMs?: number } = {},
): void {
  registerAlarmRoutes(app, respond.alarms, respond.feed, opts.streamHeartbeatMs);
  registerMitigationRoutes(app, respond.mitigations);
  registerEmergencyRoutes(app, respond.emergencies);
  registerDeliveryRoutes(app, respond.deliveries);
}
