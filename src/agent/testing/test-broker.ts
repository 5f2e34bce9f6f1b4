import { once } from 'node:events';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type PublishPacket } from 'aedes';
import type { TestPki } from './test-pki.ts';

export interface ReceivedReport {
  deviceId: string;
  boot: string;
  seq: number;
  body: Record<string, unknown>;
}

/**
 * A minimal mTLS MQTT broker for agent tests (Aedes behind TLS requiring a client certificate). It
 * records every report publish; `holdAcks` withholds PUBACKs to play a slow server.
 */
export class TestBroker {
  readonly received: ReceivedReport[] = [];
  readonly results: Array<Record<string, unknown>> = [];
  holdAcks = false;
  #aedes!: Aedes;
  #server!: Server;
  #sockets = new Set<TLSSocket>();
  #waiters: Array<() => void> = [];
  port = 0;

  static async start(pki: TestPki, port = 0): Promise<TestBroker> {
    const b = new TestBroker();
    b.#aedes = await Aedes.createBroker({
      authorizePublish: (client, packet, done) => b.#onPublish(client?.id ?? '', packet, done),
    });
    b.#server = createServer(
      { key: pki.serverKeyPem, cert: pki.serverCertPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true },
      (socket) => {
        b.#sockets.add(socket);
        socket.on('close', () => b.#sockets.delete(socket));
        b.#aedes.handle(socket);
      },
    );
    b.#server.listen(port, '127.0.0.1');
    await once(b.#server, 'listening');
    b.port = (b.#server.address() as { port: number }).port;
    return b;
  }

  #onPublish(deviceId: string, packet: PublishPacket, done: (err?: Error | null) => void): void {
    const body = JSON.parse(String(packet.payload)) as Record<string, unknown>;
    if (packet.topic.endsWith('/command-results')) this.results.push(body);
    else if (packet.topic.endsWith('/reports')) {
      this.received.push({ deviceId, boot: String(body.boot), seq: Number(body.seq), body });
    }
    for (const w of this.#waiters.splice(0)) w();
    if (!this.holdAcks) done(null);
  }

  /** Resolves when `cond` holds after some publish, or rejects after `ms`. */
  async waitFor(cond: () => boolean, ms = 20_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, Math.max(0, Math.min(500, deadline - Date.now())));
      });
    }
  }

  async sendCommand(deviceId: string, command: unknown): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic: `devices/${deviceId}/commands`,
      payload: Buffer.from(JSON.stringify(command)),
      qos: 1,
      retain: false,
      dup: false,
    } as PublishPacket;
    await new Promise<void>((resolve, reject) => this.#aedes.publish(packet, (e) => (e ? reject(e) : resolve())));
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
    await new Promise<void>((r) => this.#aedes.close(() => r()));
  }
}
