import { FleetwardError } from '../protocol/errors.ts';

export type CliErrorCode =
  | 'CLI_USAGE'
  | 'API_ERROR'
  | 'SERVER_UNREACHABLE'
  | 'NO_TOKEN'
  | 'CHECK_FAILED'
  | 'INPUT_INVALID';

/** A problem+json answer, kept whole for --json output and exit codes. */
export interface ApiProblem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

export class ApiClient {
  readonly #base: string;
  readonly #token: string | undefined;

  constructor(base: string, token: string | undefined) {
    this.#base = base.replace(/\/+$/, '');
    this.#token = token;
  }

  get baseUrl(): string {
    return this.#base;
  }

  /** The --token value as given (for `agent enroll`, an enrollment token rather than an API token). */
  get credential(): string | undefined {
    return this.#token;
  }

  /** Sends one request; returns the parsed JSON body. Throws API_ERROR (details: the problem), SERVER_UNREACHABLE, NO_TOKEN. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: { auth?: boolean; contentType?: string } = {},
  ): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.auth !== false) {
      if (!this.#token)
        throw new FleetwardError<CliErrorCode>('NO_TOKEN', 'no API token: pass --token or set FLEETWARD_TOKEN');
      headers.authorization = `Bearer ${this.#token}`;
    }
    if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
    const payload =
      body === undefined
        ? undefined
        : body instanceof Uint8Array
          ? (body as Uint8Array<ArrayBuffer>)
          : // A file-backed Blob (fs.openAsBlob) is streamed by fetch, never read into memory whole.
            body instanceof Blob
            ? body
            : JSON.stringify(body);
    let res: Response;
    try {
      res = await fetch(this.#base + path, {
        method,
        headers,
        body: payload,
        // Large artifact uploads get an hour; everything else answers within 30 s.
        signal: AbortSignal.timeout(body instanceof Blob ? 3_600_000 : 30_000),
      });
    } catch (err) {
      throw new FleetwardError<CliErrorCode>('SERVER_UNREACHABLE', `cannot reach ${this.#base}`, { cause: err });
    }
    const text = await res.text();
    const parsed = text ? safeJson(text) : null;
    if (!res.ok) {
      const problem: ApiProblem = { status: res.status, ...(isObject(parsed) ? parsed : {}) };
      const message = problem.detail ?? problem.title ?? `HTTP ${res.status}`;
      throw new FleetwardError<CliErrorCode>('API_ERROR', message, { details: { problem } });
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
