/** What happened, who did it, to what, from where, and how it ended. */
export interface LedgerEvent {
  /** `operator:<id>`, `device:<id>`, `system` or `anonymous`. */
  actor: string;
  /** Dotted verb, e.g. `device.create`, `token.revoke`. */
  action: string;
  /** `kind:id` of the thing acted on, when there is one. */
  target?: string | null;
  /** Remote address of the request, when it came over a network. */
  source?: string | null;
  result: LedgerResult;
  /** Safe facts only: never a secret, token or key. */
  details?: Record<string, unknown>;
}

export type LedgerResult = 'ok' | 'rejected' | 'denied' | 'failed';

export interface LedgerEntry extends Required<Omit<LedgerEvent, 'details'>> {
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  details: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export type LedgerProblem = 'altered' | 'removed';

export interface LedgerVerification {
  ok: boolean;
  /** Entries walked. */
  checked: number;
  /** The first entry found wrong, and how. */
  firstBad?: { seq: number; problem: LedgerProblem };
}

/** Who is acting and from where: passed by adapters into every state-changing service call. */
export interface ActionContext {
  actor: string;
  source: string | null;
}

export const SYSTEM_ACTOR: ActionContext = { actor: 'system', source: null };
