import {
  COMMAND_VERSION,
  type Command,
  type CommandResult,
  isCommandExpired,
  parseCommandPayload,
} from '../protocol/commands.ts';
import { assertNever, isFleetwardError } from '../protocol/errors.ts';

export type CommandOutcome = Pick<CommandResult, 'status' | 'code' | 'detail'>;

/** What the agent does for each command; the handler only parses, deduplicates and answers. */
export interface CommandActions {
  reportNow(): Promise<CommandOutcome>;
  rotateCredentials(token: string): Promise<CommandOutcome>;
  quarantineNotice(state: 'quarantined' | 'released', reason: string): Promise<CommandOutcome>;
  /** The OTA issue plugs its updater in here. */
  update(cmd: Extract<Command, { type: 'update' }>): Promise<CommandOutcome>;
}

/** Command ids remembered: QoS 1 may deliver a command twice, and a credential rotation must run once. */
const REMEMBERED_IDS = 256;

/**
 * Turns command messages into actions and results. Never throws: a malformed command without a
 * readable id is dropped (nothing to answer), anything else gets a result.
 */
export class CommandHandler {
  readonly #actions: CommandActions;
  readonly #now: () => number;
  readonly #seen: string[] = [];

  constructor(actions: CommandActions, now: () => number) {
    this.#actions = actions;
    this.#now = now;
  }

  /** The result to publish, or null when there is nothing to answer (duplicate, unreadable). */
  async handle(payload: Uint8Array | string): Promise<CommandResult | null> {
    let cmd: Command;
    try {
      cmd = parseCommandPayload(payload);
    } catch (err) {
      if (isFleetwardError(err, 'COMMAND_UNSUPPORTED')) {
        const { id, type } = err.details as { id: string; type: string };
        return this.#result(id, type, { status: 'unsupported', code: 'COMMAND_UNSUPPORTED' });
      }
      return null;
    }
    if (this.#seen.includes(cmd.id)) return null;
    this.#seen.push(cmd.id);
    if (this.#seen.length > REMEMBERED_IDS) this.#seen.shift();
    if (isCommandExpired(cmd, this.#now())) return this.#result(cmd.id, cmd.type, { status: 'expired' });
    let outcome: CommandOutcome;
    try {
      outcome = await this.#dispatch(cmd);
    } catch (err) {
      outcome = { status: 'failed', code: isFleetwardError(err) ? err.code : 'INTERNAL' };
    }
    return this.#result(cmd.id, cmd.type, outcome);
  }

  #dispatch(cmd: Command): Promise<CommandOutcome> {
    switch (cmd.type) {
      case 'report-now':
        return this.#actions.reportNow();
      case 'rotate-credentials':
        return this.#actions.rotateCredentials(cmd.token);
      case 'quarantine-notice':
        return this.#actions.quarantineNotice(cmd.state, cmd.reason);
      case 'update':
        return this.#actions.update(cmd);
      default:
        return assertNever(cmd, 'command');
    }
  }

  #result(id: string, type: string, o: CommandOutcome): CommandResult {
    const r: CommandResult = { v: COMMAND_VERSION, id, type, status: o.status, at: this.#now() };
    if (o.code) r.code = o.code;
    if (o.detail) r.detail = o.detail.slice(0, 256);
    return r;
  }
}
