import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** The process's Prometheus registry: runtime metrics plus HTTP request counts and latencies. */
export function createMetrics(): { registry: Registry; httpRequests: Counter; httpDuration: Histogram } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fleetward_' });
  const httpRequests = new Counter({
    name: 'fleetward_http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'fleetward_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration };
}

export type Metrics = ReturnType<typeof createMetrics>;
