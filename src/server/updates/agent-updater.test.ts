import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type UpdateCommand, Updater } from '../../agent/update/updater.ts';
import type { UpdateStatus } from '../../protocol/update-status.ts';
import { type TufFixture, tufFixture } from './testing/tuf-fixture.ts';

/** The agent's updater against a real TUF repository and mirror: A/B, anti-rollback, fallback, resume. */
const image = (v: string) => Buffer.from(`firmware ${v} `.repeat(4096));

function agent(fx: TufFixture, healthy: (image: string) => boolean = () => true) {
  const reports: UpdateStatus[] = [];
  const dir = fx.newClientDir();
  const updater = new Updater({
    dir,
    report: (s) => {
      reports.push(s);
    },
    healthCheck: async (_slot, img) => healthy(img),
    now: () => Date.now(),
    // A 300 ms stall counts as a broken link here, so the test need not wait 30 s.
    fetch: { timeoutMs: 10_000, stallMs: 300, retries: 3 },
  });
  return { updater, reports, dir };
}

function command(path: string, release: string, version: string, securityVersion: number, url: string): UpdateCommand {
  return {
    v: 1,
    id: `c-${release}`,
    issuedAt: 0,
    type: 'update',
    release,
    version,
    metadataUrl: url,
    target: path,
    securityVersion,
    rollout: 'ro-1',
  };
}

test('updater: verifies, installs into the inactive slot, restarts, checks health, reports every state', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 3, image('1.0.0'));
  const a = agent(fx);
  await a.updater.run(command(path, 'rel-1.0.0', '1.0.0', 3, fx.url));
  assert.deepEqual(
    a.reports.map((r) => r.state),
    ['downloading', 'verifying', 'installing', 'rebooting', 'succeeded'],
  );
  assert.equal(a.reports.at(-1)!.securityVersion, 3);
  const state = await a.updater.slots.load();
  assert.equal(state.active, 'a');
  assert.equal(state.securityVersion, 3);
  assert.deepEqual(readFileSync(a.updater.slots.imagePath('a')), image('1.0.0'));
  // The next release goes to the other slot.
  const { path: p2 } = await fx.publish('lock', '1.1.0', 4, image('1.1.0'));
  await a.updater.run(command(p2, 'rel-1.1.0', '1.1.0', 4, fx.url));
  assert.equal((await a.updater.slots.load()).active, 'b');
});

test('attack: a downgrade to a lower securityVersion is refused before the image is fetched', async (t) => {
  const fx = await tufFixture(t);
  const old = await fx.publish('lock', '1.0.0', 3, image('1.0.0'));
  const current = await fx.publish('lock', '2.0.0', 7, image('2.0.0'));
  const a = agent(fx);
  await a.updater.run(command(current.path, 'rel-2.0.0', '2.0.0', 7, fx.url));
  assert.equal(a.reports.at(-1)!.state, 'succeeded');
  const before = fx.requests.length;
  // A properly signed but older release: the attacker replays a real, vulnerable image.
  await a.updater.run(command(old.path, 'rel-1.0.0', '1.0.0', 3, fx.url));
  const last = a.reports.at(-1)!;
  assert.equal(last.state, 'failed');
  assert.equal(last.code, 'UPDATE_SECURITY_VERSION_DOWNGRADE');
  assert.ok(
    !fx.requests.slice(before).some((r) => r.includes(old.sha256)),
    `the old image was never downloaded: ${fx.requests.slice(before).join('; ')}`,
  );
  const state = await a.updater.slots.load();
  assert.equal(state.active, 'a');
  assert.equal(state.slots.a!.version, '2.0.0');
  // A command lying about the security version is refused too: only the signed value counts.
  await a.updater.run(command(old.path, 'rel-1.0.0', '1.0.0', 9, fx.url));
  assert.equal(a.reports.at(-1)!.code, 'UPDATE_COMMAND_MISMATCH');
});

test('updater: a failed health check falls back to the previous slot and keeps the floor', async (t) => {
  const fx = await tufFixture(t);
  const good = await fx.publish('lock', '1.0.0', 1, image('1.0.0'));
  const bad = await fx.publish('lock', '1.1.0', 2, image('1.1.0-broken'));
  const a = agent(fx, (img) => !readFileSync(img, 'utf8').includes('broken'));
  await a.updater.run(command(good.path, 'rel-1.0.0', '1.0.0', 1, fx.url));
  await a.updater.run(command(bad.path, 'rel-1.1.0', '1.1.0', 2, fx.url));
  assert.deepEqual(
    a.reports.slice(5).map((r) => r.state),
    ['downloading', 'verifying', 'installing', 'rebooting', 'rolled-back'],
  );
  assert.equal(a.reports.at(-1)!.code, 'UPDATE_HEALTH_CHECK_FAILED');
  const state = await a.updater.slots.load();
  assert.equal(state.active, 'a', 'back on the previous slot');
  assert.equal(state.securityVersion, 1, 'the floor only rises for a healthy release');
});

test('updater: a download broken mid-way resumes with an HTTP Range request', async (t) => {
  const fx = await tufFixture(t);
  const big = image('3.0.0');
  const { path, sha256 } = await fx.publish('lock', '3.0.0', 1, big);
  const name = `targets/lock/${sha256}.lock-3.0.0.fw`;
  let served = 0;
  fx.overrides.set(name, (req, res) => {
    const range = req.headers.range;
    if (!range && served++ === 0) {
      // First attempt: half the image, then the link stalls (and is closed when the test ends).
      res.writeHead(200, { 'content-length': big.length });
      res.write(big.subarray(0, big.length >> 1));
      return;
    }
    const start = Number(/bytes=(\d+)-/.exec(range ?? 'bytes=0-')![1]);
    res.writeHead(206, { 'content-range': `bytes ${start}-${big.length - 1}/${big.length}` });
    res.end(big.subarray(start));
  });
  const a = agent(fx);
  await a.updater.run(command(path, 'rel-3.0.0', '3.0.0', 1, fx.url));
  assert.equal(a.reports.at(-1)!.state, 'succeeded', JSON.stringify(a.reports.at(-1)));
  const ranged = fx.requests.filter((r) => r.startsWith(`GET ${name} range=`));
  assert.equal(ranged.length, 1, fx.requests.join('; '));
  assert.ok(Number(/bytes=(\d+)-/.exec(ranged[0]!)![1]) > 0, 'resumed past the bytes already received');
  assert.deepEqual(readFileSync(a.updater.slots.imagePath('a')), big);
});

test('updater: an update interrupted after the switch is settled when the agent starts again', async (t) => {
  const fx = await tufFixture(t);
  const { path } = await fx.publish('lock', '1.0.0', 2, image('1.0.0'));
  const a = agent(fx);
  // Simulate a power cut during the restart: the process "dies" in restart().
  const crashing = new Updater({
    dir: a.dir,
    report: (s) => {
      a.reports.push(s);
    },
    restart: async () => {
      throw new Error('power lost');
    },
    healthCheck: async () => true,
    now: () => Date.now(),
  });
  await crashing.run(command(path, 'rel-1.0.0', '1.0.0', 2, fx.url));
  assert.notEqual((await a.updater.slots.load()).trial, null, 'the trial survived the crash');
  await a.updater.recover();
  const s = await a.updater.slots.load();
  assert.equal(s.trial, null);
  assert.equal(s.securityVersion, 2);
  assert.equal(a.reports.at(-1)!.state, 'succeeded');
  assert.equal(a.reports.at(-1)!.rollout, 'ro-1');
});
