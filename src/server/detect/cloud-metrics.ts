import type { CloudCounterSnapshot, CloudCounterSource, Datapoint } from './model.ts';

const MINUTE = 60_000;
/** Events remembered per device and kind (a flood must not grow memory without bound). */
const MAX_EVENTS = 10_000;

/**
 * Cloud-side metrics: what the broker and ingest measured about a device, merged into its datapoints.
 * Counters become per-minute rates between two reports; refusals and malformed reports are counted
 * over the last minute, so a device that only sends garbage still produces datapoints.
 */
export class CloudMetrics {
  readonly #source: CloudCounterSource | null;
  readonly #previous = new Map<string, { snap: CloudCounterSnapshot; at: number }>();
  readonly #events = new Map<string, { malformed: number[]; refused: number[] }>();

  constructor(source: CloudCounterSource | null) {
    this.#source = source;
  }

  /** Records one malformed report or one refused MQTT operation of the device at `at`. */
  note(deviceId: string, kind: 'malformed' | 'refused', at: number): void {
    let e = this.#events.get(deviceId);
    if (!e) {
      e = { malformed: [], refused: [] };
      this.#events.set(deviceId, e);
    }
    const list = e[kind];
    list.push(at);
    if (list.length > MAX_EVENTS) list.shift();
  }

  /** Adds cloud-side metrics to `dp` (mutated) as of `dp.at`. */
  enrich(dp: Datapoint): Datapoint {
    const ev = this.#events.get(dp.deviceId);
    const recent = (list: number[] | undefined) => {
      if (!list) return 0;
      while (list.length > 0 && dp.at - list[0]! > MINUTE) list.shift();
      return list.length;
    };
    dp.numbers['malformed-reports'] = recent(ev?.malformed);
    const refused = recent(ev?.refused);
    dp.numbers['mqtt-authz-failures'] = refused;
    const snap = this.#source?.snapshot(dp.deviceId) ?? null;
    if (!snap) return dp;
    const prev = this.#previous.get(dp.deviceId);
    this.#previous.set(dp.deviceId, { snap, at: dp.at });
    if (snap.source) dp.sets['source-addresses'] = [snap.source];
    if (!prev || dp.at <= prev.at) return dp;
    const perMinute = MINUTE / (dp.at - prev.at);
    const rate = (now: number, before: number) => Math.max(0, now - before) * perMinute;
    dp.numbers['mqtt-messages'] = rate(snap.messages, prev.snap.messages);
    dp.numbers['mqtt-bytes'] = rate(snap.bytes, prev.snap.bytes);
    dp.numbers['mqtt-connects'] = rate(snap.connects, prev.snap.connects);
    dp.numbers['mqtt-disconnects'] = rate(snap.disconnects, prev.snap.disconnects);
    dp.numbers['mqtt-authz-failures'] = Math.max(refused, rate(snap.authzFailures, prev.snap.authzFailures));
    return dp;
  }

  forget(deviceId: string): void {
    this.#previous.delete(deviceId);
    this.#events.delete(deviceId);
  }
}
