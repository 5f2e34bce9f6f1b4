import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandHealthCheck, updateAction } from './actions.ts';
import { Updater } from './updater.ts';

test('health check command: exit 0 is healthy, anything else (or a missing program) is not', async () => {
  assert.equal(await commandHealthCheck(['true'])('a', '/x'), true);
  assert.equal(await commandHealthCheck(['false'])('a', '/x'), false);
  assert.equal(await commandHealthCheck(['/nonexistent/health'])('a', '/x'), false);
  assert.equal(await commandHealthCheck(['sh', '-c', 'test "$FLEETWARD_SLOT" = b'])('b', '/x'), true);
});

test('update action: accepted at once, a second one while busy is rejected with UPDATE_BUSY', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fleetward-upd-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const states: string[] = [];
  const updater = new Updater({
    dir,
    report: (s) => void states.push(`${s.state}:${s.code ?? ''}`),
    healthCheck: async () => true,
    now: () => 0,
  });
  const act = updateAction(updater);
  const cmd = {
    v: 1,
    id: 'c1',
    issuedAt: 0,
    type: 'update' as const,
    release: 'r',
    version: '1',
    metadataUrl: 'http://127.0.0.1:9/tuf/',
    target: 'p/p-1.fw',
  };
  assert.equal((await act(cmd)).status, 'ok');
  assert.deepEqual(await act({ ...cmd, id: 'c2' }), { status: 'rejected', code: 'UPDATE_BUSY' });
  await updater.idle();
  // No trusted root pinned: refused before any network access.
  assert.deepEqual(states, ['downloading:', 'failed:UPDATE_TRUST_ROOT_MISSING']);
});
