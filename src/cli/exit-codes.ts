/** The CLI edge's one table: what a script can rely on from `$?`. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  UNAUTHORIZED: 3,
  FORBIDDEN: 4,
  NOT_FOUND: 5,
  CONFLICT: 6,
  UNREACHABLE: 7,
  /** A check ran and found a problem (ledger verify, a failed gate). */
  CHECK_FAILED: 8,
  INVALID_INPUT: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** HTTP status of an API problem → exit code. */
export function exitForStatus(status: number): ExitCode {
  if (status === 401) return EXIT.UNAUTHORIZED;
  if (status === 403) return EXIT.FORBIDDEN;
  if (status === 404) return EXIT.NOT_FOUND;
  if (status === 409) return EXIT.CONFLICT;
  if (status >= 400 && status < 500) return EXIT.INVALID_INPUT;
  return EXIT.FAILURE;
}
