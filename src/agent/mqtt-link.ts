import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { agentError } from './errors.ts';

export interface LinkOptions {
  host: string;
  port: number;
  /** The device id: the broker requires it to be the certificate's CN. */
  clientId: string;
  keyPem: string;
  certPem: string;
  caPem: string;
  connectTimeoutMs: number;
  keepaliveSec: number;
}

/**
 * One mTLS MQTT session (MQTT 3.1.1, persistent session so commands sent while offline wait for us).
 * mqtt.js's own reconnect is off: the agent reconnects with jittered backoff and re-sends from its
 * disk queue, so a dead link is simply closed and replaced.
 */
export class MqttLink {
  readonly #client: MqttClient;
  #closed = false;
  readonly #onClose = new Set<() => void>();

  private constructor(client: MqttClient) {
    this.#client = client;
    const closed = () => {
      if (this.#closed) return;
      this.#closed = true;
      for (const fn of this.#onClose) fn();
    };
    client.on('close', closed);
    client.on('error', () => {}); // reported through close; an unhandled 'error' would crash the agent
  }

  /** Connects or throws AGENT_CONNECT_FAILED (refused, unreachable, TLS failure, timeout, garbage). */
  static async open(o: LinkOptions): Promise<MqttLink> {
    try {
      const options: IClientOptions & { minVersion: 'TLSv1.2' } = {
        protocol: 'mqtts',
        host: o.host,
        port: o.port,
        clientId: o.clientId,
        key: o.keyPem,
        cert: o.certPem,
        ca: o.caPem,
        rejectUnauthorized: true,
        // mqtt.js hands TLS options to tls.connect: TLS 1.2 is the floor (DESIGN conventions).
        minVersion: 'TLSv1.2',
        protocolVersion: 4,
        clean: false,
        reconnectPeriod: 0,
        connectTimeout: o.connectTimeoutMs,
        keepalive: o.keepaliveSec,
      };
      const client = await connectOnce(options, o.connectTimeoutMs);
      return new MqttLink(client);
    } catch (err) {
      throw agentError('AGENT_CONNECT_FAILED', 'cannot connect to the broker', { cause: err });
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Calls `fn` once when the link drops. */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.add(fn);
  }

  onMessage(fn: (topic: string, payload: Buffer) => void): void {
    this.#client.on('message', (topic, payload) => fn(topic, payload));
  }

  async subscribe(topic: string): Promise<void> {
    try {
      const granted = await this.#client.subscribeAsync(topic, { qos: 1 });
      if (granted.some((g) => g.qos === 128)) throw new Error('subscription refused');
    } catch (err) {
      throw agentError('AGENT_CONNECT_FAILED', 'subscription failed', { cause: err });
    }
  }

  /**
   * Publishes at QoS 1 and resolves on the PUBACK. Rejects with AGENT_PUBLISH_FAILED when the link
   * drops or no PUBACK comes within `timeoutMs` (a slow or broken server): the caller re-sends later.
   */
  publish(topic: string, payload: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) return reject(agentError('AGENT_PUBLISH_FAILED', 'link closed'));
      const fail = (why: string) => {
        cleanup();
        reject(agentError('AGENT_PUBLISH_FAILED', why));
      };
      const onClose = () => fail('link closed before PUBACK');
      const timer = setTimeout(() => fail('no PUBACK in time'), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#onClose.delete(onClose);
      };
      this.#onClose.add(onClose);
      this.#client.publish(topic, payload, { qos: 1 }, (err) => {
        if (err) return fail(err.message);
        cleanup();
        resolve();
      });
    });
  }

  /** Publishes at QoS 1 without waiting (command results: best effort). */
  publishQuiet(topic: string, payload: string): void {
    if (!this.#closed) this.#client.publish(topic, payload, { qos: 1 }, () => {});
  }

  async close(): Promise<void> {
    if (this.#closed && this.#client.disconnected) return;
    await this.#client.endAsync(true).catch(() => {});
    this.#client.stream?.destroy();
    this.#closed = true;
  }
}

/**
 * mqtt.js's connectAsync never settles when the server closes the connection without a CONNACK and
 * retries are off (mqtt 5.16, lib/connect/index.js): settle on CONNACK, error, close or our own timeout.
 */
function connectOnce(options: IClientOptions, timeoutMs: number): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = connect(options);
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      client.removeListener('connect', onConnect);
      client.removeListener('error', onError);
      client.removeListener('close', onClose);
      if (!err) return resolve(client);
      client.on('error', () => {});
      client.end(true);
      // end(true) leaves the socket open after a protocol error (mqtt 5.16): without this every
      // attempt against a server answering garbage would leak a connection.
      client.stream?.destroy();
      reject(err);
    };
    const onConnect = () => settle(null);
    const onError = (err: Error) => settle(err);
    const onClose = () => settle(new Error('connection closed before CONNACK'));
    const timer = setTimeout(() => settle(new Error('no CONNACK in time')), timeoutMs);
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
  });
}
