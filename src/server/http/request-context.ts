import type { FastifyRequest } from 'fastify';
import type { ActionContext } from '../ledger/index.ts';

/** Who is calling and from where, as the ledger records it: for services' ActionContext. */
export function actionContext(req: FastifyRequest): ActionContext {
  return { actor: req.principal ? `operator:${req.principal.operatorId}` : 'anonymous', source: req.ip };
}
