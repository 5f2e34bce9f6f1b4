/**
 * The fleet simulator against a real server (SQLite, built-in mTLS broker, group-committed ingest):
 * 1,000 enrolled identities, each on its own mTLS MQTT connection, reporting in accelerated time.
 * Baseline from the same run: 50 devices under the same per-device load. Reported: identities and
 * reports stored, connect rate (TLS handshake + CONNACK with certificate checks), and ingest rate as a
 * share of the offered rate (1.00 = the server keeps up). Run alone: `node bench/simulate.bench.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { systemClock } from '../src/protocol/clock.ts';
import { parseServeConfig } from '../src/server/config.ts';
import { startServer } from '../src/server/main.ts';
import { validateOptions } from '../src/simulator/options.ts';
import { runSimulation } from '../src/simulator/simulate.ts';
import type { BenchResult } from './bench.types.ts';

const BIG = Number(process.env.SIM_BENCH_DEVICES ?? 1000);
const BASELINE = 50;
/** 5-minute reports at 600x: every device reports every 0.5 s of real time. */
const SPEED = 600;
const INTERVAL_MS = 300_000;
const DURATION_MS = 3_600_000;

interface Case {
  devices: number;
  stored: number;
  identities: number;
  acked: number;
  connectPerS: number;
  ingestPerS: number;
  offeredPerS: number;
  largestBatch: number;
  batches: number;
}

async function measure(devices: number): Promise<Case> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-bench-sim-'));
  const config = parseServeConfig(['--data', dir, '--port', '0', '--mqtt-port', '0', '--log-level', 'silent'], {});
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  try {
    const boot = await fetch(`${server.url}/api/v1/bootstrap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ bootstrapToken: server.bootstrapToken, name: 'bench' }),
    });
    const token = ((await boot.json()) as { token: { token: string } }).token.token;
    const result = await runSimulation(
      validateOptions({
        server: server.url,
        token,
        product: 'bench',
        profile: 'mixed',
        devices,
        speed: SPEED,
        durationMs: DURATION_MS,
        intervalMs: INTERVAL_MS,
        scenarios: [],
        labels: null,
        seed: 7,
        idPrefix: 'bench',
        concurrency: 32,
        startAt: Date.UTC(2026, 0, 1),
      }),
      { clock: systemClock, log: () => {} },
    );
    const stats = await server.services.telemetry.stats();
    const ids = await server.services.registry.listDevices({ productId: 'bench' }, undefined, 10_000);
    const withReports = await Promise.all(
      ids.items.map(async (d) => (await server.services.telemetry.listReports(d.id, { limit: 1 })).items.length > 0),
    );
    return {
      devices,
      stored: stats.storedReports,
      identities: withReports.filter(Boolean).length,
      acked: result.reportsAcked,
      connectPerS: devices / (result.connectMs / 1000),
      ingestPerS: result.reportsAcked / (result.runMs / 1000),
      offeredPerS: (devices * SPEED * 1000) / INTERVAL_MS,
      largestBatch: stats.sinceStart.largestBatch,
      batches: stats.sinceStart.batches,
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult> {
  const base = await measure(BASELINE);
  const big = await measure(BIG);
  const row = (c: Case) => ({
    devices: c.devices,
    'identities with stored reports': c.identities,
    'reports stored / acknowledged': `${c.stored} / ${c.acked}`,
    'connect rate vs baseline': Number((c.connectPerS / base.connectPerS).toFixed(2)),
    'connects/s (noisy)': Math.round(c.connectPerS),
    'ingest / offered': Number((c.ingestPerS / c.offeredPerS).toFixed(2)),
    'ingest rate vs baseline': Number((c.ingestPerS / base.ingestPerS).toFixed(2)),
    'reports per transaction (avg / max)': `${(c.stored / Math.max(1, c.batches)).toFixed(1)} / ${c.largestBatch}`,
  });
  return {
    name: `simulate: ${BIG} devices vs ${BASELINE} (each its own identity and mTLS session; SQLite)`,
    rows: [row(base), row(big)],
    summary:
      `${big.identities}/${BIG} identities stored reports; ${big.stored} reports stored of ${big.acked} acknowledged; ` +
      `ingest kept ${(big.ingestPerS / big.offeredPerS).toFixed(2)} of the offered ${Math.round(big.offeredPerS)} reports/s ` +
      `(${(big.ingestPerS / base.ingestPerS).toFixed(1)}x the ${BASELINE}-device rate)`,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await run();
  console.table(r.rows);
  console.log(r.summary);
}
