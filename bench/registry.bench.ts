import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { ManualClock } from '../src/protocol/clock.ts';
import { InProcessBus } from '../src/server/bus/in-process-bus.ts';
import { LedgerService } from '../src/server/ledger/index.ts';
import { type DeviceFilter, RegistryService } from '../src/server/registry/index.ts';
import type { RegistryTables } from '../src/server/registry/store.ts';
import { openStore } from '../src/server/store/open-store.ts';
import type { Store } from '../src/server/store/store.types.ts';
import { type BenchResult, medianMs } from './bench.types.ts';

const DEVICES = 100_000;
const PAGE = 100;

const CASES: Array<[string, DeviceFilter, string | undefined]> = [
  ['no filter, first page (baseline)', {}, undefined],
  ['no filter, page deep in the list', {}, 'dev-090000'],
  ['by product', { productId: 'meter' }, undefined],
  ['by status (rare: quarantined)', { status: 'quarantined' }, undefined],
  ['by group', { group: 'g-17' }, undefined],
  ['by one tag', { tags: ['site:s-42'] }, undefined],
  ['by two tags', { tags: ['site:s-42', 'batch:b-3'] }, undefined],
  ['product + tag + deep cursor', { productId: 'lock', tags: ['batch:b-3'] }, 'dev-050000'],
  ['id prefix', { idPrefix: 'dev-0777' }, undefined],
];

/**
 * Device list queries at 100k devices, on SQLite and (when reachable) PostgreSQL. Baseline: the first
 * page with no filter (a primary-key walk) on the same database. Every filter should stay within a small
 * factor of it; a missing index shows as a ratio in the hundreds.
 */
export async function run(): Promise<BenchResult> {
  const ratios: Record<string, Record<string, number>> = {};
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const db = await freshDatabase(dialect);
    if (!db) continue;
    const store = await openStore({ databaseUrl: db.url, dataDir: db.dir });
    try {
      await seed(store);
      // Autovacuum would gather statistics soon after a bulk load; do it now so plans are realistic.
      if (dialect === 'postgres') await sql`analyze`.execute(store.db);
      const clock = new ManualClock();
      const registry = new RegistryService(store, new LedgerService(store, clock), new InProcessBus(() => {}), clock);
      let baseline = 0;
      for (const [name, filter, after] of CASES) {
        const ms = await medianMs(() => registry.listDevices(filter, after, PAGE));
        if (!baseline) baseline = ms;
        ratios[name] = { ...ratios[name], [dialect]: Number((ms / baseline).toFixed(2)) };
      }
    } finally {
      await store.close();
      await db.drop();
    }
  }
  const rows: BenchResult['rows'] = CASES.map(([name]) => ({ query: name, ...ratios[name] }));
  const worst = Math.max(...Object.values(ratios).flatMap((r) => Object.values(r)));
  return {
    name: `registry: device list at ${DEVICES.toLocaleString('en')} devices, ratio to the unfiltered first page`,
    rows,
    summary: `worst filter/baseline ratio: ${worst.toFixed(2)}${ratios[CASES[0]![0]]?.postgres ? '' : ' (PostgreSQL not reachable: SQLite only)'}`,
  };
}

/** A temp SQLite directory, or a new schema on the machine's PostgreSQL (null when unreachable). */
async function freshDatabase(
  dialect: 'sqlite' | 'postgres',
): Promise<{ url: string; dir: string; drop: () => Promise<void> } | null> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-bench-'));
  const removeDir = async () => rmSync(dir, { recursive: true, force: true });
  if (dialect === 'sqlite') return { url: '', dir, drop: removeDir };
  const base = process.env.FLEETWARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
    await admin.query(`create schema ${schema}`);
  } catch {
    await removeDir();
    return null;
  } finally {
    await admin.end().catch(() => {});
  }
  const url = new URL(base);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const drop = async () => {
    const c = new pg.Client({ connectionString: base });
    await c.connect();
    await c.query(`drop schema ${schema} cascade`);
    await c.end();
    await removeDir();
  };
  return { url: url.toString(), dir, drop };
}

async function seed(store: Store): Promise<void> {
  const db = store.db.withTables<RegistryTables>();
  for (const id of ['lock', 'meter', 'heater']) {
    await db
      .insertInto('products')
      .values({
        id,
        name: id,
        model: id,
        manufacturer: 'Acme',
        description: '',
        support_end: '2030-01-01',
        created_at: 0,
        updated_at: 0,
      })
      .execute();
  }
  const BATCH = 500;
  for (let start = 0; start < DEVICES; start += BATCH) {
    await store.transaction(async (tx) => {
      const t = tx.withTables<RegistryTables>();
      const devices = [];
      const tags = [];
      for (let i = start; i < start + BATCH; i++) {
        const id = `dev-${String(i).padStart(6, '0')}`;
        const deviceTags = [`site:s-${i % 100}`, `batch:b-${i % 7}`];
        devices.push({
          id,
          product_id: ['lock', 'meter', 'heater'][i % 3]!,
          serial: `S${i}`,
          group_name: `g-${i % 50}`,
          zone: 'default',
          status: i % 1000 === 0 ? 'quarantined' : 'active',
          tags: JSON.stringify(deviceTags),
          first_seen: null,
          last_seen: null,
          created_at: 0,
          updated_at: 0,
        });
        for (const tag of deviceTags) tags.push({ device_id: id, tag });
      }
      await t.insertInto('devices').values(devices).execute();
      await t.insertInto('device_tags').values(tags).execute();
    });
  }
}

if (import.meta.main) {
  const r = await run();
  console.table(r.rows);
  console.log(r.summary);
}
