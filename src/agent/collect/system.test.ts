import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isFleetwardError } from '../../protocol/errors.ts';
import { REAL_PROC, readProc } from './proc-files.ts';
import { readBootId, readUptime } from './system.ts';

test('boot id and uptime come from the real /proc', async () => {
  const id = await readBootId(REAL_PROC);
  assert.equal(id, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  assert.ok((await readUptime(REAL_PROC)) > 0);
});

test('an unreadable /proc file is a coded error', async () => {
  await assert.rejects(readProc({ root: '/nonexistent' }, 'uptime'), (e) =>
    isFleetwardError(e, 'AGENT_PROC_UNREADABLE'),
  );
});
