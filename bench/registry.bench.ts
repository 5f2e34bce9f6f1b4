import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

/**
 * Device list queries at 100k devices. Baseline: the first page with no filter (a primary-key walk).
 * Every filter should stay within a small factor of it; a missing index shows as a ratio in the hundreds.
 */
export async function run(): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-bench-'));
  const store = await openStore({ dataDir: dir });
  try {
    await seed(store);
    const registry = new RegistryService(
      store,
      new LedgerService(store, new ManualClock()),
      new InProcessBus(() => {}),
      new ManualClock(),
    );
    const cases: Array<[string, DeviceFilter, string | undefined]> = [
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
    const rows: BenchResult['rows'] = [];
    let baseline = 0;
    for (const [name, filter, after] of cases) {
      const ms = await medianMs(() => registry.listDevices(filter, after, PAGE));
      if (!baseline) baseline = ms;
      rows.push({ query: name, 'ratio to baseline': Number((ms / baseline).toFixed(2)) });
    }
    const worst = Math.max(...rows.map((r) => r['ratio to baseline'] as number));
    return {
      name: `registry: device list at ${DEVICES.toLocaleString('en')} devices (SQLite)`,
      rows,
      summary: `worst filter/baseline ratio: ${worst.toFixed(2)}`,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
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
