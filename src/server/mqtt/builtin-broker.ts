import { createServer, type Server, type TLSSocket } from 'node:tls';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import { type DeviceChannel, deviceTopic } from '../../protocol/topics.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceGateway, DeviceMessageHandler } from '../gateway/gateway.types.ts';
import type { DeviceTrust } from '../identity/index.ts';
import type { DeviceStatus, RegistryService } from '../registry/index.ts';
import { decidePublish, decideSubscribe } from './acl.ts';
import type { TransportCounters } from './counters.ts';
import { GuardedSocket } from './frame-guard.ts';
import { DeviceStatusCache } from './status-cache.ts';
import { authorizationReason, tlsRefusalReason } from './tls-reasons.ts';

export interface BuiltinBrokerDeps {
  trust: DeviceTrust;
  registry: RegistryService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  counters: TransportCounters;
  /** The broker's server certificate chain and key (from our CA). */
  serverCert: { certPem: string; keyPem: string };
  host: string;
  port: number;
  /** Largest MQTT packet accepted, bytes (fixed header excluded). */
  maxPacketBytes: number;
}

interface Session {
  deviceId: string;
  serial: string;
  source: string;
}

const NOT_AUTHORIZED = 5;

/**
 * The built-in broker: Aedes behind a TLS 1.2+ server that requires a client certificate. The
 * certificate is the identity (the client id must be its CN); the ACL confines each device to its own
 * topics; every refusal is counted per device and source and published as `mqtt.refused`.
 */
export class BuiltinBroker implements DeviceGateway {
  readonly #d: BuiltinBrokerDeps;
  readonly #handlers = new Map<DeviceChannel, DeviceMessageHandler>();
  readonly #sessions = new WeakMap<Client, Session>();
  readonly #sockets = new Set<TLSSocket>();
  /** Live sessions per device: a takeover briefly has two, and the status cache must outlive the older. */
  readonly #liveSessions = new Map<string, number>();
  readonly #unsubscribe: Array<() => void> = [];
  #broker!: Aedes;
  #server!: Server;
  #cache!: DeviceStatusCache;
  #port = 0;

  private constructor(deps: BuiltinBrokerDeps) {
    this.#d = deps;
  }

  static async start(deps: BuiltinBrokerDeps): Promise<BuiltinBroker> {
    const b = new BuiltinBroker(deps);
    await b.#start();
    return b;
  }

  get port(): number {
    return this.#port;
  }

  onDeviceMessage(channel: DeviceChannel, handler: DeviceMessageHandler): void {
    this.#handlers.set(channel, handler);
  }

  async sendCommand(deviceId: string, command: unknown): Promise<void> {
    const packet = {
      cmd: 'publish',
      topic: deviceTopic(deviceId, 'commands'),
      payload: Buffer.from(JSON.stringify(command)),
      qos: 1,
      retain: false,
      dup: false,
    } as PublishPacket;
    await new Promise<void>((resolve, reject) =>
      this.#broker.publish(packet, (err) => (err ? reject(err) : resolve())),
    );
  }

  async disconnect(deviceId: string, reason: string): Promise<void> {
    const client = this.#clients()[deviceId];
    if (!client) return;
    this.#d.logger.info({ deviceId, reason }, 'mqtt: ending device session');
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }

  /** Ids of the devices connected now. */
  connectedDevices(): string[] {
    return Object.keys(this.#clients());
  }

  async close(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    this.#cache.close();
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await new Promise<void>((resolve) => this.#broker.close(() => resolve()));
  }

  async #start(): Promise<void> {
    const d = this.#d;
    this.#cache = new DeviceStatusCache(d.registry, d.bus, (deviceId, status) => this.#statusChanged(deviceId, status));
    this.#broker = await Aedes.createBroker({
      // Device ids are up to 128 characters (protocol/topics.ts); MQTT 3.1's 23 would refuse them.
      maxClientsIdLength: 128,
      maxTopicLevels: 8,
      connectTimeout: 10_000,
      concurrency: 1000,
      authenticate: (client, _u, _p, done) => void this.#authenticate(client, done),
      authorizePublish: (client, packet, done) => void this.#authorizePublish(client, packet, done),
      authorizeSubscribe: (client, sub, done) => this.#authorizeSubscribe(client, sub, done),
      // Defence in depth: a device only ever receives its own command topic, whatever was subscribed.
      authorizeForward: (client, packet) => (packet.topic === deviceTopic(client.id, 'commands') ? packet : null),
    });
    this.#broker.on('client', (client) => this.#connected(client));
    this.#broker.on('clientDisconnect', (client) => this.#disconnected(client));
    this.#server = createServer(await this.#tlsOptions(), (socket) => this.#accept(socket));
    this.#server.on('tlsClientError', (err, socket) => {
      this.#refuse(null, socket.remoteAddress ?? 'unknown', tlsRefusalReason(err));
    });
    this.#unsubscribe.push(
      d.bus.subscribe('identity.trust.changed', async () => this.#server.setSecureContext(await this.#tlsOptions())),
      d.bus.subscribe('device.certificate.revoked', ({ deviceId, serial }) => {
        const client = this.#clients()[deviceId];
        if (client && this.#sessions.get(client)?.serial === serial)
          void this.disconnect(deviceId, 'certificate revoked');
      }),
    );
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(d.port, d.host, () => resolve());
    });
    this.#port = (this.#server.address() as { port: number }).port;
  }

  async #tlsOptions() {
    return {
      key: this.#d.serverCert.keyPem,
      cert: this.#d.serverCert.certPem,
      ca: await this.#d.trust.trustAnchors(),
      requestCert: true,
      // Verified all the same: #accept ends every connection whose chain OpenSSL did not accept.
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2' as const,
      handshakeTimeout: 10_000,
    };
  }

  #accept(socket: TLSSocket): void {
    const source = socket.remoteAddress ?? 'unknown';
    // OpenSSL verified the chain; we read its verdict here rather than let it abort the handshake, so
    // the refusal keeps its precise reason and source address (TLS 1.3 reports an abort as a bare reset).
    if (!socket.authorized) {
      const peer = socket.getPeerCertificate();
      const reason = peer?.raw ? authorizationReason(socket.authorizationError) : 'tls-no-client-certificate';
      this.#refuse(null, source, reason, { claimed: peer?.subject?.CN });
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    const guarded = new GuardedSocket(socket, this.#d.maxPacketBytes, (reason) => {
      const id = (guarded as unknown as { client?: Client }).client?.id;
      const session = id ? this.#sessions.get((guarded as unknown as { client: Client }).client) : undefined;
      this.#refuse(session?.deviceId ?? null, source, reason);
    });
    this.#broker.handle(guarded);
  }

  async #authenticate(client: Client, done: (err: AuthenticateError | null, ok: boolean | null) => void) {
    const socket = (client.conn as GuardedSocket).socket;
    const source = socket.remoteAddress ?? 'unknown';
    try {
      const { device, serial } = await this.#d.trust.authenticate(client.id, peerChain(socket), source);
      const previous = this.#clients()[device.id];
      if (previous && previous !== client) {
        const previousSource = this.#sessions.get(previous)?.source ?? 'unknown';
        this.#d.counters.duplicate(device.id, source);
        this.#d.logger.warn(
          { deviceId: device.id, source, previousSource },
          'mqtt: second connection with the same identity',
        );
        void this.#d.bus.publish('device.connection.duplicate', { deviceId: device.id, source, previousSource });
      }
      this.#sessions.set(client, { deviceId: device.id, serial, source });
      this.#liveSessions.set(device.id, (this.#liveSessions.get(device.id) ?? 0) + 1);
      this.#cache.set(device.id, device.status);
      done(null, true);
    } catch (err) {
      const reason = isFleetwardError(err, 'DEVICE_AUTH_REFUSED') ? String(err.details?.reason) : 'internal-error';
      const deviceId = isFleetwardError(err) ? ((err.details?.deviceId as string | null | undefined) ?? null) : null;
      if (reason === 'internal-error') this.#d.logger.error({ err }, 'mqtt: authentication failed');
      this.#refuse(deviceId, source, reason);
      done(Object.assign(new Error(reason), { returnCode: NOT_AUTHORIZED }) as AuthenticateError, false);
    }
  }

  async #authorizePublish(client: Client | null, packet: PublishPacket, done: (err?: Error | null) => void) {
    const session = client && this.#sessions.get(client);
    if (!session) return done(new Error('no session'));
    const decision = decidePublish(session.deviceId, this.#cache.get(session.deviceId), packet.topic);
    if (!decision.ok) {
      this.#refuse(session.deviceId, session.source, decision.reason);
      // Quarantine drops silently (the device keeps its session for update-status); anything else is
      // an attack on another device's topics and ends the connection (MQTT 3.1.1 §3.3.5).
      return decision.reason === 'acl-quarantined' ? done(null) : done(new Error(decision.reason));
    }
    const payload = packet.payload as Buffer;
    this.#d.counters.message(session.deviceId, session.source, decision.channel, payload.length);
    const handler = this.#handlers.get(decision.channel);
    if (!handler) return done(null);
    const message = {
      deviceId: session.deviceId,
      channel: decision.channel,
      payload: new Uint8Array(payload),
      qos: packet.qos,
      receivedAt: this.#d.clock.now(),
      source: session.source,
    };
    try {
      // The PUBACK waits for this: acknowledged means stored (gateway.types.ts).
      await handler(message);
    } catch (err) {
      this.#d.counters.malformed(session.deviceId, session.source);
      this.#d.logger.warn(
        { deviceId: session.deviceId, channel: decision.channel, code: codeOf(err) },
        'mqtt: message rejected',
      );
    }
    // Called back without an error either way: an error would make aedes drop the connection.
    done(null);
  }

  #authorizeSubscribe(
    client: Client,
    sub: { topic: string; qos: number },
    done: (err: Error | null, sub?: never | null) => void,
  ) {
    const session = this.#sessions.get(client);
    if (!session) return done(new Error('no session'));
    const refused = decideSubscribe(session.deviceId, this.#cache.get(session.deviceId), sub.topic);
    if (refused) {
      this.#refuse(session.deviceId, session.source, refused);
      return done(null, null); // SUBACK 0x80: refused, connection kept
    }
    done(null, sub as never);
  }

  #connected(client: Client): void {
    const s = this.#sessions.get(client);
    if (!s) return;
    this.#d.counters.connect(s.deviceId, s.source);
    void this.#d.bus.publish('device.connected', { deviceId: s.deviceId, source: s.source });
  }

  #disconnected(client: Client): void {
    const s = this.#sessions.get(client);
    if (!s) return;
    this.#d.counters.disconnect(s.deviceId, s.source);
    const left = (this.#liveSessions.get(s.deviceId) ?? 1) - 1;
    if (left > 0) this.#liveSessions.set(s.deviceId, left);
    else {
      this.#liveSessions.delete(s.deviceId);
      this.#cache.forget(s.deviceId);
    }
    void this.#d.bus.publish('device.disconnected', { deviceId: s.deviceId, source: s.source });
  }

  #statusChanged(deviceId: string, status: DeviceStatus | null): void {
    if (status === null || status === 'revoked' || status === 'retired') {
      void this.disconnect(deviceId, `device ${status ?? 'deleted'}`);
    }
  }

  #refuse(deviceId: string | null, source: string, reason: string, extra: Record<string, unknown> = {}): void {
    this.#d.counters.refused(deviceId, source, reason);
    this.#d.logger.warn({ deviceId, source, reason, ...extra }, 'mqtt: refused');
    void this.#d.bus.publish('mqtt.refused', { deviceId, source, reason });
  }

  #clients(): Record<string, Client> {
    return (this.#broker as unknown as { clients: Record<string, Client> }).clients;
  }
}

/** The verified chain the peer presented, leaf first (DER). */
function peerChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert = socket.getPeerCertificate(true);
  while (cert?.raw && chain.length < 8) {
    chain.push(new Uint8Array(cert.raw));
    if (!cert.issuerCertificate || cert.issuerCertificate === cert) break;
    cert = cert.issuerCertificate;
  }
  return chain;
}

function codeOf(err: unknown): string {
  return isFleetwardError(err) ? err.code : 'UNCODED';
}
