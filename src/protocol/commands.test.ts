import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCommandExpired, parseCommand, parseCommandPayload, parseCommandResultPayload } from './commands.ts';
import { isFleetwardError } from './errors.ts';

const base = { v: 1, id: 'cmd-1', issuedAt: 1_000 };

const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (isFleetwardError(err)) return err;
    throw err;
  }
  return null;
};

test('each command type parses; unknown fields are dropped', () => {
  assert.equal(parseCommand({ ...base, type: 'report-now', extra: true }).type, 'report-now');
  const rot = parseCommandPayload(JSON.stringify({ ...base, type: 'rotate-credentials', token: 'fwe_x' }));
  assert.equal(rot.type === 'rotate-credentials' && rot.token, 'fwe_x');
  const q = parseCommand({ ...base, type: 'quarantine-notice', state: 'quarantined', reason: 'botnet traffic' });
  assert.equal(q.type === 'quarantine-notice' && q.state, 'quarantined');
  const u = parseCommand({
    ...base,
    type: 'update',
    release: 'r-42',
    version: '1.5.0',
    metadataUrl: 'https://fleet.example/tuf/',
  });
  assert.equal(u.type === 'update' && u.version, '1.5.0');
  assert.equal('extra' in parseCommand({ ...base, type: 'report-now', extra: 1 }), false);
});

test('a well-formed command of an unknown type is UNSUPPORTED (answerable), not INVALID', () => {
  const err = errorOf(() => parseCommand({ ...base, type: 'self-destruct' }));
  assert.equal(err?.code, 'COMMAND_UNSUPPORTED');
  assert.deepEqual(err?.details, { id: 'cmd-1', type: 'self-destruct' });
});

test('malformed commands are coded errors', () => {
  assert.equal(errorOf(() => parseCommandPayload('nope'))?.code, 'COMMAND_NOT_JSON');
  assert.equal(errorOf(() => parseCommandPayload('"'.repeat(9000)))?.code, 'COMMAND_TOO_LARGE');
  assert.equal(errorOf(() => parseCommandPayload(`"${'€'.repeat(3000)}"`))?.code, 'COMMAND_TOO_LARGE');
  assert.equal(errorOf(() => parseCommand({ ...base, type: 'rotate-credentials' }))?.code, 'COMMAND_INVALID');
  assert.equal(errorOf(() => parseCommand({ ...base, id: '../x', type: 'report-now' }))?.code, 'COMMAND_INVALID');
  assert.equal(
    errorOf(() => parseCommand({ ...base, type: 'update', release: 'r', version: '1', metadataUrl: 'not a url' }))
      ?.code,
    'COMMAND_INVALID',
  );
  assert.equal(errorOf(() => parseCommand(null))?.code, 'COMMAND_INVALID');
});

test('expiry: a stale command is recognised', () => {
  const cmd = parseCommand({ ...base, type: 'report-now', expiresAt: 5_000 });
  assert.equal(isCommandExpired(cmd, 4_999), false);
  assert.equal(isCommandExpired(cmd, 5_001), true);
  assert.equal(isCommandExpired(parseCommand({ ...base, type: 'report-now' }), 9e12), false);
});

test('command results parse; garbage is COMMAND_RESULT_INVALID', () => {
  const ok = parseCommandResultPayload(JSON.stringify({ v: 1, id: 'cmd-1', type: 'x', status: 'unsupported', at: 5 }));
  assert.equal(ok.status, 'unsupported');
  assert.equal(errorOf(() => parseCommandResultPayload('{"v":1}'))?.code, 'COMMAND_RESULT_INVALID');
});
