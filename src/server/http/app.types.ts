import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Access, Principal } from '../access/index.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (access/model.ts). Every route must declare it. */
    access?: Access;
    /** Ledger action for a state-changing route, recorded for refused attempts too. */
    action?: string;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * Checks the request's credentials again (token revoked or expired, operator disabled or demoted
     * since the request began): long-lived responses such as event streams call it periodically.
     */
    stillAuthorized(): Promise<boolean>;
  }
}

/** The Fastify instance every routes.ts registers on: zod schemas in, typed handlers out. */
export type FleetwardApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;
