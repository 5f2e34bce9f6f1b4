import type { ApiClient } from './api-client.ts';

/** Where a command writes, and how it reaches the server. Injected so commands run in tests without a shell. */
export interface CliContext {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Environment (FLEETWARD_URL, FLEETWARD_TOKEN, ...). */
  env: Record<string, string | undefined>;
  /** Built lazily from --server/--token or the environment; local commands never touch it. */
  api: () => ApiClient;
}

export interface CliVerb {
  summary: string;
  /** Usage line after `fleetward <noun> <verb>`, e.g. `PATH [--json] [--sbom FILE]`. */
  usage: string;
  /** Returns the process exit code (see EXIT in exit-codes.ts). Throw FleetwardError for failures. */
  run: (args: string[], ctx: CliContext) => Promise<number>;
}

export interface CliNoun {
  name: string;
  summary: string;
  verbs: Record<string, CliVerb>;
}
