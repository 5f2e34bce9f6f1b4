import { DEVICE_CHANNELS, type DeviceChannel, deviceTopic, parseDeviceTopic } from '../../protocol/topics.ts';
import type { DeviceStatus } from '../registry/index.ts';

/**
 * The per-device ACL, derived from the topic table in protocol/topics.ts: a device publishes only on its
 * own up channels and subscribes only to its own command topic — no wildcards, no other device's subtree.
 */
export type AclRefusal =
  | 'acl-foreign-topic'
  | 'acl-invalid-topic'
  | 'acl-wildcard'
  | 'acl-channel-direction'
  | 'acl-quarantined'
  | 'device-revoked';

export type PublishDecision = { ok: true; channel: DeviceChannel } | { ok: false; reason: AclRefusal };

/** Channels a quarantined device keeps: it can report update progress and answer commands, nothing else. */
const QUARANTINE_PUBLISH: ReadonlySet<DeviceChannel> = new Set(['update-status', 'command-results']);

export function decidePublish(deviceId: string, status: DeviceStatus, topic: string): PublishDecision {
  if (status === 'revoked' || status === 'retired') return { ok: false, reason: 'device-revoked' };
  const parsed = parseDeviceTopic(topic);
  if (!parsed) return { ok: false, reason: 'acl-invalid-topic' };
  if (parsed.deviceId !== deviceId) return { ok: false, reason: 'acl-foreign-topic' };
  if (DEVICE_CHANNELS[parsed.channel].direction !== 'up') return { ok: false, reason: 'acl-channel-direction' };
  if (status === 'quarantined' && !QUARANTINE_PUBLISH.has(parsed.channel))
    return { ok: false, reason: 'acl-quarantined' };
  return { ok: true, channel: parsed.channel };
}

export function decideSubscribe(deviceId: string, status: DeviceStatus, filter: string): AclRefusal | null {
  if (status === 'revoked' || status === 'retired') return 'device-revoked';
  if (filter.includes('+') || filter.includes('#')) return 'acl-wildcard';
  const parsed = parseDeviceTopic(filter);
  if (!parsed) return 'acl-invalid-topic';
  if (parsed.deviceId !== deviceId) return 'acl-foreign-topic';
  if (filter !== deviceTopic(deviceId, 'commands')) return 'acl-channel-direction';
  return null;
}

/** Refusals that count as authorization failures (the detection signal), as opposed to authentication. */
export const AUTHZ_REASONS: ReadonlySet<string> = new Set<AclRefusal>([
  'acl-foreign-topic',
  'acl-invalid-topic',
  'acl-wildcard',
  'acl-channel-direction',
  'acl-quarantined',
]);
