import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readAuthFailures } from './auth-log.ts';

const FAIL = 'Jan 1 00:00:01 dev sshd[42]: Failed password for root from 198.51.100.9 port 40000 ssh2\n';
const OK = 'Jan 1 00:00:02 dev sshd[42]: Accepted publickey for admin from 192.0.2.1 port 40001 ssh2\n';

test('counts failures written since the cursor; starts at the end; survives rotation and truncation', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fw-auth-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'auth.log');
  writeFileSync(log, FAIL.repeat(5));
  let r = await readAuthFailures(log, null);
  assert.equal(r.failures, 0, 'history before the agent started is not counted');
  appendFileSync(log, FAIL + OK + 'Jan 1 dropbear[7]: Bad password attempt for root\n' + 'partial Failed pass');
  r = await readAuthFailures(log, r.cursor);
  assert.equal(r.failures, 2);
  appendFileSync(log, 'word\n');
  r = await readAuthFailures(log, r.cursor);
  assert.equal(r.failures, 1, 'the partial line is counted once it is complete');
  // Rotation: the old file moves away, a new one starts.
  renameSync(log, `${log}.1`);
  writeFileSync(log, FAIL);
  r = await readAuthFailures(log, r.cursor);
  assert.equal(r.failures, 1);
  writeFileSync(log, FAIL); // truncated and rewritten in place (same inode, shorter)
  r = await readAuthFailures(log, { ...r.cursor!, offset: 10_000 });
  assert.equal(r.failures, 1);
});

test('a missing log counts zero', async () => {
  assert.deepEqual(await readAuthFailures('/nonexistent/auth.log', null), { failures: 0, cursor: null });
});
