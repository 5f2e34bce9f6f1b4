import type { TestContext } from 'node:test';
import type { RegistryTables } from '../src/server/registry/store.ts';
import { TEST_CTX } from '../src/server/updates/testing/tuf-fixture.ts';
import { type UpdatesFixture, updatesFixture } from '../src/server/updates/testing/updates-fixture.ts';
import { type BenchResult, medianMs } from './bench.types.ts';

const BASELINE = 1_000;
const DEVICES = 100_000;
const RUNS = 15;

/**
 * Rollout evaluation at 100k devices on SQLite: one update-status message (a device finishing, which
 * re-evaluates the abort criterion and the phase) and one scheduler tick, against the same at 1k
 * devices in the same run. Evaluation reads aggregates and pages, so the ratio should stay near 1;
 * listing every device per message (the old way) showed as a ratio near 100.
 */
export async function run(): Promise<BenchResult> {
  const base = await measure(BASELINE);
  const big = await measure(DEVICES);
  const row = (name: string, a: number, b: number) => ({
    operation: name,
    [`${BASELINE.toLocaleString('en')} devices, ms`]: Number(a.toFixed(2)),
    [`${DEVICES.toLocaleString('en')} devices, ms`]: Number(b.toFixed(2)),
    ratio: Number((b / a).toFixed(2)),
  });
  const rows = [
    row('update-status message (device finished)', base.status, big.status),
    row('tick', base.tick, big.tick),
  ];
  const worst = Math.max(...rows.map((r) => r.ratio));
  return {
    name: `rollout: evaluation at ${DEVICES.toLocaleString('en')} devices vs ${BASELINE.toLocaleString('en')} (SQLite)`,
    rows,
    summary: `worst 100k/1k ratio: ${worst.toFixed(2)} (1 = independent of fleet size)`,
  };
}

async function measure(devices: number): Promise<{ status: number; tick: number }> {
  // The fixture wants a test context only to register clean-ups; run them when done.
  const cleanups: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => void cleanups.push(fn) } as unknown as TestContext;
  try {
    const fx = await updatesFixture(t, 'sqlite');
    const release = await fx.release('2.0.0', 2);
    await seedDevices(fx, devices);
    const r = await fx.updates.rollouts.create(
      { releaseId: release.id, phases: [5, 50, 100], soakMs: 3_600_000, maxFailurePct: 50, minFinished: 5 },
      TEST_CTX,
    );
    const sent = fx.outbox.sent.map((s) => s.deviceId);
    const total = (await fx.updates.rollouts.progress(r.id, { limit: 1 })).total;
    if (total !== devices) throw new Error(`the rollout holds ${total} devices, not ${devices}`);
    if (sent.length < RUNS * 2) throw new Error(`phase 0 sent only ${sent.length} commands`);
    let next = 0;
    // Each run: a different device reports success (a finishing report triggers the full evaluation).
    const status = await medianMs(
      () =>
        fx.updates.rollouts.handleStatus(sent[next++]!, {
          v: 1,
          rollout: r.id,
          release: release.id,
          state: 'succeeded',
          at: fx.clock.now(),
        }),
      RUNS,
    );
    const tick = await medianMs(() => fx.updates.rollouts.tick(), RUNS);
    return { status, tick };
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

/** Active devices of product `lock`, inserted in bulk (the registry's API would take minutes at 100k). */
async function seedDevices(fx: UpdatesFixture, n: number): Promise<void> {
  const BATCH = 500;
  for (let start = 0; start < n; start += BATCH) {
    await fx.store.transaction(async (tx) => {
      const rows = [];
      for (let i = start; i < Math.min(n, start + BATCH); i++) {
        rows.push({
          id: `dev-${String(i).padStart(6, '0')}`,
          product_id: 'lock',
          serial: `S${i}`,
          group_name: null,
          zone: 'default',
          status: 'active',
          tags: '[]',
          first_seen: null,
          last_seen: null,
          created_at: 0,
          updated_at: 0,
        });
      }
      await tx.withTables<RegistryTables>().insertInto('devices').values(rows).execute();
    });
  }
}
