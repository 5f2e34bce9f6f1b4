import type { Alarm, AlarmEvent } from './model.ts';

/** Events kept for SSE clients that reconnect with Last-Event-ID. */
const REPLAY = 1000;
/** Events queued for one slow subscriber before it is cut off (a stalled dashboard must not grow memory). */
const MAX_BACKLOG = 10_000;

export interface FeedSubscriber {
  send(event: AlarmEvent): void;
  /** Called when the feed closes or the subscriber fell too far behind. */
  end(): void;
  /** Bytes or events waiting to be written; over MAX_BACKLOG the subscriber is dropped. */
  backlog(): number;
}

/** The live alarm feed behind `GET /api/v1/alarms/stream` and `fleetward alarms watch`. */
export class AlarmFeed {
  readonly #subscribers = new Set<FeedSubscriber>();
  readonly #recent: AlarmEvent[] = [];
  #seq = 0;
  #closed = false;

  emit(type: AlarmEvent['type'], alarm: Alarm): AlarmEvent {
    const event: AlarmEvent = { seq: ++this.#seq, type, alarm };
    this.#recent.push(event);
    if (this.#recent.length > REPLAY) this.#recent.shift();
    for (const s of this.#subscribers) {
      if (s.backlog() > MAX_BACKLOG) {
        this.#subscribers.delete(s);
        s.end();
      } else s.send(event);
    }
    return event;
  }

  /** Subscribes; replays buffered events after `lastSeq` first. Returns the unsubscribe function. */
  subscribe(s: FeedSubscriber, lastSeq: number | null): () => void {
    if (this.#closed) {
      s.end();
      return () => {};
    }
    if (lastSeq !== null) for (const e of this.#recent) if (e.seq > lastSeq) s.send(e);
    this.#subscribers.add(s);
    return () => this.#subscribers.delete(s);
  }

  get subscribers(): number {
    return this.#subscribers.size;
  }

  /** Ends every stream (server shutdown: open SSE connections must not hold it up). */
  close(): void {
    this.#closed = true;
    for (const s of this.#subscribers) s.end();
    this.#subscribers.clear();
  }
}
