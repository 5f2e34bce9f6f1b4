import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { UpdateStatus } from '../../protocol/update-status.ts';
import { forEachDialect } from '../testing/test-stores.ts';
import { TEST_CTX } from './testing/tuf-fixture.ts';
import { type UpdatesFixture, updatesFixture } from './testing/updates-fixture.ts';

const MIN = 60_000;

type Outcome = Partial<UpdateStatus> & { state: UpdateStatus['state'] };

/** Answers every `update` command the outbox holds and has not answered yet, like a fleet of agents. */
async function answer(fx: UpdatesFixture, outcome: (deviceId: string) => Outcome | Outcome[]): Promise<void> {
  for (const { deviceId, command } of fx.outbox.sent) {
    if (answered.has(command)) continue;
    answered.add(command);
    for (const o of [outcome(deviceId)].flat()) {
      await fx.updates.rollouts.handleStatus(deviceId, {
        v: 1,
        rollout: command.rollout as string,
        release: command.release as string,
        at: fx.clock.now(),
        ...o,
      });
    }
  }
}
const answered = new WeakSet<object>();

test('rollout: phases advance only after every device finished and the soak passed (ManualClock)', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const fx = await updatesFixture(t, dialect);
    await fx.fleet(50);
    const release = await fx.release('2.0.0', 2);
    const r = await fx.updates.rollouts.create(
      { releaseId: release.id, phases: [2, 10, 50, 100], soakMs: 10 * MIN, maxFailurePct: 20, minFinished: 5 },
      TEST_CTX,
    );
    assert.equal(fx.outbox.sent.length, 1, 'phase 0: 2 % of 50 → 1 device');
    const cmd = fx.outbox.sent[0]!.command;
    assert.equal(cmd.type, 'update');
    assert.equal(cmd.target, 'lock/lock-2.0.0.fw');
    assert.equal(cmd.securityVersion, 2);
    assert.deepEqual(
      cmd.advisory,
      { cves: ['CVE-2025-0001'], severity: 'high' },
      'the advisory travels with the update',
    );
    const expected = [1, 5, 25, 50];
    for (let phase = 0; phase < 4; phase++) {
      assert.equal(fx.outbox.sent.length, expected[phase], `commands sent by phase ${phase}`);
      await answer(fx, () => [{ state: 'downloading' }, { state: 'succeeded' }]);
      if (phase === 3) break;
      await fx.updates.tick();
      assert.equal((await fx.updates.rollouts.get(r.id)).phase, phase, 'no advance before the soak');
      fx.clock.advance(10 * MIN);
      await fx.updates.tick();
      assert.equal((await fx.updates.rollouts.get(r.id)).phase, phase + 1);
    }
    const done = await fx.updates.rollouts.progress(r.id);
    assert.equal(done.rollout.status, 'succeeded');
    assert.equal(done.counts.succeeded, 50);
    assert.deepEqual(
      done.phases.map((p) => p.devices),
      [1, 4, 20, 25],
    );
  });
});

test('rollout: aborts itself at the failure threshold, says why, and sends nothing more', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(50);
  const release = await fx.release('2.0.0', 2);
  const r = await fx.updates.rollouts.create(
    { releaseId: release.id, phases: [20, 100], soakMs: 0, maxFailurePct: 20, minFinished: 5 },
    TEST_CTX,
  );
  assert.equal(fx.outbox.sent.length, 10);
  let n = 0;
  // Every third device refuses tampered firmware.
  await answer(fx, () =>
    n++ % 3 === 0 ? { state: 'failed', code: 'UPDATE_ARTIFACT_MISMATCH' } : { state: 'succeeded' },
  );
  const p = await fx.updates.rollouts.progress(r.id);
  assert.equal(p.rollout.status, 'aborted');
  assert.match(
    p.rollout.reason!,
    /failure rate \d+\.\d% \(\d+ of \d+ finished\) exceeded 20% after at least 5 finished; reasons: UPDATE_ARTIFACT_MISMATCH×\d/,
  );
  await fx.updates.tick();
  assert.equal(fx.outbox.sent.length, 10, 'phase 1 never started');
  // Failures below minFinished do not abort.
  const fx2 = await updatesFixture(t);
  await fx2.fleet(20);
  const rel2 = await fx2.release('1.0.0', 1);
  const r2 = await fx2.updates.rollouts.create(
    { releaseId: rel2.id, phases: [100], maxFailurePct: 10, minFinished: 5 },
    TEST_CTX,
  );
  const first = fx2.outbox.sent.slice(0, 3);
  for (const s of first) {
    await fx2.updates.rollouts.handleStatus(s.deviceId, {
      v: 1,
      rollout: r2.id,
      release: rel2.id,
      state: 'failed',
      code: 'UPDATE_HEALTH_CHECK_FAILED',
      at: 0,
    });
  }
  assert.equal((await fx2.updates.rollouts.get(r2.id)).status, 'running', '3 finished < minFinished 5');
  const ledger = await fx2.store.db
    .withTables<{ ledger: { action: string; details: string } }>()
    .selectFrom('ledger')
    .selectAll()
    .where('action', '=', 'update.result')
    .execute();
  assert.equal(ledger.length, 3, 'each refusal is recorded with its code');
  assert.match(ledger[0]!.details, /UPDATE_HEALTH_CHECK_FAILED/);
});

test('rollout: auto-rollback sends the previous release to the devices reached', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(10);
  const previous = await fx.release('1.0.0', 1);
  const release = await fx.release('2.0.0', 2);
  const r = await fx.updates.rollouts.create(
    { releaseId: release.id, phases: [100], maxFailurePct: 10, minFinished: 2, autoRollback: true },
    TEST_CTX,
  );
  const [a, b, c] = fx.outbox.sent.map((s) => s.deviceId);
  await fx.updates.rollouts.handleStatus(a!, { v: 1, rollout: r.id, release: release.id, state: 'succeeded', at: 0 });
  await fx.updates.rollouts.handleStatus(b!, {
    v: 1,
    rollout: r.id,
    release: release.id,
    state: 'rolled-back',
    code: 'UPDATE_HEALTH_CHECK_FAILED',
    at: 0,
  });
  assert.equal((await fx.updates.rollouts.get(r.id)).status, 'aborted');
  const back = fx.outbox.to(a!).at(-1)!;
  assert.equal(back.release, previous.id, 'the reached device is sent the previous release');
  assert.equal(fx.outbox.to(b!).length, 1, 'the device that fell back itself needs nothing');
  await fx.updates.rollouts.handleStatus(a!, { v: 1, rollout: r.id, release: previous.id, state: 'succeeded', at: 0 });
  const p = await fx.updates.rollouts.progress(r.id);
  assert.equal(p.devices.find((d) => d.deviceId === a)!.state, 'reverted');
  assert.equal(p.devices.find((d) => d.deviceId === c)!.state, 'reverting');
});

test('rollout: pause holds it, resume continues, cancel ends it; state conflicts are coded', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(10);
  const release = await fx.release('2.0.0', 2);
  const r = await fx.updates.rollouts.create({ releaseId: release.id, phases: [10, 100], soakMs: 0 }, TEST_CTX);
  await fx.updates.rollouts.pause(r.id, TEST_CTX);
  await answer(fx, () => ({ state: 'succeeded' }));
  await fx.updates.tick();
  assert.equal(fx.outbox.sent.length, 1, 'paused: no next phase');
  await assert.rejects(fx.updates.rollouts.pause(r.id, TEST_CTX), (e) => isFleetwardError(e, 'ROLLOUT_STATE_CONFLICT'));
  await fx.updates.rollouts.resume(r.id, TEST_CTX);
  assert.equal(fx.outbox.sent.length, 10, 'resumed: the next phase went out');
  await fx.updates.rollouts.cancel(r.id, TEST_CTX);
  await assert.rejects(fx.updates.rollouts.resume(r.id, TEST_CTX), (e) =>
    isFleetwardError(e, 'ROLLOUT_STATE_CONFLICT'),
  );
  assert.match((await fx.updates.rollouts.get(r.id)).reason!, /cancelled by operator:test/);
});

test('rollout: a device enrolled later that matches the target joins; targeting by tag', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(4, { tags: ['site:berlin'] });
  const release = await fx.release('2.0.0', 2);
  const r = await fx.updates.rollouts.create(
    { releaseId: release.id, target: { tags: ['site:berlin'] }, phases: [100] },
    TEST_CTX,
  );
  assert.equal(fx.outbox.sent.length, 4);
  await fx.registry.createDevice({ id: 'late-1', productId: 'lock', serial: 'L1', tags: ['site:berlin'] }, TEST_CTX);
  await fx.registry.createDevice({ id: 'late-2', productId: 'lock', serial: 'L2', tags: ['site:paris'] }, TEST_CTX);
  for (const id of ['late-1', 'late-2']) {
    await fx.registry.setDeviceStatus(id, 'active', 'enrolled', TEST_CTX);
    await fx.bus.publish('device.enrolled', { deviceId: id, productId: 'lock', serial: id, via: 'token' });
  }
  await fx.bus.close();
  assert.equal(fx.outbox.to('late-1').length, 1, 'the matching device joined');
  assert.equal(fx.outbox.to('late-2').length, 0, 'the other site did not');
  assert.equal((await fx.updates.rollouts.progress(r.id)).total, 5);
});

test('rollout: the gate refuses a release below its minimum safety score, and unsigned releases', async (t) => {
  const fx = await updatesFixture(t);
  await fx.fleet(2);
  const release = await fx.release('2.0.0', 2, { minSafetyScore: 70 });
  fx.scores.set(release.sha256, 42);
  await assert.rejects(fx.updates.rollouts.create({ releaseId: release.id }, TEST_CTX), (e) => {
    assert.ok(isFleetwardError(e, 'RELEASE_GATE_FAILED'));
    assert.deepEqual(e.details, { score: 42, minSafetyScore: 70 });
    return true;
  });
  fx.scores.set(release.sha256, 85);
  const r = await fx.updates.rollouts.create({ releaseId: release.id }, TEST_CTX);
  assert.equal(r.status, 'running');
  assert.equal((await fx.updates.releases.getRelease(release.id)).safetyScore, 85);
  await assert.rejects(fx.updates.rollouts.create({ releaseId: release.id, phases: [50, 40, 100] }, TEST_CTX), (e) =>
    isFleetwardError(e, 'ROLLOUT_INVALID'),
  );
});
