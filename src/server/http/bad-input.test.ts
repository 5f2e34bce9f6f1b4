import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer, type TestServer } from '../testing/test-server.ts';

const product = { id: 'lock', name: 'Smart Lock', model: 'SL-1', manufacturer: 'Acme', supportEnd: '2030-12-31' };

/** One state-changing route per family, a valid body for it, and a field to break. */
const FAMILIES = [
  {
    name: 'products',
    method: 'POST',
    path: '/api/v1/products',
    body: { ...product, id: 'meter' },
    field: 'supportEnd',
    wrong: 20301231,
  },
  {
    name: 'devices',
    method: 'POST',
    path: '/api/v1/devices',
    body: { id: 'd-9', productId: 'lock', serial: 'S9' },
    field: 'serial',
    wrong: ['x'],
  },
  {
    name: 'device patch',
    method: 'PATCH',
    path: '/api/v1/devices/d-1',
    body: { zone: 'lab' },
    field: 'zone',
    wrong: 'Not A Zone!',
  },
  {
    name: 'operators',
    method: 'POST',
    path: '/api/v1/operators',
    body: { name: 'eve', role: 'auditor' },
    field: 'role',
    wrong: 'root',
  },
  { name: 'tokens', method: 'POST', path: '/api/v1/tokens', body: { name: 'ci' }, field: 'name', wrong: 42 },
  {
    name: 'bootstrap',
    method: 'POST',
    path: '/api/v1/bootstrap',
    body: { bootstrapToken: 'x', name: 'x' },
    field: 'name',
    wrong: null,
  },
] as const;

async function seed(server: TestServer) {
  const token = server.adminToken;
  assert.equal((await server.call('POST', '/api/v1/products', { token, body: product })).status, 201);
  assert.equal(
    (await server.call('POST', '/api/v1/devices', { token, body: { id: 'd-1', productId: 'lock', serial: 'S1' } }))
      .status,
    201,
  );
}

async function ledgerCount(server: TestServer): Promise<number> {
  const r = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
  return r.body.items.length;
}

function assertProblem(res: { status: number; body: any; headers: Headers }, status: number, code: string) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  for (const k of ['type', 'title', 'detail', 'instance', 'requestId']) assert.equal(typeof res.body[k], 'string', k);
}

test('bad input on every route family: precise problem, a ledger entry, nothing written', async (t) => {
  const server = await startTestServer(t);
  await seed(server);
  const token = server.adminToken;
  for (const f of FAMILIES) {
    await t.test(f.name, async () => {
      const before = await ledgerCount(server);
      assertProblem(await server.call(f.method, f.path, { token, raw: '{"id": ' }), 400, 'INVALID_JSON');
      const wrong = await server.call(f.method, f.path, { token, body: { ...f.body, [f.field]: f.wrong } });
      assertProblem(wrong, 400, 'VALIDATION_FAILED');
      assert.ok(
        wrong.body.errors.some((e: { path: string }) => e.path === `body.${f.field}`),
        JSON.stringify(wrong.body.errors),
      );
      const unknown = await server.call(f.method, f.path, { token, body: { ...f.body, isAdmin: true } });
      assertProblem(unknown, 400, 'VALIDATION_FAILED');
      const huge = await server.call(f.method, f.path, { token, body: { ...f.body, pad: 'x'.repeat(70 * 1024) } });
      assertProblem(huge, 413, 'BODY_TOO_LARGE');
      const text = await server.call(f.method, f.path, {
        token,
        raw: 'name=x',
        headers: { 'content-type': 'text/plain' },
      });
      assertProblem(text, 415, 'UNSUPPORTED_MEDIA_TYPE');
      const after = await server.call('GET', '/api/v1/ledger?limit=5', { token });
      assert.equal((await ledgerCount(server)) - before, 5, 'each refused attempt is one ledger entry');
      for (const e of after.body.items) assert.equal(e.result, 'rejected');
    });
  }
});

test('unknown ids: 404 with the precise code, recorded, nothing changed', async (t) => {
  const server = await startTestServer(t);
  await seed(server);
  const token = server.adminToken;
  assertProblem(await server.call('GET', '/api/v1/devices/nope', { token }), 404, 'DEVICE_NOT_FOUND');
  assertProblem(
    await server.call('PATCH', '/api/v1/devices/nope', { token, body: { zone: 'lab' } }),
    404,
    'DEVICE_NOT_FOUND',
  );
  assertProblem(await server.call('DELETE', '/api/v1/products/nope', { token }), 404, 'PRODUCT_NOT_FOUND');
  assertProblem(
    await server.call('PATCH', '/api/v1/operators/nope', { token, body: { role: 'auditor' } }),
    404,
    'OPERATOR_NOT_FOUND',
  );
  assertProblem(await server.call('DELETE', '/api/v1/tokens/0123456789abcdef', { token }), 404, 'TOKEN_NOT_FOUND');
  assertProblem(await server.call('GET', '/api/v1/nothing-here', { token }), 404, 'NOT_FOUND');
  // A device for a product that does not exist: refused, and no device, tag or 'ok' entry is left behind.
  const res = await server.call('POST', '/api/v1/devices', {
    token,
    body: { id: 'orphan', productId: 'ghost', serial: 'S', tags: ['a'] },
  });
  assertProblem(res, 404, 'PRODUCT_NOT_FOUND');
  assert.equal((await server.call('GET', '/api/v1/devices/orphan', { token })).status, 404);
  const entries = (await server.call('GET', '/api/v1/ledger?target=device:orphan', { token })).body.items;
  assert.deepEqual(
    entries.map((e: { result: string }) => e.result),
    ['rejected'],
  );
  assert.equal(entries[0].details.code, 'PRODUCT_NOT_FOUND');
  const conflict = await server.call('POST', '/api/v1/products', { token, body: product });
  assertProblem(conflict, 409, 'PRODUCT_EXISTS');
  assert.equal((await server.call('GET', '/api/v1/ledger/verify', { token })).body.ok, true);
});

test('health, readiness, metrics and the OpenAPI document', async (t) => {
  const server = await startTestServer(t);
  assert.deepEqual((await server.call('GET', '/healthz')).body, { status: 'ok' });
  assert.deepEqual((await server.call('GET', '/readyz')).body, { status: 'ready' });
  const metrics = await server.call('GET', '/metrics');
  assert.match(metrics.body, /fleetward_http_requests_total\{method="GET",route="\/readyz",status="200"\} 1/);
  const doc = (await server.call('GET', '/api/openapi.json')).body;
  assert.equal(doc.openapi, '3.1.0');
  const create = doc.paths['/api/v1/devices'].post;
  assert.deepEqual(create.requestBody.content['application/json'].schema.required.sort(), [
    'id',
    'productId',
    'serial',
  ]);
  assert.equal(create.requestBody.content['application/json'].schema.additionalProperties, false);
  assert.deepEqual(doc.paths['/api/v1/bootstrap'].post.security, []);
  assert.ok(doc.paths['/api/v1/devices/{id}'], 'path parameters use OpenAPI syntax');
});

test('every state-changing route: malformed JSON and oversized bodies are refused as problems and recorded', async (t) => {
  const { listRoutes } = await import('./app.ts');
  const server = await startTestServer(t);
  const token = server.adminToken;
  const refusals = async (action: string) => {
    const items = (
      await server.call('GET', `/api/v1/ledger?action=${encodeURIComponent(action)}&limit=1000`, { token })
    ).body.items;
    return items.filter((e: { result: string }) => e.result !== 'ok').length;
  };
  // Larger than any route's body limit (the vulnerability feed's 64 MiB is the largest).
  const oversized = JSON.stringify({ pad: 'x'.repeat(64 * 1024 * 1024 + 1) });
  const routes = listRoutes(server.app).filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
  assert.ok(routes.length > 20, 'the server has its state-changing routes');
  for (const r of routes) {
    const path = r.url.replaceAll(/:(\w+)/g, 'x1');
    const label = `${r.method} ${r.url}`;
    const before = await refusals(r.action!);
    const broken = await server.call(r.method, path, { token, raw: '{"a": [1, 2' });
    // Upload routes take raw bytes, not JSON: for them a JSON body is the wrong media type.
    if (broken.status === 415) assert.equal(broken.body.code, 'UNSUPPORTED_MEDIA_TYPE', label);
    else assertProblem(broken, 400, 'INVALID_JSON');
    const huge = await server.call(r.method, path, { token, raw: oversized });
    assert.ok([413, 415].includes(huge.status), `${label} → ${huge.status}`);
    assert.equal((await refusals(r.action!)) - before, 2, `${label}: both refusals recorded`);
  }
});
