export type { ActionContext, LedgerEntry, LedgerEvent, LedgerResult, LedgerVerification } from './model.ts';
export { SYSTEM_ACTOR } from './model.ts';
export { registerLedgerRoutes } from './routes.ts';
export { LedgerService } from './service.ts';
