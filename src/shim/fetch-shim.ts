/**
 * The fetch shim: same-origin requests to the thesis API's routes (`GET /`, `POST /<model>/decision`,
 * `POST /<model>/score`, …) are answered by the in-browser router; every other request goes to the
 * real fetch untouched. Responses are real `Response` objects with the status, JSON body and
 * headers a Flask client would see.
 */
import { type ApiRequest, type ApiResponse, errorBody } from '../core/api';
import { ownErrorKind } from '../core/errors';
import { parseModelPath } from '../core/routes';

export interface ShimLogEntry {
  time: number;
  method: string;
  path: string;
  requestBody: string | undefined;
  status: number;
  headers: Record<string, string>;
  responseBody: unknown;
  ms: number;
}

type Handler = (req: ApiRequest) => Promise<ApiResponse>;

/**
 * The router's own paths (core/routes.ts): `/`, `/<model>/decision|score|gradient` with one or two
 * segments of model (unknown models get a JSON 404), and an uploaded model's
 * `/custom/<id>[/<variant>]/…`.
 */
export function isApiPath(pathname: string): boolean {
  return parseModelPath(pathname) !== null;
}

export function installFetchShim(handler: Handler, onExchange?: (e: ShimLogEntry) => void): () => void {
  const realFetch = globalThis.fetch.bind(globalThis);
  const origin = globalThis.location.origin;

  const shim: typeof fetch = async (input, init) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input), globalThis.location.href);
    if (url.origin !== origin || !isApiPath(url.pathname)) return realFetch(input, init);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    let body: string | undefined;
    const t0 = performance.now();
    let res: ApiResponse;
    try {
      // a string body (the common case) is used as is: no stream round trip on the hot path
      if (typeof init?.body === 'string') body = init.body;
      else if (init?.body !== undefined && init.body !== null) body = await new Response(init.body).text();
      else if (request && method !== 'GET' && method !== 'HEAD') body = await request.text();
      res = await handler({ method, path: url.pathname, body });
    } catch (err) {
      // a request through the shim always gets an answer, as it would from a server
      res = {
        status: 503,
        headers: { 'Content-Type': 'application/json' },
        body: errorBody(
          `the in-page API could not answer: ${err instanceof Error ? err.message : String(err)}`,
          ownErrorKind(err),
        ),
      };
    }
    const text = JSON.stringify(res.body);
    onExchange?.({
      time: Date.now(),
      method,
      path: url.pathname,
      requestBody: body,
      status: res.status,
      headers: res.headers,
      responseBody: res.body,
      ms: performance.now() - t0,
    });
    return new Response(method === 'HEAD' ? null : text, { status: res.status, headers: res.headers });
  };
  globalThis.fetch = shim;
  return () => {
    globalThis.fetch = realFetch;
  };
}
