import type { ReportListening } from '../protocol/report.ts';

/**
 * Product profiles: what a healthy device of each kind looks like, so attacks stand out against a
 * plausible background. Traffic follows the hour of day (the device's local time); endpoints and
 * listening ports are a fixed set; expected reboots (updates, users) are rare.
 */
export interface Endpoint {
  proto: 'tcp' | 'udp';
  addr: string;
  port: number;
}

export interface Profile {
  name: string;
  firmware: string;
  listening: ReportListening[];
  endpoints: Endpoint[];
  /** Bytes out and in per hour at the busiest hour. */
  peakBytesOutPerHour: number;
  peakBytesInPerHour: number;
  /** Relative activity by local hour 0–23 (1 = peak). */
  diurnal: number[];
  /** Expected reboots per day (firmware updates, users). */
  rebootsPerDay: number;
  /** Failed logins per day of a healthy device (typos, a forgotten password). */
  authFailuresPerDay: number;
  custom: (hourOfDay: number, uptimeS: number) => Record<string, number>;
}

/** Peaks at `peaks` (hours) with width `w`, on a floor. */
function curve(floor: number, peaks: number[], w: number): number[] {
  return Array.from({ length: 24 }, (_, h) => {
    const bump = Math.max(
      ...peaks.map((p) => {
        const d = Math.min(Math.abs(h - p), 24 - Math.abs(h - p));
        return Math.exp(-(d * d) / (2 * w * w));
      }),
    );
    return floor + (1 - floor) * bump;
  });
}

const CLOUD = (n: number) => `203.0.113.${n}`;

export const PROFILES: Record<string, Profile> = {
  lock: {
    name: 'lock',
    firmware: 'lock-2.3.1',
    listening: [{ proto: 'udp', port: 5353, addr: '0.0.0.0' }],
    endpoints: [
      { proto: 'tcp', addr: CLOUD(10), port: 8883 },
      { proto: 'udp', addr: CLOUD(123), port: 123 },
    ],
    peakBytesOutPerHour: 40_000,
    peakBytesInPerHour: 30_000,
    diurnal: curve(0.1, [7.5, 18.5], 1.5),
    rebootsPerDay: 1 / 30,
    authFailuresPerDay: 0.2,
    custom: (_h, up) => ({ 'battery.pct': Math.max(5, 100 - Math.floor(up / 86_400)) }),
  },
  meter: {
    name: 'meter',
    firmware: 'meter-1.8.0',
    listening: [],
    endpoints: [{ proto: 'tcp', addr: CLOUD(20), port: 443 }],
    peakBytesOutPerHour: 60_000,
    peakBytesInPerHour: 12_000,
    diurnal: curve(0.6, [12], 5),
    rebootsPerDay: 1 / 90,
    authFailuresPerDay: 0,
    custom: (h) => ({ 'energy.wh': Math.round(200 + 300 * Math.sin((Math.PI * h) / 24)) }),
  },
  heater: {
    name: 'heater',
    firmware: 'heat-4.1.2',
    listening: [{ proto: 'tcp', port: 80, addr: '0.0.0.0' }],
    endpoints: [{ proto: 'tcp', addr: CLOUD(30), port: 8883 }],
    peakBytesOutPerHour: 80_000,
    peakBytesInPerHour: 50_000,
    diurnal: curve(0.2, [6.5, 19], 2),
    rebootsPerDay: 1 / 45,
    authFailuresPerDay: 0.5,
    custom: (h) => ({ 'temp.c': h >= 6 && h <= 22 ? 21 : 17 }),
  },
  camera: {
    name: 'camera',
    firmware: 'cam-3.0.7',
    listening: [
      { proto: 'tcp', port: 80, addr: '0.0.0.0' },
      { proto: 'tcp', port: 554, addr: '0.0.0.0' },
    ],
    endpoints: [
      { proto: 'tcp', addr: CLOUD(40), port: 443 },
      { proto: 'tcp', addr: CLOUD(41), port: 443 },
    ],
    peakBytesOutPerHour: 250_000_000,
    peakBytesInPerHour: 5_000_000,
    diurnal: curve(0.15, [9, 17], 3),
    rebootsPerDay: 1 / 20,
    authFailuresPerDay: 1,
    custom: () => ({ 'video.fps': 15 }),
  },
};

export const PROFILE_NAMES = Object.keys(PROFILES);

/** `mixed` cycles through every profile by device index; otherwise every device is the named profile. */
export function profileFor(name: string, index: number): Profile {
  if (name === 'mixed') return PROFILES[PROFILE_NAMES[index % PROFILE_NAMES.length]!]!;
  return PROFILES[name]!;
}
