import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forEachDialect } from '../testing/test-stores.ts';
import { TEST_CTX } from './testing/tuf-fixture.ts';
import { updatesFixture } from './testing/updates-fixture.ts';

test('rollout driver: an unreachable device goes back to pending (SEND_FAILED) and the next tick retries it', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const fx = await updatesFixture(t, dialect);
    const ids = await fx.fleet(6);
    fx.outbox.unreachable = new Set(ids.slice(0, 2));
    const r = await fx.updates.rollouts.create(
      { releaseId: (await fx.release('2.0.0', 2)).id, phases: [100] },
      TEST_CTX,
    );
    assert.equal(fx.outbox.sent.length, 4, 'the reachable devices got the command');
    const p = await fx.updates.rollouts.progress(r.id);
    assert.equal(p.counts.pending, 2);
    assert.deepEqual(
      p.devices.filter((d) => d.state === 'pending').map((d) => d.reason),
      ['SEND_FAILED', 'SEND_FAILED'],
    );
    fx.outbox.unreachable.clear();
    await fx.updates.tick();
    assert.equal(fx.outbox.sent.length, 6, 'retried once reachable');
    assert.equal((await fx.updates.rollouts.progress(r.id)).counts.sent, 6);
  });
});

test('rollout progress: counts cover every device, devices come in bounded pages', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(7);
  const r = await fx.updates.rollouts.create({ releaseId: (await fx.release('2.0.0', 2)).id, phases: [100] }, TEST_CTX);
  const seen: string[] = [];
  let after: number | undefined;
  for (;;) {
    const p = await fx.updates.rollouts.progress(r.id, { after, limit: 3 });
    assert.equal(p.total, 7);
    assert.ok(p.devices.length <= 3);
    seen.push(...p.devices.map((d) => d.deviceId));
    if (p.nextDevices === null) break;
    after = p.nextDevices;
  }
  assert.equal(new Set(seen).size, 7, 'every device once across the pages');
});
