/**
 * The MQTT topic layout, shared by broker, agent, simulator and server. A device owns the subtree
 * `devices/{its id}/…`: it publishes on the channels below except `commands`, and subscribes only to
 * `commands`. The broker's ACL is derived from this table, so the two cannot drift apart.
 */
export const TOPIC_ROOT = 'devices';

export const DEVICE_CHANNELS = {
  /** Periodic metrics report (device → cloud), QoS 1. */
  reports: { direction: 'up' },
  /** Out-of-band events: boot, security events (device → cloud). */
  events: { direction: 'up' },
  /** Results of commands (device → cloud). */
  'command-results': { direction: 'up' },
  /** Update progress states (device → cloud). */
  'update-status': { direction: 'up' },
  /** Commands for the device (cloud → device), QoS 1. */
  commands: { direction: 'down' },
} as const;

export type DeviceChannel = keyof typeof DEVICE_CHANNELS;

export function deviceTopic(deviceId: string, channel: DeviceChannel): string {
  return `${TOPIC_ROOT}/${deviceId}/${channel}`;
}

/** Splits `devices/{id}/{channel}`; null for anything else (including wildcards and extra levels). */
export function parseDeviceTopic(topic: string): { deviceId: string; channel: DeviceChannel } | null {
  const parts = topic.split('/');
  if (parts.length !== 3 || parts[0] !== TOPIC_ROOT) return null;
  const [, deviceId, channel] = parts as [string, string, string];
  if (!DEVICE_ID_RE.test(deviceId) || !Object.hasOwn(DEVICE_CHANNELS, channel)) return null;
  return { deviceId, channel: channel as DeviceChannel };
}

/** Device ids appear in topics, certificate names and URLs: no slashes, wildcards or whitespace. */
export const DEVICE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
