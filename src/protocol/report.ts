import { z } from 'zod';
import { FleetwardError } from './errors.ts';

/**
 * The periodic metrics report a device publishes on `devices/{id}/reports` (QoS 1).
 *
 * Versioning rule (old agents keep working, new agents keep talking to old servers):
 * - `v` is an integer ≥ 1. Every version carries the v1 fields with the v1 meaning; a later version
 *   may only ADD fields (a change of meaning takes a new field name).
 * - A parser accepts any `v` and DROPS fields it does not know (zod's default strip), so a v2 report
 *   parsed by this v1 server is stored as its v1 core and a v1 report parsed by a v2 server lacks only
 *   the new optional fields. The canonical form keeps the sender's `v`.
 *
 * Identity of a report: (device, `boot`, `seq`). `seq` is monotonic per device across reboots (the
 * agent persists it); `boot` is the kernel boot id. The server stores a (device, boot, seq) once, so a
 * report re-sent after a lost PUBACK is acknowledged but not stored twice.
 */
export const REPORT_VERSION = 1;

/** Limits on an untrusted report (DESIGN.md §6). A real report is a few hundred bytes. */
export const REPORT_LIMITS = {
  /** Largest payload, bytes of UTF-8 JSON. */
  payloadBytes: 16 * 1024,
  /** Listening sockets listed. */
  listening: 128,
  /** Established connections listed (the totals say how many there were in all). */
  connections: 128,
  /** Distinct reset reasons in one report. */
  resetReasons: 16,
  /** Custom metrics. */
  customMetrics: 32,
  /** Version strings (firmware, agent), characters. */
  versionChars: 64,
  /** Boot id, characters. */
  bootIdChars: 64,
  /** Custom metric names, characters. */
  metricNameChars: 64,
  /** Largest counter value: exact in a double and in a PostgreSQL bigint. */
  counterMax: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * Reasons a device restarted, split as Memfault splits them: expected (someone or something asked
 * for it) versus unexpected (the device fell over — what an attacker's crash loop or a bad update
 * shows). An agent that cannot tell says `unknown`, which counts as unexpected.
 */
export const EXPECTED_RESET_REASONS = [
  'user-request',
  'firmware-update',
  'config-change',
  'scheduled',
  'low-power',
] as const;
export const UNEXPECTED_RESET_REASONS = [
  'unknown',
  'watchdog',
  'kernel-panic',
  'out-of-memory',
  'brownout',
  'hardware-fault',
] as const;
export const RESET_REASONS = [...EXPECTED_RESET_REASONS, ...UNEXPECTED_RESET_REASONS] as const;
export type ResetReason = (typeof RESET_REASONS)[number];

export function isExpectedReset(reason: ResetReason): boolean {
  return (EXPECTED_RESET_REASONS as readonly string[]).includes(reason);
}

const L = REPORT_LIMITS;
const counter = z.number().int().min(0).max(L.counterMax);
const port = z.number().int().min(1).max(65535);
const ipAddress = z.union([z.ipv4(), z.ipv6()]);
// Printable ASCII only: version strings land in log lines and database text columns (PostgreSQL
// refuses NUL in text, and one device's NUL must not fail a batch holding other devices' reports).
const versionText = z
  .string()
  .min(1)
  .max(L.versionChars)
  .regex(/^[\x20-\x7e]+$/, 'printable ASCII');

const trafficSchema = z
  .object({
    bytesIn: counter,
    bytesOut: counter,
    packetsIn: counter,
    packetsOut: counter,
  })
  .describe('deltas since the previous report, all interfaces but loopback');

const listeningSchema = z.object({
  proto: z.enum(['tcp', 'udp']),
  port,
  /** Bound address; `0.0.0.0`/`::` for all. */
  addr: ipAddress,
});

const connectionSchema = z.object({
  proto: z.enum(['tcp', 'udp']),
  /** Remote address and port of an established connection. */
  addr: ipAddress,
  port,
  /** Local port, to tell an inbound session (to a listening port) from an outbound one. */
  localPort: port,
});

const resetSchema = z.object({
  reason: z.enum(RESET_REASONS),
  count: z.number().int().min(1).max(1_000_000),
});

export const reportSchema = z
  .object({
    v: z.number().int().min(1).max(255).describe('schema version; unknown fields of later versions are dropped'),
    boot: z
      .string()
      .min(1)
      .max(L.bootIdChars)
      .regex(/^[A-Za-z0-9-]+$/)
      .describe('kernel boot id'),
    seq: counter.describe('monotonic per device, across reboots'),
    at: z.number().int().min(0).max(L.counterMax).describe('device time of the report, epoch ms'),
    span: counter.describe('milliseconds this report covers (since the previous one)'),
    uptime: counter.describe('seconds since boot'),
    firmware: versionText,
    agent: versionText,
    traffic: trafficSchema,
    listening: z.array(listeningSchema).max(L.listening),
    connections: z.array(connectionSchema).max(L.connections),
    totals: z
      .object({
        connections: counter.describe('established connections, even beyond those listed'),
        remotes: counter.describe('distinct remote addresses among them'),
      })
      .describe('counts over all connections, so a truncated list still shows a scan or a botnet'),
    resets: z.array(resetSchema).max(L.resetReasons).describe('resets since the previous report, by reason'),
    authFailures: counter.describe('failed logins since the previous report'),
    custom: z
      .record(z.string().regex(new RegExp(`^[a-z][a-z0-9_.]{0,${L.metricNameChars - 1}}$`)), z.number())
      .refine((r) => Object.keys(r).length <= L.customMetrics, `at most ${L.customMetrics} custom metrics`)
      .refine((r) => Object.values(r).every(Number.isFinite), 'custom metrics are finite numbers')
      .meta({ maxProperties: L.customMetrics }),
    meta: z
      .object({
        queued: counter.describe('reports waiting in the on-disk queue when this one was made'),
        dropped: counter.describe('reports dropped because the queue was full'),
        corrupt: counter.describe('queue entries found corrupt and skipped'),
      })
      .optional(),
  })
  .describe('Fleetward device metrics report');

export type Report = z.infer<typeof reportSchema>;
export type ReportListening = Report['listening'][number];
export type ReportConnection = Report['connections'][number];

export type ReportErrorCode = 'REPORT_TOO_LARGE' | 'REPORT_NOT_JSON' | 'REPORT_INVALID';

/**
 * Parses a report from the wire: bytes or text of JSON, at most REPORT_LIMITS.payloadBytes.
 * Throws REPORT_TOO_LARGE, REPORT_NOT_JSON, REPORT_INVALID.
 */
export function parseReportPayload(payload: Uint8Array | string): Report {
  // A string longer than the limit in UTF-16 units is too large in UTF-8 too: refuse before encoding it.
  const size =
    typeof payload === 'string'
      ? payload.length > L.payloadBytes
        ? payload.length
        : utf8Length(payload)
      : payload.byteLength;
  if (size > L.payloadBytes) {
    throw new FleetwardError<ReportErrorCode>('REPORT_TOO_LARGE', 'report exceeds the size limit', {
      details: { bytes: size, limit: L.payloadBytes },
    });
  }
  let value: unknown;
  try {
    const text = typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
    value = JSON.parse(text);
  } catch (err) {
    throw new FleetwardError<ReportErrorCode>('REPORT_NOT_JSON', 'report is not UTF-8 JSON', { cause: err });
  }
  return parseReport(value);
}

/** Returns the canonical report (unknown fields dropped, lists sorted) or throws REPORT_INVALID. */
export function parseReport(input: unknown): Report {
  const result = reportSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new FleetwardError<ReportErrorCode>('REPORT_INVALID', 'report does not match the schema', {
      details: { issues },
    });
  }
  return canonicalize(result.data);
}

/** Sorted lists make equal states equal reports, so detection can compare them as sets. */
function canonicalize(r: Report): Report {
  const byKey =
    <T>(key: (x: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    ...r,
    listening: [...r.listening].sort(byKey((l) => `${l.proto}/${String(l.port).padStart(5, '0')}/${l.addr}`)),
    connections: [...r.connections].sort(
      byKey((c) => `${c.proto}/${c.addr}/${String(c.port).padStart(5, '0')}/${c.localPort}`),
    ),
    resets: [...r.resets].sort(byKey((x) => x.reason)),
  };
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).byteLength;
}

/** Resets of a report split into expected and unexpected counts. */
export function countResets(r: Pick<Report, 'resets'>): { expected: number; unexpected: number } {
  let expected = 0;
  let unexpected = 0;
  for (const x of r.resets) {
    if (isExpectedReset(x.reason)) expected += x.count;
    else unexpected += x.count;
  }
  return { expected, unexpected };
}
