import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret, issueSecretToken, parseSecretToken, secretMatches } from './secret-token.ts';

test('secret tokens: one kind is never accepted as another, and only the hash is needed to check one', () => {
  const api = issueSecretToken('api');
  assert.match(api.token, /^fwt_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  assert.deepEqual(parseSecretToken('api', api.token), { id: api.id, secret: api.secret });
  assert.equal(parseSecretToken('enroll', api.token), null, 'an API token is not an enrollment token');
  assert.equal(parseSecretToken('bootstrap', api.token), null);
  for (const bad of ['', 'fwt_', `${api.token}x`, api.token.replace('fwt', 'FWT'), ` ${api.token}`]) {
    assert.equal(parseSecretToken('api', bad), null, bad);
  }
  const stored = hashSecret(api.secret);
  assert.equal(secretMatches(api.secret, stored), true);
  assert.equal(secretMatches(`${api.secret.slice(0, -1)}A`, stored), api.secret.endsWith('A'));
  assert.equal(secretMatches(api.secret, undefined), false, 'a missing row never matches');
  assert.notEqual(issueSecretToken('api').secret, api.secret);
});
