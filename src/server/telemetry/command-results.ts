import type { Clock } from '../../protocol/clock.ts';
import { type CommandResult, parseCommandResultPayload } from '../../protocol/commands.ts';
import type { DeviceMessage } from '../gateway/gateway.types.ts';
import type { AnyDb, Store } from '../store/store.types.ts';

export type CommandResultsTables = {
  command_results: {
    device_id: string;
    command_id: string;
    type: string;
    status: string;
    code: string | null;
    detail: string | null;
    device_time: number;
    received_at: number;
  };
};

export interface StoredCommandResult extends Omit<CommandResult, 'v' | 'code' | 'detail'> {
  deviceId: string;
  code: string | null;
  detail: string | null;
  receivedAt: number;
}

const t = (db: AnyDb) => db.withTables<CommandResultsTables>();

/**
 * Devices' answers to commands (report-now, rotate-credentials, quarantine-notice, update): stored so an
 * operator sees that a command was carried out, refused or failed, and why.
 */
export class CommandResultsService {
  readonly #store: Store;
  readonly #clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** The `command-results` channel's handler: parse (throws COMMAND_* codes), then store once per command id. */
  async ingest(msg: DeviceMessage): Promise<void> {
    const r = parseCommandResultPayload(msg.payload);
    await t(this.#store.db)
      .insertInto('command_results')
      .values({
        device_id: msg.deviceId,
        command_id: r.id,
        type: r.type,
        status: r.status,
        code: r.code ?? null,
        detail: r.detail ?? null,
        device_time: r.at,
        received_at: this.#clock.now(),
      })
      .onConflict((oc) => oc.columns(['device_id', 'command_id']).doNothing())
      .execute();
  }

  /** Newest first. */
  async list(deviceId: string, limit: number): Promise<StoredCommandResult[]> {
    const rows = await t(this.#store.db)
      .selectFrom('command_results')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('received_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      deviceId: r.device_id,
      id: r.command_id,
      type: r.type,
      status: r.status as CommandResult['status'],
      code: r.code,
      detail: r.detail,
      at: r.device_time,
      receivedAt: r.received_at,
    }));
  }
}
