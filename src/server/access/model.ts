export const ROLES = ['admin', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/**
 * What a route requires. `public`: no token. `self`: any signed-in operator, acting on their own
 * things (their tokens). `read`: every role. `write`: changes the fleet. `admin`: operators, emergencies.
 */
export const ACCESS_LEVELS = ['public', 'self', 'read', 'write', 'admin'] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

const GRANTS: Record<Role, ReadonlySet<Access>> = {
  admin: new Set(['public', 'self', 'read', 'write', 'admin']),
  operator: new Set(['public', 'self', 'read', 'write']),
  auditor: new Set(['public', 'self', 'read']),
};

export function roleAllows(role: Role, access: Access): boolean {
  return GRANTS[role].has(access);
}

/** The signed-in operator a request acts for. */
export interface Principal {
  operatorId: string;
  name: string;
  role: Role;
  tokenId: string;
}

export interface Operator {
  id: string;
  name: string;
  role: Role;
  createdAt: number;
  disabledAt: number | null;
}

export interface ApiTokenInfo {
  id: string;
  operatorId: string;
  name: string;
  createdAt: number;
  expiresAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A token as issued: the secret appears here once and is stored only as a hash. */
export interface IssuedToken extends ApiTokenInfo {
  token: string;
}

export type AccessErrorCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'BOOTSTRAP_CLOSED'
  | 'OPERATOR_NOT_FOUND'
  | 'OPERATOR_NAME_TAKEN'
  | 'LAST_ADMIN'
  | 'TOKEN_NOT_FOUND';
