import { z } from 'zod';
import { isFleetwardError } from '../../protocol/errors.ts';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema, pageOf, pageQuery } from '../http/schemas.ts';
import type { DeviceTrust } from './device-trust.ts';
import { CERTIFICATE_STATUSES, IDENTITY_LIMITS } from './model.ts';
import type { FailureLimiter } from './rate-limit.ts';
import type { IdentityService } from './service.ts';

export interface IdentityRouteDeps {
  identity: IdentityService;
  trust: DeviceTrust;
  /** Failed enrollments per source address (brute force against tokens). */
  enrollLimiter: FailureLimiter;
  /** Where enrolled devices connect: the broker's address as devices see it. */
  deviceEndpoint: () => { host: string; port: number };
  /**
   * The current TUF root (JSON), handed over with the certificate so the device pins the update trust
   * anchor at enrollment, over the channel that just authenticated it, not on first contact later.
   */
  tufRoot?: () => Promise<string | null>;
}

const tokenInfo = z.object({
  id: z.string(),
  kind: z.enum(['enroll', 'rotate']),
  productId: z.string(),
  deviceId: z.string().nullable(),
  createdAt: epochMs,
  expiresAt: epochMs,
  usedAt: epochMs.nullable(),
  usedBy: z.string().nullable(),
});
const certificateSchema = z.object({
  serial: z.string(),
  deviceId: z.string(),
  issuer: z.string(),
  fingerprint: z.string().describe('SHA-256 of the DER, hex'),
  notBefore: epochMs,
  notAfter: epochMs,
  status: z.enum(CERTIFICATE_STATUSES),
  retireAt: epochMs.nullable(),
  revokedAt: epochMs.nullable(),
  revokeReason: z.string().nullable(),
  createdAt: epochMs,
});
const caCert = z.object({ subject: z.string(), fingerprint: z.string(), notAfter: epochMs, certificate: z.string() });
const mcaSchema = z.object({
  id: z.string(),
  productId: z.string(),
  subject: z.string(),
  fingerprint: z.string(),
  autoRegister: z.boolean(),
  certificate: z.string(),
  createdAt: epochMs,
});
const reasonBody = z.strictObject({ reason: z.string().trim().min(1).max(200).default('revoked by operator') });

export function registerIdentityRoutes(app: FleetwardApp, deps: IdentityRouteDeps): void {
  registerDeviceFacingRoutes(app, deps);
  registerTokenRoutes(app, deps);
  registerCertificateRoutes(app, deps);
  registerManufacturerRoutes(app, deps);
}

/** `/device/v1/…`: called by devices, authenticated by what they carry (token, CSR), not by operators. */
function registerDeviceFacingRoutes(app: FleetwardApp, deps: IdentityRouteDeps): void {
  const tags = ['device'];
  app.post(
    '/device/v1/enroll',
    {
      config: { access: 'public', action: 'device.enroll' },
      schema: {
        tags,
        summary: 'Exchange a single-use token and a CSR for a device certificate (the key never leaves the device)',
        body: z.strictObject({
          token: z.string().min(1).max(100),
          csr: z.string().min(1).max(IDENTITY_LIMITS.csrPemChars),
        }),
        response: {
          201: z.object({
            deviceId: z.string(),
            certificate: z.string(),
            chain: z.array(z.string()),
            caCertificate: z.string().describe('the Fleetward root: pin it'),
            mqtt: z.object({ host: z.string(), port: z.number().int() }),
            tufRoot: z.string().nullable().describe('the TUF root.json to pin for updates'),
          }),
        },
      },
    },
    async (req, reply) => {
      deps.enrollLimiter.check(req.ip);
      try {
        const result = await deps.identity.enroll(req.body, req.ip);
        const tufRoot = (await deps.tufRoot?.()) ?? null;
        return reply.status(201).send({ ...result, mqtt: deps.deviceEndpoint(), tufRoot });
      } catch (err) {
        if (isFleetwardError(err)) deps.enrollLimiter.fail(req.ip);
        throw err;
      }
    },
  );
  app.get(
    '/device/v1/crl',
    {
      config: { access: 'public' },
      schema: {
        tags,
        summary: 'The certificate revocation list of the issuing CA (PEM, or DER with ?format=der)',
        querystring: z.strictObject({ format: z.enum(['pem', 'der']).default('pem') }),
      },
    },
    async (req, reply) => {
      const crl = await deps.identity.crl();
      if (req.query.format === 'der') return reply.type('application/pkix-crl').send(Buffer.from(crl.der));
      return reply.type('application/x-pem-file').send(crl.pem);
    },
  );
}

function registerTokenRoutes(app: FleetwardApp, deps: IdentityRouteDeps): void {
  const tags = ['enrollment'];
  app.post(
    '/api/v1/enrollment-tokens',
    {
      config: { access: 'write', action: 'enrollment-token.create' },
      schema: {
        tags,
        summary: 'Create single-use enrollment tokens for a product (shown once)',
        body: z
          .strictObject({
            productId: idSchema,
            deviceId: idSchema.optional().describe('bind the token to this device id'),
            count: z.number().int().min(1).max(1000).default(1),
            ttlHours: z.number().int().min(1).max(720).optional(),
          })
          .refine((b) => !(b.deviceId && b.count > 1), { message: 'a token bound to a device id is one token' }),
        response: { 201: z.object({ items: z.array(tokenInfo.extend({ token: z.string() })) }) },
      },
    },
    async (req, reply) =>
      reply.status(201).send({ items: await deps.identity.createEnrollmentTokens(req.body, actionContext(req)) }),
  );
  app.get(
    '/api/v1/enrollment-tokens',
    {
      config: { access: 'read' },
      schema: {
        tags,
        querystring: z.strictObject({ ...pageQuery, product: idSchema.optional() }),
        response: { 200: pageOf(tokenInfo) },
      },
    },
    async (req) => deps.identity.listEnrollmentTokens(req.query.product, req.query.after, req.query.limit),
  );
  app.delete(
    '/api/v1/enrollment-tokens/:id',
    {
      config: { access: 'write', action: 'enrollment-token.revoke' },
      schema: { tags, params: idParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await deps.identity.revokeEnrollmentToken(req.params.id, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}

function registerCertificateRoutes(app: FleetwardApp, deps: IdentityRouteDeps): void {
  const tags = ['identity'];
  app.get(
    '/api/v1/devices/:id/certificates',
    {
      config: { access: 'read' },
      schema: { tags, params: idParams, response: { 200: z.object({ items: z.array(certificateSchema) }) } },
    },
    async (req) => ({ items: await deps.identity.listCertificates(req.params.id) }),
  );
  app.post(
    '/api/v1/devices/:id/certificates/revoke',
    {
      config: { access: 'write', action: 'device.revoke' },
      schema: {
        tags,
        summary: 'Revoke every certificate of the device at once; live sessions end, reconnects are refused',
        params: idParams,
        body: reasonBody,
        response: { 200: z.object({ revoked: z.array(certificateSchema) }) },
      },
    },
    async (req) => ({
      revoked: await deps.identity.revokeDevice(req.params.id, req.body.reason, actionContext(req)),
    }),
  );
  app.post(
    '/api/v1/devices/:id/certificates/rotate',
    {
      config: { access: 'write', action: 'device.rotate' },
      schema: {
        tags,
        summary: 'Ask the device for a new CSR; the old certificate is revoked after the grace period',
        params: idParams,
        response: { 202: z.object({ tokenId: z.string(), expiresAt: epochMs }) },
      },
    },
    async (req, reply) => reply.status(202).send(await deps.identity.rotate(req.params.id, actionContext(req))),
  );
  app.get(
    '/api/v1/ca',
    {
      config: { access: 'read' },
      schema: { tags, response: { 200: z.object({ root: caCert, issuing: caCert, imported: z.boolean() }) } },
    },
    async () => deps.identity.caInfo(),
  );
}

function registerManufacturerRoutes(app: FleetwardApp, deps: IdentityRouteDeps): void {
  const tags = ['identity'];
  app.get(
    '/api/v1/manufacturer-cas',
    { config: { access: 'read' }, schema: { tags, response: { 200: z.object({ items: z.array(mcaSchema) }) } } },
    async () => ({ items: await deps.trust.listManufacturerCas() }),
  );
  // Admin: a manufacturer CA can mint device identities for its product, so registering one is a trust decision.
  app.post(
    '/api/v1/manufacturer-cas',
    {
      config: { access: 'admin', action: 'manufacturer-ca.create' },
      schema: {
        tags,
        summary:
          'Trust a manufacturer CA for a product; with autoRegister, its devices are registered on first connection',
        body: z.strictObject({
          productId: idSchema,
          certificate: z.string().min(1).max(IDENTITY_LIMITS.caPemChars),
          autoRegister: z.boolean().default(true),
        }),
        response: { 201: mcaSchema },
      },
    },
    async (req, reply) => reply.status(201).send(await deps.trust.addManufacturerCa(req.body, actionContext(req))),
  );
  app.delete(
    '/api/v1/manufacturer-cas/:id',
    {
      config: { access: 'admin', action: 'manufacturer-ca.delete' },
      schema: { tags, params: idParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await deps.trust.removeManufacturerCa(req.params.id, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}
