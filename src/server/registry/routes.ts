import { z } from 'zod';
import type { FleetwardApp } from '../http/app.types.ts';
import { actionContext } from '../http/request-context.ts';
import { epochMs, idParams, idSchema, pageOf, pageQuery } from '../http/schemas.ts';
import { DEVICE_STATUSES } from './model.ts';
import type { RegistryService } from './service.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const isoDate = z.iso.date().describe('YYYY-MM-DD');
const tagSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._=-]{0,63}$/, 'tag: letters, digits, : . _ = -; up to 64');
const zoneSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'zone: lower-case letters, digits, dash');
const groupSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'group: letters, digits, . _ -');

const productSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  manufacturer: z.string(),
  description: z.string(),
  supportEnd: z.string(),
  createdAt: epochMs,
  updatedAt: epochMs,
});
const productBody = z.strictObject({
  id: idSchema,
  name: text(200),
  model: text(200).describe('model designation (EN 303 645 5.3-16)'),
  manufacturer: text(200),
  description: z.string().max(2000).default(''),
  supportEnd: isoDate.describe('end of the security support period (EN 303 645 5.3-13)'),
});
const productPatch = productBody.omit({ id: true }).partial().strict();

const deviceSchema = z.object({
  id: z.string(),
  productId: z.string(),
  serial: z.string(),
  tags: z.array(z.string()),
  group: z.string().nullable(),
  zone: z.string(),
  status: z.enum(DEVICE_STATUSES),
  firstSeen: epochMs.nullable(),
  lastSeen: epochMs.nullable(),
  createdAt: epochMs,
  updatedAt: epochMs,
});
const deviceBody = z.strictObject({
  id: idSchema,
  productId: idSchema,
  serial: text(128),
  tags: z.array(tagSchema).max(32).optional(),
  group: groupSchema.nullable().optional(),
  zone: zoneSchema.optional(),
});
const devicePatch = z.strictObject({
  tags: z.array(tagSchema).max(32).optional(),
  group: groupSchema.nullable().optional(),
  zone: zoneSchema.optional(),
});
const deviceQuery = z.strictObject({
  ...pageQuery,
  product: idSchema.optional(),
  status: z.enum(DEVICE_STATUSES).optional(),
  group: groupSchema.optional(),
  zone: zoneSchema.optional(),
  tag: z
    .union([tagSchema, z.array(tagSchema).max(8)])
    .optional()
    .describe('repeat for several; all must match'),
  prefix: z.string().max(128).optional().describe('device id prefix'),
});

export function registerRegistryRoutes(app: FleetwardApp, registry: RegistryService): void {
  registerProductRoutes(app, registry);
  registerDeviceRoutes(app, registry);
}

function registerProductRoutes(app: FleetwardApp, registry: RegistryService): void {
  const tags = ['products'];
  app.get(
    '/api/v1/products',
    {
      config: { access: 'read' },
      schema: { tags, querystring: z.strictObject(pageQuery), response: { 200: pageOf(productSchema) } },
    },
    async (req) => registry.listProducts(req.query.after, req.query.limit),
  );
  app.post(
    '/api/v1/products',
    {
      config: { access: 'write', action: 'product.create' },
      schema: { tags, body: productBody, response: { 201: productSchema } },
    },
    async (req, reply) => reply.status(201).send(await registry.createProduct(req.body, actionContext(req))),
  );
  app.get(
    '/api/v1/products/:id',
    { config: { access: 'read' }, schema: { tags, params: idParams, response: { 200: productSchema } } },
    async (req) => registry.getProduct(req.params.id),
  );
  app.patch(
    '/api/v1/products/:id',
    {
      config: { access: 'write', action: 'product.update' },
      schema: { tags, params: idParams, body: productPatch, response: { 200: productSchema } },
    },
    async (req) => registry.updateProduct(req.params.id, req.body, actionContext(req)),
  );
  app.delete(
    '/api/v1/products/:id',
    {
      config: { access: 'admin', action: 'product.delete' },
      schema: { tags, params: idParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await registry.deleteProduct(req.params.id, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}

function registerDeviceRoutes(app: FleetwardApp, registry: RegistryService): void {
  const tags = ['devices'];
  app.get(
    '/api/v1/devices',
    { config: { access: 'read' }, schema: { tags, querystring: deviceQuery, response: { 200: pageOf(deviceSchema) } } },
    async (req) => {
      const q = req.query;
      const filter = {
        productId: q.product,
        status: q.status,
        group: q.group,
        zone: q.zone,
        tags: q.tag === undefined ? undefined : [q.tag].flat(),
        idPrefix: q.prefix,
      };
      return registry.listDevices(filter, q.after, q.limit);
    },
  );
  app.post(
    '/api/v1/devices',
    {
      config: { access: 'write', action: 'device.create' },
      schema: { tags, body: deviceBody, response: { 201: deviceSchema } },
    },
    async (req, reply) => reply.status(201).send(await registry.createDevice(req.body, actionContext(req))),
  );
  app.get(
    '/api/v1/devices/:id',
    { config: { access: 'read' }, schema: { tags, params: idParams, response: { 200: deviceSchema } } },
    async (req) => registry.getDevice(req.params.id),
  );
  app.patch(
    '/api/v1/devices/:id',
    {
      config: { access: 'write', action: 'device.update' },
      schema: { tags, params: idParams, body: devicePatch, response: { 200: deviceSchema } },
    },
    async (req) => registry.updateDevice(req.params.id, req.body, actionContext(req)),
  );
  app.delete(
    '/api/v1/devices/:id',
    {
      config: { access: 'write', action: 'device.delete' },
      schema: { tags, params: idParams, response: { 204: z.null() } },
    },
    async (req, reply) => {
      await registry.deleteDevice(req.params.id, actionContext(req));
      return reply.status(204).send(null);
    },
  );
}
