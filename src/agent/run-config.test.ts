import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isFleetwardError } from '../protocol/errors.ts';
import { detectFirmware, parseBroker, parseInterval, resolveEndpoints } from './run-config.ts';

const invalid = (e: unknown) => isFleetwardError(e, 'AGENT_CONFIG_INVALID');

test('broker and interval flags: accepted forms and refusals', () => {
  assert.deepEqual(parseBroker('fleet.example:8883'), { host: 'fleet.example', port: 8883 });
  assert.deepEqual(parseBroker('[::1]:8883'), { host: '::1', port: 8883 });
  for (const bad of ['fleet.example', 'x:0', 'x:70000', 'a b:1', 'mqtts://x:1'])
    assert.throws(() => parseBroker(bad), invalid);
  assert.equal(parseInterval(undefined), 300_000);
  assert.equal(parseInterval('5'), 5_000);
  for (const bad of ['4', '0', '1.5', '-5', 'five', '100000']) assert.throws(() => parseInterval(bad), invalid);
});

test('endpoints are remembered in DIR/agent.json; a first run without --broker is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-runcfg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(resolveEndpoints(dir, {}), invalid);
  await resolveEndpoints(dir, { broker: 'b.example:8883', server: 'https://fleet.example' });
  assert.deepEqual(await resolveEndpoints(dir, {}), {
    broker: { host: 'b.example', port: 8883 },
    server: 'https://fleet.example',
  });
  writeFileSync(join(dir, 'agent.json'), '{"broker":{"host":1}}');
  await assert.rejects(resolveEndpoints(dir, {}), invalid, 'a damaged file is not trusted');
});

test('firmware version: flag, else os-release, else unknown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-osrel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'os-release');
  writeFileSync(f, 'NAME="Debian GNU/Linux"\nVERSION_ID="12"\n');
  assert.equal(await detectFirmware('2.0.1', f), '2.0.1');
  assert.equal(await detectFirmware(undefined, f), '12');
  assert.equal(await detectFirmware(undefined, join(dir, 'missing')), 'unknown');
});
