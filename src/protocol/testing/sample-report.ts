import type { Report } from '../report.ts';

/** A plausible report for tests; override any field. */
export function sampleReport(over: Partial<Report> = {}): Report {
  return {
    v: 1,
    boot: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    seq: 7,
    at: Date.UTC(2026, 0, 1),
    span: 300_000,
    uptime: 3600,
    firmware: '1.4.2',
    agent: '0.1.0',
    traffic: { bytesIn: 12_000, bytesOut: 8_000, packetsIn: 90, packetsOut: 70 },
    listening: [
      { proto: 'tcp', port: 443, addr: '0.0.0.0' },
      { proto: 'tcp', port: 22, addr: '::' },
    ],
    connections: [{ proto: 'tcp', addr: '203.0.113.7', port: 8883, localPort: 50123 }],
    totals: { connections: 1, remotes: 1 },
    resets: [],
    authFailures: 0,
    custom: { 'battery.pct': 87 },
    ...over,
  };
}
