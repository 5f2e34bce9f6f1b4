import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { detectReset, MARKER_FILE, writeRebootMarker } from './resets.ts';

test('a new boot with the marker of the previous boot is the planned reason; without it, unknown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-resets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.equal(await detectReset(dir, null, 'b1'), null, 'first run: nothing to compare');
  assert.equal(await detectReset(dir, 'b1', 'b1'), null, 'same boot: no reset');
  await writeRebootMarker(dir, 'b1', 'firmware-update');
  assert.equal(await detectReset(dir, 'b1', 'b2'), 'firmware-update');
  assert.equal(existsSync(join(dir, MARKER_FILE)), false, 'the marker is consumed');
  assert.equal(await detectReset(dir, 'b2', 'b3'), 'unknown', 'no marker: an unexpected reset');
  await writeRebootMarker(dir, 'b0', 'user-request');
  assert.equal(await detectReset(dir, 'b3', 'b4'), 'unknown', 'a stale marker from an older boot is ignored');
  writeFileSync(join(dir, MARKER_FILE), '{"boot":"b4","reason":"gremlins"}');
  assert.equal(await detectReset(dir, 'b4', 'b5'), 'unknown', 'a marker with a bogus reason is ignored');
  writeFileSync(join(dir, MARKER_FILE), 'not json');
  assert.equal(await detectReset(dir, 'b5', 'b6'), 'unknown');
});
