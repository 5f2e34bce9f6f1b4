export type { Access, AccessErrorCode, ApiTokenInfo, IssuedToken, Operator, Principal, Role } from './model.ts';
export { ACCESS_LEVELS, ROLES, roleAllows } from './model.ts';
export { registerAccessRoutes } from './routes.ts';
export { AccessService } from './service.ts';
