import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { epochMs } from '../http/schemas.ts';
import type { WebhookOutbox } from './delivery-worker.ts';
import { DELIVERY_STATUSES } from './model.ts';

const deliverySchema = z.object({
  id: z.string(),
  origin: z.string(),
  alarmId: z.string().nullable(),
  deviceId: z.string().nullable(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  createdAt: epochMs,
  nextAttemptAt: epochMs,
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  updatedAt: epochMs,
});

/** Webhook deliveries for operators: which notifications are pending, delivered, rejected or exhausted. */
export function registerDeliveryRoutes(app: FleetwardApp, deliveries: WebhookOutbox): void {
  app.get(
    '/api/v1/webhook-deliveries',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alarms'],
        summary: 'Webhook notifications, newest first; only the receiver origin is shown',
        querystring: z.strictObject({
          status: z.enum(DELIVERY_STATUSES).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(100),
        }),
        response: { 200: z.object({ items: z.array(deliverySchema) }) },
      },
    },
    async (req) => ({ items: await deliveries.list({ status: req.query.status, limit: req.query.limit }) }),
  );
}
