export type { RaiseOutcome } from './alarm-service.ts';
export { AlarmService } from './alarm-service.ts';
export { CommandUpdatePort } from './command-update-port.ts';
export type { OutboxOptions } from './delivery-worker.ts';
export { WEBHOOK_ACTOR, WebhookOutbox } from './delivery-worker.ts';
export { QUARANTINE_ZONE } from './mitigation-service.ts';
export type {
  Alarm,
  AlarmEvent,
  AlarmFilter,
  AlarmState,
  DeliveryStatus,
  EmergencyAction,
  EmergencyKind,
  IdentityPort,
  MitigationAction,
  MitigationRecord,
  RespondErrorCode,
  UpdatesPort,
  WebhookDelivery,
} from './model.ts';
export { ALARM_STATES, DELIVERY_STATUSES, EMERGENCY_KINDS } from './model.ts';
export { registerRespondRoutes } from './routes.ts';
export type { RespondDeps } from './service.ts';
export { DETECTION_ACTOR, RespondService } from './service.ts';
export type { DeliveryResult, WebhookOptions } from './webhook.ts';
export { DELIVERY_HEADER, SIGNATURE_HEADER, signPayload, verifySignature, WebhookNotifier } from './webhook.ts';
