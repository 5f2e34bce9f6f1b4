import type { DeviceChannel } from '../../protocol/topics.ts';

/**
 * The seam between the device transport (the MQTT broker adapter, built-in or external Mosquitto) and
 * the capabilities that consume or send device messages. Services depend on these interfaces only; the
 * composition root (main.ts) wires the broker to them.
 */
export interface DeviceMessage {
  deviceId: string;
  channel: DeviceChannel;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  /** Epoch ms, from the server's Clock. */
  receivedAt: number;
  /** Remote address of the device's connection. */
  source: string;
}

/**
 * Runs before the broker acknowledges a QoS 1 publish: resolve once the message is durable
 * ("acknowledged means stored"). A rejection with a coded FleetwardError is counted against the device
 * and the message is dropped; the connection and every other device are unaffected.
 */
export type DeviceMessageHandler = (msg: DeviceMessage) => Promise<void>;

export interface DeviceInbox {
  /** One handler per device→cloud channel. */
  onDeviceMessage(channel: DeviceChannel, handler: DeviceMessageHandler): void;
}

export interface DeviceOutbox {
  /** Publishes to `devices/{id}/commands` at QoS 1; resolves when the broker has accepted it. */
  sendCommand(deviceId: string, command: unknown): Promise<void>;
  /** Ends a device's live sessions at once (revocation, quarantine). */
  disconnect(deviceId: string, reason: string): Promise<void>;
}

export interface DeviceGateway extends DeviceInbox, DeviceOutbox {}
