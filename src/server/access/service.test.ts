import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { LedgerService } from '../ledger/index.ts';
import { forEachDialect, freshStore } from '../testing/test-stores.ts';
import { AccessService } from './service.ts';

const ctx = { actor: 'anonymous', source: '127.0.0.1' };
const code = (c: string) => (err: unknown) => isFleetwardError(err, c);

async function setup(t: Parameters<typeof freshStore>[0], dialect: 'sqlite' | 'postgres') {
  const store = await freshStore(t, dialect);
  const clock = new ManualClock();
  const ledger = new LedgerService(store, clock);
  const access = new AccessService(store, ledger, clock, { defaultTokenTtlDays: 30, maxTokenTtlDays: 365 });
  return { store, clock, ledger, access };
}

test('access: the bootstrap token creates one admin, once, and no default credential exists', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { access, ledger } = await setup(t, dialect);
    const { generated, open } = await access.prepareBootstrap();
    assert.ok(open && generated?.startsWith('fwb_'));
    await assert.rejects(access.bootstrap('fwb_wrong', 'eve', ctx), code('UNAUTHORIZED'));
    const { operator, token } = await access.bootstrap(generated!, 'alice', ctx);
    assert.equal(operator.role, 'admin');
    const me = await access.authenticate(token.token);
    assert.equal(me.name, 'alice');
    await assert.rejects(access.bootstrap(generated!, 'mallory', ctx), code('BOOTSTRAP_CLOSED'));
    // A restart with an operator present does not re-arm bootstrap.
    assert.deepEqual(await access.prepareBootstrap('preset-token'), { generated: null, open: false });
    await assert.rejects(access.bootstrap('preset-token', 'mallory', ctx), code('BOOTSTRAP_CLOSED'));
    const [entry] = await ledger.list({ limit: 1, action: 'operator.bootstrap' });
    assert.equal(entry?.result, 'ok');
    assert.ok(!JSON.stringify(entry).includes(token.token.split('_')[2]!), 'the ledger never holds a secret');
  });
});

test('access: a preset bootstrap token from the environment works for automation', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { access } = await setup(t, dialect);
    assert.deepEqual(await access.prepareBootstrap('automation-secret-123'), { generated: null, open: true });
    const { operator } = await access.bootstrap('automation-secret-123', 'ci', ctx);
    assert.equal(operator.role, 'admin');
  });
});

test('access: expired, revoked, malformed and unknown tokens are all just "unauthorized"', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { access, clock } = await setup(t, dialect);
    const boot = await access.prepareBootstrap();
    const { operator, token } = await access.bootstrap(boot.generated!, 'alice', ctx);
    const short = await access.issueToken(operator.id, 'short', 1, ctx);
    await access.authenticate(short.token);
    clock.advance(86_400_000 + 1);
    await assert.rejects(access.authenticate(short.token), code('UNAUTHORIZED'));
    const me = await access.authenticate(token.token);
    await access.revokeToken(token.id, me, ctx);
    await assert.rejects(access.authenticate(token.token), code('UNAUTHORIZED'));
    for (const bad of ['', 'Bearer', 'fwt_0000000000000000_' + 'A'.repeat(43), token.token.slice(0, -1) + 'x']) {
      await assert.rejects(access.authenticate(bad), code('UNAUTHORIZED'));
    }
  });
});

test('access: the last admin cannot be demoted or disabled; disabling kills tokens', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { access } = await setup(t, dialect);
    const boot = await access.prepareBootstrap();
    const { operator: root } = await access.bootstrap(boot.generated!, 'root', ctx);
    await assert.rejects(access.updateOperator(root.id, { role: 'auditor' }, ctx), code('LAST_ADMIN'));
    await assert.rejects(access.updateOperator(root.id, { disabled: true }, ctx), code('LAST_ADMIN'));
    const bob = await access.createOperator('bob', 'operator', ctx);
    await assert.rejects(access.createOperator('bob', 'auditor', ctx), code('OPERATOR_NAME_TAKEN'));
    const bobToken = await access.issueToken(bob.id, 'laptop', undefined, ctx);
    assert.equal((await access.authenticate(bobToken.token)).role, 'operator');
    await access.updateOperator(bob.id, { disabled: true }, ctx);
    await assert.rejects(access.authenticate(bobToken.token), code('UNAUTHORIZED'));
  });
});

test('access: a non-admin cannot revoke, or learn of, another operator’s token', async (t) => {
  await forEachDialect(t, async (t, dialect) => {
    const { access } = await setup(t, dialect);
    const boot = await access.prepareBootstrap();
    const { token: rootToken } = await access.bootstrap(boot.generated!, 'root', ctx);
    const bob = await access.createOperator('bob', 'auditor', ctx);
    const bobToken = await access.issueToken(bob.id, 'laptop', undefined, ctx);
    const bobP = await access.authenticate(bobToken.token);
    await assert.rejects(access.revokeToken(rootToken.id, bobP, ctx), code('TOKEN_NOT_FOUND'));
    await access.authenticate(rootToken.token);
  });
});
