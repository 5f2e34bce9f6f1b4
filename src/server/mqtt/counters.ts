import { Counter, Gauge, type Registry } from 'prom-client';
import { AUTHZ_REASONS } from './acl.ts';

/** Traffic and refusals of one device from one source address (or of one unidentified source). */
export interface TrafficCounts {
  messages: number;
  bytes: number;
  connects: number;
  disconnects: number;
  /** Publishes or subscriptions outside the device's own topics. */
  authzFailures: number;
  /** Messages a capability rejected (the handler's promise failed). */
  malformed: number;
  /** Connections that took over a live session with the same identity. */
  duplicates: number;
  /** Every refusal by reason (TLS, CONNECT, ACL, size). */
  refusals: Record<string, number>;
  lastAt: number;
}

export interface DeviceTraffic extends TrafficCounts {
  deviceId: string;
  lastSource: string | null;
  bySource: Record<string, TrafficCounts>;
}

const MAX_SOURCES_PER_DEVICE = 16;
const MAX_UNIDENTIFIED_SOURCES = 10_000;

const zero = (): TrafficCounts => ({
  messages: 0,
  bytes: 0,
  connects: 0,
  disconnects: 0,
  authzFailures: 0,
  malformed: 0,
  duplicates: 0,
  refusals: {},
  lastAt: 0,
});

type Field = 'messages' | 'bytes' | 'connects' | 'disconnects' | 'authzFailures' | 'malformed' | 'duplicates';

/**
 * Per-device and per-source counters of the device transport: what detection reads (`get`, `snapshot`,
 * `unidentified`). Prometheus gets aggregates only — a label per device would not scale to a fleet.
 */
export class TransportCounters {
  readonly #devices = new Map<string, DeviceTraffic>();
  readonly #unidentified = new Map<string, TrafficCounts>();
  readonly #now: () => number;
  readonly #prom: {
    messages: Counter<'channel'>;
    bytes: Counter;
    connects: Counter;
    refusals: Counter<'reason'>;
    connected: Gauge;
  };

  constructor(registry: Registry, now: () => number) {
    this.#now = now;
    const registers = [registry];
    this.#prom = {
      messages: new Counter({
        name: 'fleetward_mqtt_messages_total',
        help: 'Device messages by channel',
        labelNames: ['channel'],
        registers,
      }),
      bytes: new Counter({
        name: 'fleetward_mqtt_bytes_total',
        help: 'Payload bytes received from devices',
        registers,
      }),
      connects: new Counter({
        name: 'fleetward_mqtt_connects_total',
        help: 'Authenticated device connections',
        registers,
      }),
      refusals: new Counter({
        name: 'fleetward_mqtt_refusals_total',
        help: 'Refused handshakes, connects, publishes and subscriptions by reason',
        labelNames: ['reason'],
        registers,
      }),
      connected: new Gauge({ name: 'fleetward_mqtt_connected_devices', help: 'Devices connected now', registers }),
    };
  }

  message(deviceId: string, source: string, channel: string, bytes: number): void {
    this.#bump(deviceId, source, 'messages', 1);
    this.#bump(deviceId, source, 'bytes', bytes);
    this.#prom.messages.inc({ channel });
    this.#prom.bytes.inc(bytes);
  }

  connect(deviceId: string, source: string): void {
    this.#bump(deviceId, source, 'connects', 1);
    this.#prom.connects.inc();
    this.#prom.connected.inc();
  }

  disconnect(deviceId: string, source: string): void {
    this.#bump(deviceId, source, 'disconnects', 1);
    this.#prom.connected.dec();
  }

  malformed(deviceId: string, source: string): void {
    this.#bump(deviceId, source, 'malformed', 1);
    this.#prom.refusals.inc({ reason: 'malformed' });
  }

  duplicate(deviceId: string, source: string): void {
    this.#bump(deviceId, source, 'duplicates', 1);
  }

  /** A refusal; `deviceId` null when the peer never proved an identity (TLS failures, garbage). */
  refused(deviceId: string | null, source: string, reason: string): void {
    this.#prom.refusals.inc({ reason });
    if (deviceId === null) {
      let c = this.#unidentified.get(source);
      if (!c) {
        if (this.#unidentified.size >= MAX_UNIDENTIFIED_SOURCES)
          this.#unidentified.delete(this.#unidentified.keys().next().value!);
        c = zero();
        this.#unidentified.set(source, c);
      }
      c.refusals[reason] = (c.refusals[reason] ?? 0) + 1;
      c.lastAt = this.#now();
      return;
    }
    if (AUTHZ_REASONS.has(reason)) this.#bump(deviceId, source, 'authzFailures', 1);
    for (const c of this.#targets(deviceId, source)) c.refusals[reason] = (c.refusals[reason] ?? 0) + 1;
  }

  /** One device's counters (a copy), or undefined if it has never been seen. */
  get(deviceId: string): DeviceTraffic | undefined {
    const d = this.#devices.get(deviceId);
    return d && structuredClone(d);
  }

  snapshot(): DeviceTraffic[] {
    return [...this.#devices.values()].map((d) => structuredClone(d));
  }

  /** Refusals of peers that never identified themselves, by source address. */
  unidentified(source: string): TrafficCounts | undefined {
    const c = this.#unidentified.get(source);
    return c && structuredClone(c);
  }

  #bump(deviceId: string, source: string, field: Field, n: number): void {
    for (const c of this.#targets(deviceId, source)) c[field] += n;
  }

  #targets(deviceId: string, source: string): TrafficCounts[] {
    let d = this.#devices.get(deviceId);
    if (!d) {
      d = { ...zero(), deviceId, lastSource: null, bySource: {} };
      this.#devices.set(deviceId, d);
    }
    let s = d.bySource[source];
    if (!s) {
      const sources = Object.keys(d.bySource);
      // Bounded: a device hopping addresses keeps its most recent sources.
      if (sources.length >= MAX_SOURCES_PER_DEVICE) delete d.bySource[sources[0]!];
      s = zero();
      d.bySource[source] = s;
    }
    const now = this.#now();
    d.lastSource = source;
    d.lastAt = now;
    s.lastAt = now;
    return [d, s];
  }
}
