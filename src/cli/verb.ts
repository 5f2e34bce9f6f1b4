import { type ParseArgsConfig, parseArgs } from 'node:util';
import { FleetwardError } from '../protocol/errors.ts';
import type { CliErrorCode } from './api-client.ts';
import type { CliContext, CliVerb } from './cli.types.ts';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = {
  values: {
    [K in keyof O]?: O[K] extends { type: 'boolean' } ? boolean : O[K] extends { multiple: true } ? string[] : string;
  };
  positionals: string[];
};

/** A verb with strict flag parsing: an unknown flag or a missing argument is a usage error (exit 2), never a guess. */
export function defineVerb<O extends Options>(spec: {
  summary: string;
  usage: string;
  options: O;
  /** Exact number of positional arguments, or [min, max]. */
  positionals?: number | [number, number];
  run: (args: Parsed<O>, ctx: CliContext) => Promise<number>;
}): CliVerb {
  return {
    summary: spec.summary,
    usage: spec.usage,
    run: async (argv, ctx) => {
      let parsed: Parsed<O>;
      try {
        parsed = parseArgs({
          args: argv,
          options: spec.options,
          strict: true,
          allowPositionals: true,
        }) as unknown as Parsed<O>;
      } catch (err) {
        throw usage((err as Error).message);
      }
      const [min, max] = Array.isArray(spec.positionals)
        ? spec.positionals
        : [spec.positionals ?? 0, spec.positionals ?? 0];
      if (parsed.positionals.length < min || parsed.positionals.length > max) {
        throw usage(`expected: ${spec.usage}`);
      }
      return spec.run(parsed, ctx);
    },
  };
}

export function usage(message: string): FleetwardError<CliErrorCode> {
  return new FleetwardError<CliErrorCode>('CLI_USAGE', message);
}

/** `--json` is accepted by every verb. */
export const JSON_FLAG = { json: { type: 'boolean' } } as const;
