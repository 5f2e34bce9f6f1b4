import { z } from 'zod';
import { FleetwardError } from '../../protocol/errors.ts';
import { SEVERITIES } from '../detect/index.ts';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema, pageOf, pageQuery } from '../http/schemas.ts';
import type { AlarmFeed } from './alarm-feed.ts';
import type { AlarmService } from './alarm-service.ts';
import { ALARM_STATES, type AlarmEvent, type RespondErrorCode } from './model.ts';

export const alarmSchema = z.object({
  id: z.string(),
  deviceId: z.string(),
  profileId: z.string(),
  behaviour: z.string(),
  kind: z.string(),
  severity: z.enum(SEVERITIES),
  state: z.enum(ALARM_STATES),
  raisedAt: epochMs,
  lastRaisedAt: epochMs,
  raiseCount: z.number().int(),
  acknowledgedAt: epochMs.nullable(),
  acknowledgedBy: z.string().nullable(),
  clearedAt: epochMs.nullable(),
  clearedBy: z.string().nullable(),
  clearReason: z.string().nullable(),
  suppressedUntil: epochMs.nullable(),
  suppressionReason: z.string().nullable(),
  evidence: z
    .unknown()
    .describe(
      'the values and the threshold or baseline that fired it (metric, value, threshold, recent, baseline?, percentile?)',
    ),
});

const filterQuery = {
  state: z.enum([...ALARM_STATES, 'open']).optional(),
  device: idSchema.optional(),
  profile: idSchema.optional(),
  severity: z.enum(SEVERITIES).optional(),
};
const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(500) });
const MAX_SUPPRESS_MS = 90 * 86_400_000;
const suppressBody = z.strictObject({
  reason: z.string().trim().min(1).max(500),
  durationMs: z.number().int().min(60_000).max(MAX_SUPPRESS_MS).describe('how long, from now'),
});
/** Comment lines keep proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export function registerAlarmRoutes(
  app: FleetwardApp,
  alarms: AlarmService,
  feed: AlarmFeed,
  heartbeatMs = HEARTBEAT_MS,
): void {
  const tags = ['alarms'];
  app.get(
    '/api/v1/alarms',
    {
      config: { access: 'read' },
      schema: {
        tags,
        querystring: z.strictObject({ ...pageQuery, ...filterQuery }),
        response: { 200: pageOf(alarmSchema) },
      },
    },
    async (req) => {
      const q = req.query;
      return alarms.list(
        { state: q.state, deviceId: q.device, profileId: q.profile, severity: q.severity },
        q.after,
        q.limit,
      );
    },
  );
  app.get(
    '/api/v1/alarms/:id',
    { config: { access: 'read' }, schema: { tags, params: idParams, response: { 200: alarmSchema } } },
    async (req) => alarms.get(req.params.id),
  );
  app.post(
    '/api/v1/alarms/:id/acknowledge',
    {
      config: { access: 'write', action: 'alarm.acknowledge' },
      schema: { tags, params: idParams, response: { 200: alarmSchema } },
    },
    async (req) => alarms.acknowledge(req.params.id, actionContext(req)),
  );
  app.post(
    '/api/v1/alarms/:id/suppress',
    {
      config: { access: 'write', action: 'alarm.suppress' },
      schema: { tags, params: idParams, body: suppressBody, response: { 200: alarmSchema } },
    },
    async (req) => alarms.suppress(req.params.id, req.body.reason, req.body.durationMs, actionContext(req)),
  );
  app.post(
    '/api/v1/alarms/:id/clear',
    {
      config: { access: 'write', action: 'alarm.clear' },
      schema: { tags, params: idParams, body: reasonBody, response: { 200: alarmSchema } },
    },
    async (req) => alarms.clear(req.params.id, req.body.reason, actionContext(req)),
  );
  registerStream(app, feed, heartbeatMs);
}

/**
 * `GET /api/v1/alarms/stream`: Server-Sent Events (WHATWG HTML §9.2), one `alarm` event per change,
 * id = feed sequence so a reconnecting client resumes with Last-Event-ID. Only `text/event-stream`
 * is spoken: anything else gets 406 (a plain fetch must not hang on an endless body).
 */
function registerStream(app: FleetwardApp, feed: AlarmFeed, heartbeatMs: number): void {
  app.addHook('preClose', async () => feed.close());
  app.get(
    '/api/v1/alarms/stream',
    {
      config: { access: 'read' },
      schema: {
        tags: ['alarms'],
        querystring: z.strictObject({ device: idSchema.optional(), severity: z.enum(SEVERITIES).optional() }),
      },
    },
    async (req, reply) => {
      if (!(req.headers.accept ?? '').includes('text/event-stream')) {
        throw new FleetwardError<RespondErrorCode>(
          'STREAM_NOT_ACCEPTABLE',
          'this is an event stream: send Accept: text/event-stream',
        );
      }
      const lastId = Number(req.headers['last-event-id']);
      const { device, severity } = req.query;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': fleetward alarm stream\n\n');
      // Each heartbeat re-checks the token: a revoked token or disabled operator stops receiving alarms.
      const heartbeat = setInterval(() => {
        req.stillAuthorized().then(
          (ok) => (ok ? res.write(': ping\n\n') : end()),
          () => end(),
        );
      }, heartbeatMs);
      let unsubscribe = () => {};
      const end = () => {
        clearInterval(heartbeat);
        unsubscribe();
        res.end();
      };
      unsubscribe = feed.subscribe(
        {
          send: (e: AlarmEvent) => {
            if (device && e.alarm.deviceId !== device) return;
            if (severity && e.alarm.severity !== severity) return;
            res.write(`id: ${e.seq}\nevent: alarm\ndata: ${JSON.stringify(e)}\n\n`);
          },
          end,
          backlog: () => res.writableLength,
        },
        Number.isSafeInteger(lastId) && lastId > 0 ? lastId : null,
      );
      req.raw.on('close', end);
    },
  );
}
