/**
 * What an operator asks of a running service: `GET /health` (liveness: the process answers),
 * `GET /ready` (readiness: every selected weight set has loaded and the service is not draining)
 * and `GET /metrics` (Prometheus text format, prom-client with a registry of its own):
 * - `playground_http_requests_total{route,method,status}` and
 *   `playground_http_request_duration_seconds{route}`: `route` is `/<model>/<action>` for a served
 *   model, else `/`, `/health`, `/ready`, `/metrics` or `other` (bounded label values);
 * - `playground_batch_size`: images per onnxruntime run (after dynamic batching);
 * - `playground_queue_depth`: runs waiting for an inference worker;
 * - `playground_worker_restarts_total`, `playground_run_timeouts_total`,
 *   `playground_worker_memory_kills_total`: from the inference pool;
 * - `playground_bodies_rejected_total{reason}`: bodies over the in-flight budget or past the deadline;
 * - `playground_body_bytes_in_flight`;
 * - the process metrics prom-client collects by default (`process_*`, `nodejs_*`).
 */
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { parseModelPath } from '../src/core/router';
import type { InferencePool } from './inference-pool';
import type { WeightState } from './node-engine';

export interface ServiceMetrics {
  registry: Registry;
  /** one onnxruntime run of `images` images started */
  run(images: number): void;
  /** a body was refused or cut off */
  rejected(reason: 'budget' | 'timeout'): void;
}

const SYSTEM_ROUTES = new Set(['/', '/health', '/ready', '/metrics']);

/** The `route` label of a path: bounded, whatever clients send. */
function routeLabel(path: string, served: ReadonlySet<string>): string {
  if (SYSTEM_ROUTES.has(path)) return path;
  const parsed = parseModelPath(path);
  if (parsed?.kind === 'model' && served.has(parsed.modelId)) return `/${parsed.modelId}/${parsed.action}`;
  return 'other';
}

/** A counter that reports a total kept elsewhere (the pool's). */
function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}

/**
 * Creates the registry and its metrics, and hooks the request counters into `app`.
 * @param served model IDs served (for the route label)
 */
export function createMetrics(
  app: FastifyInstance,
  served: readonly string[],
  pool: () => InferencePool | null,
  inflightBytes: () => number,
): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const servedSet = new Set(served);
  const requests = new Counter({
    name: 'playground_http_requests_total',
    help: 'HTTP requests answered, by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'playground_http_request_duration_seconds',
    help: 'time from the request to the end of the answer, by route',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: 'playground_batch_size',
    help: 'images per onnxruntime run, after dynamic batching',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'playground_bodies_rejected_total',
    help: 'request bodies refused over the in-flight budget or cut off at the body deadline',
    labelNames: ['reason'],
    registers: [registry],
  });
  new Gauge({
    name: 'playground_queue_depth',
    help: 'runs waiting for an inference worker',
    registers: [registry],
    collect() {
      this.set(pool()?.stats().queued ?? 0);
    },
  });
  new Gauge({
    name: 'playground_body_bytes_in_flight',
    help: 'request-body bytes held by requests in flight',
    registers: [registry],
    collect() {
      this.set(inflightBytes());
    },
  });
  const stat = (k: 'restarts' | 'timeouts' | 'memoryKills') => () => pool()?.stats()[k] ?? 0;
  mirroredCounter(
    registry,
    'playground_worker_restarts_total',
    'inference workers replaced',
    stat('restarts'),
  );
  mirroredCounter(
    registry,
    'playground_run_timeouts_total',
    'runs stopped at --run-timeout',
    stat('timeouts'),
  );
  mirroredCounter(
    registry,
    'playground_worker_memory_kills_total',
    'inference workers killed over --worker-memory',
    stat('memoryKills'),
  );

  app.addHook('onResponse', async (req, reply) => {
    const route = routeLabel(req.url.split('?')[0], servedSet);
    requests.inc({ route, method: req.method, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  return {
    registry,
    run: (images) => batchSize.observe(images),
    rejected: (reason) => rejected.inc({ reason }),
  };
}

/**
 * Registers GET /health, /ready and /metrics (ahead of the contract's catch-all route). /health is
 * exempt from @fastify/under-pressure: an overloaded process is still alive.
 */
export function registerOperatorRoutes(
  app: FastifyInstance,
  metrics: ServiceMetrics,
  weightStates: () => Record<string, WeightState>,
  draining: () => boolean,
): void {
  app.get('/health', { config: { pressureHandler: () => undefined } }, async () => ({ status: 'ok' }));
  app.get('/ready', async (_req, reply) => {
    const weights = weightStates();
    const notReady = Object.entries(weights)
      .filter(([, s]) => s.state !== 'ready')
      .map(([w]) => w);
    const ready = !draining() && notReady.length === 0;
    void reply.status(ready ? 200 : 503);
    return {
      ready,
      ...(draining() ? { draining: true } : {}),
      ...(notReady.length ? { not_ready: notReady } : {}),
      weights,
    };
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
