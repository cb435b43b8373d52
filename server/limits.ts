/**
 * What keeps hostile or careless clients from taking the service's memory and time:
 * - a budget of request-body bytes in flight across all requests (`maxInflightBytes`): a request
 *   whose declared Content-Length does not fit is answered 503 with Retry-After before a byte of its
 *   body is read; a body without a length (chunked) is counted as it arrives and cut off when it no
 *   longer fits. Its bytes leave the budget when its answer is sent or its client goes away;
 * - a deadline for the whole body (`bodyTimeoutMs`, counted from the request's arrival): a client
 *   that trickles its body is answered 408 and disconnected at the deadline, not when Node's
 *   connection check next runs (up to 30 s later);
 * - @fastify/under-pressure: while the event loop lags over `maxEventLoopDelayMs` or the heap is
 *   nearly full, requests are answered 503 with Retry-After instead of piling up until the process
 *   dies. /health is exempt, so that a load balancer sees a live process as live.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { getHeapStatistics } from 'node:v8';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** The code of @fastify/under-pressure's error. */
export const UNDER_PRESSURE_CODE = 'FST_UNDER_PRESSURE';

export interface Limits {
  /** body bytes in flight across all requests */
  maxInflightBytes: number;
  /** the whole body must arrive within this of the request's arrival (ms) */
  bodyTimeoutMs: number;
  /** event-loop delay over which requests are refused (ms) */
  maxEventLoopDelayMs: number;
}

/**
 * The default body budget: a quarter of V8's heap limit. A body is held as a string (its size in
 * bytes for ASCII JSON), parsed into a second copy of its image strings, then decoded: about 2–3×
 * its size at its peak, so a quarter leaves the heap room for everything else.
 */
export function defaultInflightBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 4);
}

/** What the limits count, for /metrics. */
export interface LimitCounters {
  /** bodies refused or cut off, by reason */
  rejected: (reason: 'budget' | 'timeout') => void;
}

type Tracked = FastifyRequest & { budgetBytes?: number; bodyDeadline?: number; bodyTimer?: NodeJS.Timeout };

/** The code of the errors below (the service's error handler answers them with their own words). */
export const BODY_LIMIT_CODE = 'PLAYGROUND_BODY_LIMIT';

function httpError(status: number, message: string): Error & { statusCode: number; code: string } {
  return Object.assign(new Error(message), { statusCode: status, code: BODY_LIMIT_CODE });
}

/** Registers the body budget and the body deadline (see the module doc). */
export function registerBodyLimits(
  app: FastifyInstance,
  limits: Limits,
  counters: LimitCounters,
): () => number {
  let inflight = 0;
  const release = (req: Tracked) => {
    inflight -= req.budgetBytes ?? 0;
    req.budgetBytes = 0;
    clearTimeout(req.bodyTimer);
  };
  const full = (reply: FastifyReply, bytes: number) => {
    counters.rejected('budget');
    return (
      reply
        .status(503)
        .header('Retry-After', '1')
        // no Connection: close: Node then reads the unread body and drops it (no memory held), so a
        // client still uploading reads this answer instead of a connection reset
        .type('application/json')
        .send({
          error:
            `the server is holding ${inflight} bytes of request bodies, and ${bytes} more would exceed its budget of ` +
            `${limits.maxInflightBytes} (--max-inflight-bytes); retry shortly`,
        })
    );
  };

  app.addHook('onRequest', async (req: Tracked, reply) => {
    req.bodyDeadline = Date.now() + limits.bodyTimeoutMs;
    const declared = Number(req.headers['content-length'] ?? 0);
    if (!(declared > 0)) return;
    if (inflight + declared > limits.maxInflightBytes) return full(reply, declared);
    inflight += declared;
    req.budgetBytes = declared;
  });

  app.addHook('preParsing', async (req: Tracked, _reply, payload) => {
    let received = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        received += chunk.length;
        // Fastify checks the declared length against what the client sent, read from here
        (counter as Transform & { receivedEncodedLength?: number }).receivedEncodedLength = received;
        const extra = received - (req.budgetBytes ?? 0);
        if (extra > 0) {
          // a body longer than declared, or without a length: take what it needs as it comes
          if (inflight + extra > limits.maxInflightBytes) {
            counters.rejected('budget');
            return done(
              httpError(
                503,
                `request bodies in flight exceed the budget of ${limits.maxInflightBytes} bytes (--max-inflight-bytes); retry shortly`,
              ),
            );
          }
          inflight += extra;
          req.budgetBytes = (req.budgetBytes ?? 0) + extra;
        }
        done(null, chunk);
      },
    });
    const left = Math.max(0, (req.bodyDeadline ?? Date.now()) - Date.now());
    const timer = setTimeout(() => {
      counters.rejected('timeout');
      // the answer carries Connection: close, so Node closes the socket once it is sent
      counter.destroy(
        httpError(408, `the request body did not arrive within ${limits.bodyTimeoutMs / 1000} s`),
      );
    }, left);
    req.bodyTimer = timer;
    counter.on('finish', () => clearTimeout(timer));
    counter.on('close', () => clearTimeout(timer));
    // Fastify may answer without reading the body (a Content-Length over --max-body): an error of
    // this stream then has no reader, and an unheard 'error' would end the process
    counter.on('error', () => {});
    payload.on('error', (e) => counter.destroy(e));
    (counter as Transform & { receivedEncodedLength?: number }).receivedEncodedLength = 0;
    return payload.pipe(counter);
  });

  app.addHook('onResponse', async (req: Tracked) => release(req));
  app.addHook('onRequestAbort', async (req: Tracked) => release(req));
  return () => inflight;
}

/**
 * Registers @fastify/under-pressure (see the module doc); its 503 carries Retry-After, and the
 * service's error handler words it as JSON (UNDER_PRESSURE_CODE).
 */
export async function registerPressure(app: FastifyInstance, limits: Limits): Promise<void> {
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor(getHeapStatistics().heap_size_limit * 0.9),
    retryAfter: 5,
  });
}
