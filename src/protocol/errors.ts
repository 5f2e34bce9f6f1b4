/**
 * One error type for the whole code base. Every module declares its codes as a string-literal
 * union and throws `FleetwardError<ThatUnion>`; the edges (HTTP, MQTT, CLI) map codes to responses
 * through one table each. Never branch on `message`: it is for people and logs only.
 */
export class FleetwardError<C extends string = string> extends Error {
  readonly code: C;
  /** Extra, safe-to-show facts for the client (never secrets, tokens, keys or paths). */
  readonly details: Record<string, unknown> | undefined;

  constructor(code: C, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FleetwardError';
    this.code = code;
    this.details = options?.details;
  }
}

/** True when `err` is a FleetwardError, optionally with one of the given codes. */
export function isFleetwardError<C extends string>(err: unknown, ...codes: C[]): err is FleetwardError<C> {
  if (!(err instanceof FleetwardError)) return false;
  return codes.length === 0 || codes.includes(err.code as C);
}

/** Exhaustiveness guard for tagged unions: the compiler proves this line is unreachable. */
export function assertNever(value: never, what = 'value'): never {
  throw new Error(`unexpected ${what}: ${JSON.stringify(value)}`);
}
