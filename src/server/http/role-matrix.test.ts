import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer } from '../testing/test-server.ts';
import { listRoutes } from './app.ts';

/**
 * The authorization matrix, written out by hand: every route the server has must appear here with the
 * access level the product promises, so a new route cannot ship without a deliberate decision.
 */
const EXPECTED: Record<string, 'public' | 'self' | 'read' | 'write' | 'admin'> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /metrics': 'public',
  'GET /api/openapi.json': 'public',
  'POST /api/v1/bootstrap': 'public',
  'GET /api/v1/whoami': 'self',
  'GET /api/v1/tokens': 'self',
  'POST /api/v1/tokens': 'self',
  'DELETE /api/v1/tokens/:id': 'self',
  'GET /api/v1/operators': 'admin',
  'POST /api/v1/operators': 'admin',
  'PATCH /api/v1/operators/:id': 'admin',
  'POST /api/v1/operators/:id/tokens': 'admin',
  'GET /api/v1/ledger': 'read',
  'GET /api/v1/ledger/verify': 'read',
  'GET /api/v1/products': 'read',
  'POST /api/v1/products': 'write',
  'GET /api/v1/products/:id': 'read',
  'PATCH /api/v1/products/:id': 'write',
  'DELETE /api/v1/products/:id': 'admin',
  'GET /api/v1/devices': 'read',
  'POST /api/v1/devices': 'write',
  'GET /api/v1/devices/:id': 'read',
  'PATCH /api/v1/devices/:id': 'write',
  'DELETE /api/v1/devices/:id': 'write',
  'GET /api/v1/devices/:id/reports': 'read',
  'GET /api/v1/devices/:id/command-results': 'read',
  'GET /api/v1/security-profiles': 'read',
  'POST /api/v1/security-profiles': 'write',
  'GET /api/v1/security-profiles/:id': 'read',
  'PATCH /api/v1/security-profiles/:id': 'write',
  'DELETE /api/v1/security-profiles/:id': 'write',
  'GET /api/v1/alarms': 'read',
  'GET /api/v1/alarms/:id': 'read',
  'GET /api/v1/alarms/stream': 'read',
  'POST /api/v1/alarms/:id/acknowledge': 'write',
  'POST /api/v1/alarms/:id/suppress': 'write',
  'POST /api/v1/alarms/:id/clear': 'write',
  'GET /api/v1/webhook-deliveries': 'read',
  'POST /api/v1/devices/:id/quarantine': 'write',
  'POST /api/v1/devices/:id/release-quarantine': 'write',
  'POST /api/v1/devices/:id/force-update': 'write',
  'GET /api/v1/devices/:id/mitigations': 'read',
  'GET /api/v1/emergency-actions': 'read',
  'POST /api/v1/emergency-actions': 'admin',
  'GET /api/v1/emergency-actions/:id': 'read',
  'POST /api/v1/emergency-actions/:id/approve': 'admin',
  'POST /api/v1/emergency-actions/:id/reject': 'admin',
  'POST /device/v1/enroll': 'public',
  'GET /device/v1/crl': 'public',
  'POST /api/v1/enrollment-tokens': 'write',
  'GET /api/v1/enrollment-tokens': 'read',
  'DELETE /api/v1/enrollment-tokens/:id': 'write',
  'GET /api/v1/devices/:id/certificates': 'read',
  'POST /api/v1/devices/:id/certificates/revoke': 'write',
  'POST /api/v1/devices/:id/certificates/rotate': 'write',
  'GET /api/v1/ca': 'read',
  'GET /api/v1/manufacturer-cas': 'read',
  'POST /api/v1/manufacturer-cas': 'admin',
  'DELETE /api/v1/manufacturer-cas/:id': 'admin',
  'GET /api/v1/telemetry/stats': 'read',
  'POST /api/v1/firmware/analyses': 'write',
  'GET /api/v1/firmware/analyses': 'read',
  'GET /api/v1/firmware/analyses/:id': 'read',
  'GET /api/v1/firmware/analyses/:id/sbom': 'read',
  'POST /api/v1/vulns': 'write',
  'GET /api/v1/vulns': 'read',
  // Secure updates: TUF files are public by design (signatures, not transport, protect them).
  'GET /device/v1/tuf/:file': 'public',
  'GET /device/v1/tuf/targets/:product/:file': 'public',
  'POST /api/v1/artifacts': 'write',
  'POST /api/v1/releases': 'write',
  'GET /api/v1/releases': 'read',
  'GET /api/v1/releases/:id': 'read',
  'GET /api/v1/support-status': 'read',
  'GET /api/v1/tuf/status': 'read',
  'POST /api/v1/tuf/delegations': 'admin',
  'POST /api/v1/tuf/root': 'admin',
  'GET /api/v1/tuf/drafts/:role': 'read',
  'POST /api/v1/tuf/signed': 'admin',
  'POST /api/v1/rollouts': 'write',
  'GET /api/v1/rollouts': 'read',
  'GET /api/v1/rollouts/:id': 'read',
  'POST /api/v1/rollouts/:id/pause': 'write',
  'POST /api/v1/rollouts/:id/resume': 'write',
  'POST /api/v1/rollouts/:id/cancel': 'write',
};

const ALLOWED: Record<string, ReadonlyArray<string>> = {
  anonymous: ['public'],
  auditor: ['public', 'self', 'read'],
  operator: ['public', 'self', 'read', 'write'],
  admin: ['public', 'self', 'read', 'write', 'admin'],
};

test('every route × every role: allowed, or refused with 401/403 as the matrix says', async (t) => {
  const server = await startTestServer(t);
  const routes = listRoutes(server.app);
  const registered = routes.map((r) => `${r.method} ${r.url}`).sort();
  assert.deepEqual(registered, Object.keys(EXPECTED).sort(), 'the matrix lists exactly the registered routes');
  for (const r of routes) assert.equal(r.access, EXPECTED[`${r.method} ${r.url}`], `${r.method} ${r.url} access`);

  const tokens: Record<string, string | null> = {
    anonymous: null,
    auditor: await server.tokenFor('auditor'),
    operator: await server.tokenFor('operator'),
    admin: server.adminToken,
  };
  for (const [role, token] of Object.entries(tokens)) {
    for (const r of routes) {
      const path = r.url.replace(':id', 'no-such-id');
      const body = r.method === 'GET' || r.method === 'DELETE' ? undefined : {};
      const res = await server.call(r.method, path, { token, body });
      const label = `${role} ${r.method} ${r.url} → ${res.status}`;
      if (ALLOWED[role]!.includes(r.access)) {
        assert.ok(res.status !== 401 && res.status !== 403, label);
      } else if (role === 'anonymous') {
        assert.equal(res.status, 401, label);
        assert.equal(res.headers.get('www-authenticate'), 'Bearer');
        assert.equal(res.body.detail, 'unauthorized', 'authentication failures say only "unauthorized"');
      } else {
        assert.equal(res.status, 403, label);
        assert.equal(res.body.code, 'FORBIDDEN');
      }
    }
  }
  // Refused attempts to change state are in the ledger, with who tried.
  const denied = await server.call('GET', '/api/v1/ledger?limit=1000', { token: server.adminToken });
  const deniedDeletes = denied.body.items.filter(
    (e: { action: string; result: string }) => e.action === 'product.delete' && e.result === 'denied',
  );
  assert.equal(deniedDeletes.length, 3, 'anonymous, auditor and operator tried to delete a product');
});
