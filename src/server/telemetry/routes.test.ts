import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { isFleetwardError } from '../../protocol/errors.ts';
import { sampleReport } from '../../protocol/testing/sample-report.ts';
import { InProcessBus } from '../bus/in-process-bus.ts';
import { LedgerService } from '../ledger/index.ts';
import { RegistryService } from '../registry/index.ts';
import { enrollTestDevice, eventually, mosquittoPub, mqttJs } from '../testing/mqtt-clients.ts';
import { startTestServer } from '../testing/test-server.ts';
import { freshStore } from '../testing/test-stores.ts';
import { reportsHandler } from './ingest-handler.ts';
import { TelemetryService } from './service.ts';

test('over real MQTT: garbage from one device is counted against it; its neighbour is stored; the API shows both', async (t) => {
  const server = await startTestServer(t);
  const bad = await enrollTestDevice(t, server, 'cam-bad', 'cam');
  const good = await enrollTestDevice(t, server, 'cam-good', 'cam');
  const client = await mqttJs(t, good, server.mqtt.port);
  // The PUBACK to a real mosquitto_pub comes only after the group commit.
  for (const junk of ['{"v":1,', JSON.stringify({ ...sampleReport(), seq: -1 }), 'x'.repeat(20_000)]) {
    const r = await mosquittoPub(bad, server.mqtt.port, 'devices/cam-bad/reports', junk);
    assert.equal(r.code, 0, r.stderr);
  }
  await client.publishAsync('devices/cam-good/reports', JSON.stringify(sampleReport({ seq: 1 })), { qos: 1 });
  await client.publishAsync('devices/cam-good/reports', JSON.stringify(sampleReport({ seq: 1 })), { qos: 1 });
  const auditor = await server.tokenFor('auditor');
  const reports = await server.call('GET', '/api/v1/devices/cam-good/reports?since=0', { token: auditor });
  assert.equal(reports.status, 200);
  assert.equal(reports.body.items.length, 1, 'the re-sent report is stored once');
  assert.equal(reports.body.items[0].report.seq, 1);
  assert.ok(reports.body.items[0].receivedAt > 0 && reports.body.items[0].deviceTime === sampleReport().at);
  const stats = await server.call('GET', '/api/v1/telemetry/stats', { token: auditor });
  assert.equal(stats.body.storedReports, 1);
  assert.equal(stats.body.sinceStart.duplicates, 1);
  assert.deepEqual(
    stats.body.malformed.map((m: { deviceId: string; count: number }) => [m.deviceId, m.count]),
    [['cam-bad', 3]],
  );
  const none = await server.call('GET', '/api/v1/devices/nope/reports', { token: auditor });
  assert.equal(none.body.code, 'DEVICE_NOT_FOUND');
  const badQuery = await server.call('GET', '/api/v1/devices/cam-good/reports?limit=5000', { token: auditor });
  assert.equal(badQuery.status, 400);
  const device = await server.call('GET', '/api/v1/devices/cam-good', { token: auditor });
  assert.ok(device.body.lastSeen > 0, 'contact recorded');
});

test('ingest handler: while the store fails, the PUBACK is held and the report stored once it recovers', async (t) => {
  const store = await freshStore(t, 'sqlite');
  const ledger = new LedgerService(store, { now: () => 1 });
  const bus = new InProcessBus(() => {});
  const registry = new RegistryService(store, ledger, bus, { now: () => 1 });
  const telemetry = new TelemetryService(store, bus, registry, { now: () => 1 });
  // An outage stand-in: every insert fails while the `outage` table has a row.
  await sql`create table outage (x integer)`.execute(store.db);
  await sql`insert into outage values (1)`.execute(store.db);
  await sql`create trigger down before insert on telemetry_reports when exists (select 1 from outage)
    begin select raise(abort, 'down'); end`.execute(store.db);
  const handler = reportsHandler(telemetry, { holdMs: 30_000, retryMs: 20 });
  const msg = {
    deviceId: 'd1',
    channel: 'reports' as const,
    payload: new TextEncoder().encode(JSON.stringify(sampleReport({ seq: 3 }))),
    qos: 1 as const,
    receivedAt: 5,
    source: '127.0.0.1',
  };
  let settled = false;
  const held = handler(msg).then(() => {
    settled = true;
  });
  // Several attempts fail, observably (stats count each failed transaction).
  await eventually(async () => (await telemetry.stats()).sinceStart.storeFailures >= 2, 10_000);
  assert.equal(settled, false, 'not acknowledged while the store is down');
  await sql`delete from outage`.execute(store.db);
  await held;
  assert.equal((await telemetry.stats()).storedReports, 1);
  // A malformed report is not retried: it is rejected at once.
  const bad = handler({ ...msg, payload: new TextEncoder().encode('nope') });
  await assert.rejects(bad, (e) => isFleetwardError(e, 'REPORT_NOT_JSON'));
  // And a store that stays down past the hold gives up with the coded error.
  await sql`insert into outage values (1)`.execute(store.db);
  const short = reportsHandler(telemetry, { holdMs: 100, retryMs: 20 });
  await assert.rejects(
    short({ ...msg, payload: new TextEncoder().encode(JSON.stringify(sampleReport({ seq: 4 }))) }),
    (e) => isFleetwardError(e, 'TELEMETRY_STORE_FAILED'),
  );
});
