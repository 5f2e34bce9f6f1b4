import assert from 'node:assert/strict';
import { test } from 'node:test';
import { systemClock } from '../../protocol/clock.ts';
import { parseScenarioSpec } from '../../simulator/options.ts';
import { runSimulation } from '../../simulator/simulate.ts';
import { startTestServer } from '../testing/test-server.ts';
import { recommendedProfile, SCENARIO_BEHAVIOURS } from './recommended-profile.ts';
import { scoreDetections } from './testing/detection-score.ts';

const DEVICES = 24;
const START = Date.UTC(2026, 2, 2, 0, 0, 0);

/**
 * Done-when: the simulator's fleet (real enrollment, one mTLS MQTT session per device, QoS 1 reports
 * through the real broker, ingest and bus) with one labelled attack of each kind; every attack raises
 * one of its expected alarms on its device, and no benign device alarms at all.
 */
test('simulator end to end: every scenario raises the right alarm on the right device; benign devices stay quiet', async (t) => {
  const server = await startTestServer(t, { config: { detectDeviceTime: true } });
  await server.services.profiles.create(recommendedProfile('fleet', [{ kind: 'product', value: 'simfleet' }]), {
    actor: 'operator:test',
    source: null,
  });
  // Attacks after the first 8 simulated hours (learning and training take 6); one device each.
  const scenarios = [
    'botnet-ddos@1:8h-9h',
    'port-open@5:8h30m-9h30m',
    'exfiltration@9:9h-10h',
    'reset-storm@13:9h-10h',
    'brute-force@17:9h30m-10h30m',
    'scanner@21:10h-11h',
  ].map(parseScenarioSpec);
  const result = await runSimulation(
    {
      server: server.url,
      token: server.adminToken,
      product: 'simfleet',
      profile: 'mixed',
      devices: DEVICES,
      speed: 3600,
      durationMs: 12 * 3_600_000,
      intervalMs: 5 * 60_000,
      scenarios,
      labels: null,
      seed: 7,
      idPrefix: 'sim',
      concurrency: 8,
      startAt: START,
    },
    { clock: systemClock, log: () => {} },
  );
  assert.equal(result.publishFailures, 0);
  await server.services.detect.idle();
  await server.services.respond.idle();

  const alarms: Array<{ deviceId: string; behaviour: string; raisedAt: number }> = [];
  let after: string | null = null;
  do {
    const q: string = after ? `&after=${after}` : '';
    const page = await server.call('GET', `/api/v1/alarms?limit=1000${q}`, { token: server.adminToken });
    alarms.push(...page.body.items);
    after = page.body.next;
  } while (after);
  const raises = alarms.map((a) => ({ deviceId: a.deviceId, behaviour: a.behaviour, at: a.raisedAt }));
  const score = scoreDetections(result.labels, raises, SCENARIO_BEHAVIOURS, 30 * 60_000);
  for (const s of score.perScenario) assert.equal(s.detected, s.attacks, `${s.scenario} detected`);
  assert.equal(score.perScenario.length, 6);
  const attacked = new Set(result.labels.map((l) => l.device));
  const benign = raises.filter((r) => !attacked.has(r.deviceId));
  assert.deepEqual(benign, [], 'no benign device alarms');
  assert.deepEqual(score.falseAlarms, [], 'no alarm outside an attack window');
});
