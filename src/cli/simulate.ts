import { systemClock } from '../protocol/clock.ts';
import { isFleetwardError } from '../protocol/errors.ts';
import { parseDuration } from '../simulator/durations.ts';
import {
  parseIndexList,
  parseMirrorSpec,
  parseScenarioSpec,
  type SimulateOptions,
  type UpdateFaultOptions,
  validateOptions,
} from '../simulator/options.ts';
import { PROFILE_NAMES } from '../simulator/profiles.ts';
import { SCENARIOS } from '../simulator/scenarios.ts';
import { runSimulation } from '../simulator/simulate.ts';
import type { CliContext } from './cli.types.ts';
import { EXIT } from './exit-codes.ts';
import { printJson } from './output.ts';
import { defineVerb, JSON_FLAG } from './verb.ts';

const num = (text: string | undefined, dflt: number) =>
  text === undefined ? dflt : /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
const dur = (text: string | undefined, dflt: number) =>
  text === undefined ? dflt : (parseDuration(text) ?? Number.NaN);

/** Flags → options, or SIM_INVALID with one line naming the flag. */
export function simulateOptions(
  values: Record<string, string | string[] | boolean | undefined>,
  ctx: CliContext,
): SimulateOptions {
  const api = ctx.api();
  const product = (values.product as string | undefined) ?? 'sim';
  const seed = num(values.seed as string | undefined, 1);
  const start = values.start === undefined ? systemClock.now() : Date.parse(values.start as string);
  return validateOptions({
    server: api.baseUrl,
    token: api.credential ?? '',
    product,
    profile: (values.profile as string | undefined) ?? (PROFILE_NAMES.includes(product) ? product : 'mixed'),
    devices: num(values.devices as string | undefined, Number.NaN),
    speed: num(values.speed as string | undefined, 1),
    durationMs: dur(values.duration as string | undefined, 3_600_000),
    intervalMs: dur(values.interval as string | undefined, 300_000),
    scenarios: ((values.scenario as string[] | undefined) ?? []).map(parseScenarioSpec),
    labels: (values.labels as string | undefined) ?? null,
    seed,
    idPrefix: (values['id-prefix'] as string | undefined) ?? `sim${Number.isSafeInteger(seed) ? seed : 0}`,
    concurrency: num(values.concurrency as string | undefined, 32),
    startAt: Number.isNaN(start) ? Number.NaN : start,
    updateFaults: updateFaults(values),
  });
}

/** `--fail-update`, `--update-failure-rate`, `--update-mirror`, `--fault-version`; undefined when none is given. */
function updateFaults(values: Record<string, string | string[] | boolean | undefined>): UpdateFaultOptions | undefined {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const rate = values['update-failure-rate'] as string | undefined;
  const faults: UpdateFaultOptions = {
    failUpdate: list('fail-update').flatMap((text) => parseIndexList('--fail-update', text)),
    failureRate: rate === undefined ? 0 : /^(0|1)(\.\d+)?$/.test(rate) ? Number(rate) : Number.NaN,
    mirrors: list('update-mirror').map(parseMirrorSpec),
    onlyVersion: (values['fault-version'] as string | undefined) ?? null,
  };
  const none = !faults.failUpdate.length && rate === undefined && !faults.mirrors.length && faults.onlyVersion === null;
  return none ? undefined : faults;
}

/** `fleetward simulate …`: a command without verbs, like `serve`. */
export const simulateVerb = defineVerb({
  summary:
    'enroll N virtual devices, connect each over mTLS MQTT and report in simulated time; attacks as NAME@DEVICE-INDEX:START-END; devices answer commands as the agent does (update through its real updater)',
  usage:
    '--devices N [--product P] [--profile lock|meter|heater|camera|mixed] [--speed X] [--duration D] [--interval D] [--scenario S]... [--labels FILE] [--seed S] [--id-prefix P] [--concurrency C] [--start ISO] [--fail-update INDEX[,INDEX…]]... [--update-failure-rate P] [--update-mirror URL@INDEX[,INDEX…]]... [--fault-version V] [--json]',
  options: {
    ...JSON_FLAG,
    devices: { type: 'string' },
    product: { type: 'string' },
    profile: { type: 'string' },
    speed: { type: 'string' },
    duration: { type: 'string' },
    interval: { type: 'string' },
    scenario: { type: 'string', multiple: true },
    labels: { type: 'string' },
    seed: { type: 'string' },
    'id-prefix': { type: 'string' },
    concurrency: { type: 'string' },
    start: { type: 'string' },
    'fail-update': { type: 'string', multiple: true },
    'update-failure-rate': { type: 'string' },
    'update-mirror': { type: 'string', multiple: true },
    'fault-version': { type: 'string' },
  },
  run: async ({ values }, ctx) => {
    let options: SimulateOptions;
    try {
      if (values.devices === undefined) throw new Error('--devices N is required');
      if (values.start !== undefined && Number.isNaN(Date.parse(values.start)))
        throw new Error('--start must be an ISO time');
      if (!ctx.api().credential) throw new Error('an operator API token is required (--token or FLEETWARD_TOKEN)');
      options = simulateOptions(values, ctx);
    } catch (err) {
      if (isFleetwardError(err, 'SIM_INVALID') || !isFleetwardError(err)) {
        ctx.err(`fleetward simulate: ${(err as Error).message}`);
        return EXIT.INVALID_INPUT;
      }
      throw err;
    }
    const result = await runSimulation(options, { clock: systemClock, log: (l) => ctx.err(l) });
    if (values.json) printJson(ctx.out, result);
    else
      ctx.out(
        `${result.devices} devices, ${result.reportsAcked}/${result.reportsSent} reports acknowledged` +
          updateSummary(result.updates) +
          (options.labels ? `; labels in ${options.labels}` : ''),
      );
    return result.publishFailures > 0 ? EXIT.FAILURE : EXIT.OK;
  },
});

/** `; updates: 40 succeeded, 8 rolled-back, 2 failed:UPDATE_ARTIFACT_MISMATCH`, or nothing when none ran. */
function updateSummary(updates: Record<string, number>): string {
  const parts = Object.entries(updates).map(([outcome, n]) => `${n} ${outcome}`);
  return parts.length ? `; updates: ${parts.join(', ')}` : '';
}

const HELP_FAULTS = `Update failure injection (devices still run the agent's real updater):
  --fail-update INDEX[,INDEX…]     these devices' new slot fails its health check: they report rolled-back
  --update-failure-rate P          a share P (0-1) of the devices, drawn from --seed, fails it too
  --update-mirror URL@INDEX[,…]    these devices fetch TUF metadata and images through URL (e.g. a tampering mirror)
  --fault-version V                the faults apply only to updates to version V (default: every update)`;

export async function runSimulate(argv: string[], ctx: CliContext): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    ctx.out(
      `Usage: fleetward simulate ${simulateVerb.usage}\n\n${simulateVerb.summary}\nScenarios: ${SCENARIOS.join(', ')}\n\n${HELP_FAULTS}`,
    );
    return EXIT.OK;
  }
  return simulateVerb.run(argv, ctx);
}
