import { join } from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.ts';
import { isFleetwardError } from '../../protocol/errors.ts';
import {
  DEVICE_CHANNELS,
  type DeviceChannel,
  deviceTopic,
  parseDeviceTopic,
  TOPIC_ROOT,
} from '../../protocol/topics.ts';
import type { Bus } from '../bus/bus.types.ts';
import type { DeviceGateway, DeviceMessageHandler } from '../gateway/gateway.types.ts';
import type { CertificateAuthority, IdentityService } from '../identity/index.ts';
import type { TransportCounters } from './counters.ts';
import { SERVICE_CLIENT_CN, writeCrl, writeMosquittoFiles } from './mosquitto-config.ts';

export interface ExternalBrokerDeps {
  ca: CertificateAuthority;
  identity: IdentityService;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  counters: TransportCounters;
  serverCert: { certPem: string; keyPem: string };
  config: { externalBrokerUrl: string; dataDir: string; mqttMaxPacketBytes: number };
}

/** What the source of a message is in external mode: Mosquitto does not tell us the device's address. */
const SOURCE = 'mosquitto';

/**
 * External broker mode: Fleetward writes Mosquitto's TLS and ACL configuration into `<data>/mosquitto/`
 * (identity from the certificate, per-device topic patterns) and attaches as a privileged service
 * client that subscribes to every device's up channels and publishes commands.
 */
export class ExternalBroker implements DeviceGateway {
  readonly #d: ExternalBrokerDeps;
  readonly #handlers = new Map<DeviceChannel, DeviceMessageHandler>();
  readonly #dir: string;
  readonly #unsubscribe: Array<() => void> = [];
  #client!: MqttClient;
  readonly endpoint: { host: string; port: number };

  private constructor(deps: ExternalBrokerDeps) {
    this.#d = deps;
    this.#dir = join(deps.config.dataDir, 'mosquitto');
    const url = new URL(deps.config.externalBrokerUrl);
    this.endpoint = { host: url.hostname, port: Number(url.port) };
  }

  /** Writes the Mosquitto files, then connects (and keeps reconnecting) in the background. */
  static async start(deps: ExternalBrokerDeps): Promise<ExternalBroker> {
    const b = new ExternalBroker(deps);
    await b.#start();
    return b;
  }

  /** `<data>/mosquitto/mosquitto.conf`: run `mosquitto -c` on it. */
  get configPath(): string {
    return join(this.#dir, 'mosquitto.conf');
  }

  /** True while the service client is connected to Mosquitto. */
  get attached(): boolean {
    return this.#client.connected;
  }

  onDeviceMessage(channel: DeviceChannel, handler: DeviceMessageHandler): void {
    this.#handlers.set(channel, handler);
  }

  async sendCommand(deviceId: string, command: unknown): Promise<void> {
    await this.#client.publishAsync(deviceTopic(deviceId, 'commands'), JSON.stringify(command), { qos: 1 });
  }

  /**
   * Mosquitto 2.0 has no way for a client to end another client's session (short of its dynamic-security
   * plugin): we refresh the CRL file, which Mosquitto applies to new connections after a reload (SIGHUP).
   */
  async disconnect(deviceId: string, reason: string): Promise<void> {
    await this.#refreshCrl();
    this.#d.logger.warn({ deviceId, reason }, 'external broker: CRL updated; reload Mosquitto (SIGHUP) to apply it');
  }

  async close(): Promise<void> {
    for (const u of this.#unsubscribe) u();
    await this.#client.endAsync(true);
  }

  async #start(): Promise<void> {
    const d = this.#d;
    const now = d.clock.now();
    writeMosquittoFiles(
      {
        dir: this.#dir,
        host: this.endpoint.host,
        port: this.endpoint.port,
        maxPacketBytes: d.config.mqttMaxPacketBytes,
      },
      {
        // Only our CA: manufacturer CAs are not trusted in external mode (no JIT), so no other issuer
        // could mint the service client's name.
        caPems: d.ca.trustPems,
        serverCertPem: d.serverCert.certPem,
        serverKeyPem: d.serverCert.keyPem,
        crlPem: (await d.identity.crl()).pem,
      },
    );
    const service = await d.ca.issueServiceClient(SERVICE_CLIENT_CN, now);
    this.#client = mqtt.connect({
      protocol: 'mqtts',
      host: this.endpoint.host,
      port: this.endpoint.port,
      clientId: SERVICE_CLIENT_CN,
      key: service.keyPem,
      cert: service.certPem,
      ca: d.ca.rootPem,
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
    });
    // PUBACK only after the handler resolved: MQTT.js acknowledges when this callback runs.
    this.#client.handleMessage = (packet, done) => {
      this.#deliver(packet).then(
        () => done(),
        () => done(),
      );
    };
    this.#client.on('connect', () => {
      d.logger.info({ broker: d.config.externalBrokerUrl }, 'external broker: attached');
      const up = Object.entries(DEVICE_CHANNELS).filter(([, c]) => c.direction === 'up');
      this.#client.subscribe(
        up.map(([ch]) => `${TOPIC_ROOT}/+/${ch}`),
        { qos: 1 },
      );
    });
    this.#client.on('error', (err) => d.logger.warn({ err: err.message }, 'external broker: connection problem'));
    this.#unsubscribe.push(d.bus.subscribe('device.certificate.revoked', () => this.#refreshCrl()));
  }

  async #deliver(packet: IPublishPacket): Promise<void> {
    const parsed = parseDeviceTopic(packet.topic);
    if (!parsed || DEVICE_CHANNELS[parsed.channel].direction !== 'up') return;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.#d.counters.message(parsed.deviceId, SOURCE, parsed.channel, payload.length);
    const handler = this.#handlers.get(parsed.channel);
    if (!handler) return;
    try {
      await handler({
        deviceId: parsed.deviceId,
        channel: parsed.channel,
        payload: new Uint8Array(payload),
        qos: packet.qos,
        receivedAt: this.#d.clock.now(),
        source: SOURCE,
      });
    } catch (err) {
      this.#d.counters.malformed(parsed.deviceId, SOURCE);
      const code = isFleetwardError(err) ? err.code : 'UNCODED';
      this.#d.logger.warn({ deviceId: parsed.deviceId, channel: parsed.channel, code }, 'mqtt: message rejected');
    }
  }

  async #refreshCrl(): Promise<void> {
    writeCrl(this.#dir, (await this.#d.identity.crl()).pem);
  }
}
