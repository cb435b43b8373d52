/**
 * The thesis API, live: for the current image and the focused model, a real `fetch('/<route>')`
 * goes through the page's fetch shim (or to an HTTP endpoint); the console shows the request the
 * shim received (or the one sent to the endpoint) and its response, or why there is none, plus
 * equivalent fetch and curl snippets that carry the answer's X-Seed when a randomized defense drew one.
 */
import { useEffect, useMemo, useRef, useState } from 'react';
import { onApiExchange, shimLog } from '../app/runtime';
import { MODEL_IDS } from '../core/models';
import type { ShimLogEntry } from '../shim/fetch-shim';
import { useCustomModelStore } from '../stores/customModelStore';
import { useEndpointStore } from '../stores/endpointStore';
import { type UploadPreview, useImageStore } from '../stores/imageStore';
import { useModelStore } from '../stores/modelStore';
import { parseSeed, useResultsStore } from '../stores/resultsStore';
import {
  curlSnippet,
  endpointErrorText,
  fetchSnippet,
  makeBody,
  prettyJson,
  responseSeed,
  STATUS_TEXT,
  shortenJson,
  withSeed,
} from './apiSnippets';
import { CopyButton } from './CopyButton';
import { customModelInfoList, findModel } from './customModels';
import { EndpointPicker } from './EndpointPicker';
import { Field, Options, SelectField } from './fields';
import { ms } from './format';
import { Icon } from './icons';
import { apiPath, describeWeights } from './targets';

type Route = 'decision' | 'score';
type BodyKind = 'gray28' | 'original';

/** The last eight exchanges through the shim, newest first. */
function useShimHistory(): ShimLogEntry[] {
  const [history, setHistory] = useState<ShimLogEntry[]>(() => shimLog.slice(-8).reverse());
  // A script may fire thousands of requests a second through the shim: re-rendering the history on
  // each one kept the main thread busy and tripled `fetch` latency, so coalesce to one update a frame.
  useEffect(() => {
    let frame = 0;
    const pending: ShimLogEntry[] = [];
    const off = onApiExchange((e) => {
      pending.push(e);
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const latest = pending.splice(0).reverse();
        setHistory((h) => [...latest, ...h].slice(0, 8));
      });
    });
    return () => {
      off();
      cancelAnimationFrame(frame);
    };
  }, []);
  return history;
}

/** POSTs `body` over the network to an HTTP service (it must send CORS headers), as a log entry. */
async function postToEndpoint(endpoint: string, path: string, body: string): Promise<ShimLogEntry> {
  const t0 = performance.now();
  const res = await fetch(`${endpoint}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  });
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    headers[k] = v;
  });
  const text = await res.text();
  let responseBody: unknown = text;
  try {
    responseBody = JSON.parse(text);
  } catch {
    // not JSON: shown as text
  }
  return {
    time: Date.now(),
    method: 'POST',
    path: `${endpoint}${path}`,
    requestBody: body,
    status: res.status,
    headers,
    responseBody,
    ms: performance.now() - t0,
  };
}

/**
 * What the panes show: the request as it was sent (or as the shim logged it) and its answer, or why
 * there is none.
 */
export interface ExchangeView {
  /** The HTTP endpoint the request went to; null: the page's fetch shim. */
  via: string | null;
  method: string;
  /** The URL as sent (the route path alone for the shim). */
  url: string;
  /** The route path, e.g. /0/3/score. */
  path: string;
  requestBody: string | undefined;
  entry: ShimLogEntry | null;
  error: string | null;
}

const viewOfEntry = (entry: ShimLogEntry): ExchangeView => ({
  via: null,
  method: entry.method,
  url: entry.path,
  path: entry.path,
  requestBody: entry.requestBody,
  entry,
  error: null,
});

/** Sends the request (through the shim, or to the chosen service) and keeps the latest exchange. */
function useApiExchange(body: string | null, path: string, version: number, endpoint: string | null) {
  const [view, setView] = useState<ExchangeView | null>(null);
  const [sending, setSending] = useState(false);
  const sendCount = useRef(0);

  const send = async () => {
    if (!body) return;
    const n = ++sendCount.current;
    const url = endpoint === null ? path : `${endpoint}${path}`;
    const sent: ExchangeView = {
      via: endpoint,
      method: 'POST',
      url,
      path,
      requestBody: body,
      entry: null,
      error: null,
    };
    const current = () => n === sendCount.current;
    setSending(true);
    // an endpoint may take a while: show what went out at once (the shim answers within a frame)
    if (endpoint !== null) setView(sent);
    const box: { entry: ShimLogEntry | null } = { entry: null };
    const off = onApiExchange((e) => {
      if (e.path === path && e.requestBody === body) box.entry = e;
    });
    try {
      if (endpoint !== null) {
        const entry = await postToEndpoint(endpoint, path, body);
        if (current()) setView({ ...sent, entry });
        return;
      }
      await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
      if (current() && box.entry) setView(viewOfEntry(box.entry));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const error = endpoint === null ? message : endpointErrorText(endpoint, message);
      if (current()) setView({ ...sent, error });
    } finally {
      off();
      if (current()) setSending(false);
    }
  };

  // another target: what the panes showed was another service's exchange
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs because the endpoint changed
  useEffect(() => {
    sendCount.current++;
    setView(null);
    setSending(false);
  }, [endpoint]);

  // re-send (debounced) when the image, model, route or body change, in the page only
  // biome-ignore lint/correctness/useExhaustiveDependencies: send reads the same values
  useEffect(() => {
    // an HTTP endpoint (possibly from a link) gets the image only when the user presses Send
    if (!body || endpoint !== null) return;
    const t = setTimeout(() => void send(), 350);
    return () => clearTimeout(t);
  }, [body, path, version, endpoint]);

  const pick = (entry: ShimLogEntry) => setView(viewOfEntry(entry));
  return { view, pick, sending, send };
}

/**
 * The X-Seed of the answer shown, when that answer is to the request the console would send now:
 * the snippets then carry it and reproduce exactly that answer.
 */
function replaySeed(view: ExchangeView | null, path: string, body: string | null): number | undefined {
  if (!view?.entry || view.path !== path || view.requestBody !== body) return undefined;
  return responseSeed(view.entry.headers);
}

function statusClass(status: number): string {
  return status < 300 ? 'ok' : status < 500 ? 'warn' : 'bad';
}

function ModelSelect(props: {
  focused: string;
  modelIds: string[];
  selected: string[];
  onChange: (id: string) => void;
}) {
  const { focused, modelIds, selected, onChange } = props;
  return (
    <SelectField inline label="Model" value={focused} onChange={onChange} testId="api-model-select">
      <Options
        values={modelIds}
        label={(id) => (
          <>
            {describeWeights(id)}
            {selected.includes(id) ? '' : ' (not selected)'}
          </>
        )}
      />
    </SelectField>
  );
}

/** The 28×28 gray body, or the original upload's RGB bytes when it is small enough. */
function BodySelect(props: {
  upload: UploadPreview | null;
  useOriginal: boolean;
  canOriginal: boolean;
  onChange: (kind: BodyKind) => void;
}) {
  const { upload, useOriginal, canOriginal, onChange } = props;
  return (
    <SelectField<BodyKind>
      inline
      label="Body"
      value={useOriginal ? 'original' : 'gray28'}
      onChange={onChange}
      testId="api-body-select"
    >
      <option value="gray28">28×28 gray (channel 1)</option>
      <option value="original" disabled={!canOriginal}>
        {upload
          ? `original upload ${upload.width}×${upload.height} RGB (channel 3)`
          : 'original upload (RGB) — upload first'}
        {upload && !upload.rgb ? ' — too large' : ''}
      </option>
    </SelectField>
  );
}

function RequestPane(props: {
  view: ExchangeView | null;
  path: string;
  body: string | null;
  endpoint: string | null;
}) {
  const { view, path, body, endpoint } = props;
  const via = view ? view.via : endpoint;
  const title =
    via === null
      ? 'Request the shim received'
      : view
        ? `Request sent to ${via}`
        : `Request to send to ${via}`;
  return (
    <div className="pane" data-testid="api-request" data-via={via ?? 'shim'}>
      <h3 className="pane__title" data-testid="api-request-title">
        {title}
      </h3>
      <pre className="code">
        <code>
          <span className="code__line" data-testid="api-request-line">
            <strong>{view?.method ?? 'POST'}</strong>{' '}
            {view?.url ?? (endpoint === null ? path : `${endpoint}${path}`)}
          </span>
          {'\n'}
          {shortenJson(view ? view.requestBody : (body ?? undefined))}
        </code>
      </pre>
    </div>
  );
}

function ResponsePane(props: { view: ExchangeView | null; sending: boolean }) {
  const { view, sending } = props;
  const shown = view?.entry ?? null;
  return (
    <div className="pane" data-testid="api-response">
      <h3 className="pane__title">Response</h3>
      {view?.error ? (
        <p className="text-error" role="alert" data-testid="api-error">
          {view.error}
        </p>
      ) : shown ? (
        <pre className="code">
          <code>
            <span
              className={`code__status code__status--${statusClass(shown.status)}`}
              data-testid="api-status"
              data-status={shown.status}
            >
              {shown.status} {STATUS_TEXT[shown.status] ?? ''}
            </span>
            <span className="muted"> · {ms(shown.ms)}</span>
            {'\n'}
            {Object.entries(shown.headers)
              .map(([k, v]) => `${k}: ${v}`)
              .join('\n')}
            {'\n\n'}
            <span data-testid="api-response-body">{prettyJson(shown.responseBody)}</span>
          </code>
        </pre>
      ) : (
        <p className="muted">{sending ? 'Waiting for the answer…' : 'No exchange yet.'}</p>
      )}
    </div>
  );
}

/**
 * Copy buttons for equivalent fetch and curl calls, and where curl should send them. `seed`: the
 * X-Seed of the answer shown, which the snippets carry so that they reproduce it.
 */
function ApiSnippets({ path, body, seed }: { path: string; body: string | null; seed: number | undefined }) {
  const [curlBase, setCurlBase] = useState('http://localhost:5000');
  const sent = withSeed(body ?? '{}', seed);
  return (
    <div className="api-console__snippets">
      <CopyButton testId="copy-fetch" label="Copy fetch" text={() => fetchSnippet(path, sent)} />
      <CopyButton testId="copy-curl" label="Copy curl" text={() => curlSnippet(curlBase, path, sent)} />
      <Field inline label="curl target">
        {(id) => (
          <input
            id={id}
            type="url"
            value={curlBase}
            onChange={(e) => setCurlBase(e.target.value)}
            className="input--url"
            data-testid="api-curl-base"
            title="curl cannot reach the in-page shim: point it at a running copy of the thesis service"
          />
        )}
      </Field>
      {seed !== undefined && (
        <p className="muted small" data-testid="api-snippet-seed" data-seed={seed}>
          The snippets carry "seed": {seed}, the X-Seed of the answer shown, so they reproduce it; without a
          seed the randomized defense draws new noise on every call.
        </p>
      )}
    </div>
  );
}

function ExchangeHistory({
  history,
  onPick,
}: {
  history: ShimLogEntry[];
  onPick: (e: ShimLogEntry) => void;
}) {
  if (history.length === 0) return null;
  return (
    <details className="api-console__history" data-testid="api-history">
      <summary>Recent exchanges through the shim ({history.length})</summary>
      <ul>
        {history.map((h) => (
          <li key={`${h.time}-${h.path}-${h.ms}`}>
            <button type="button" className="link-button" onClick={() => onPick(h)}>
              <code>
                {h.method} {h.path}
              </code>{' '}
              → <span className={h.status < 300 ? 'text-ok' : 'text-error'}>{h.status}</span>{' '}
              <span className="muted">
                {new Date(h.time).toLocaleTimeString()} · {ms(h.ms)}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** The live API console: model, route and body pickers, the exchange, snippets and recent history. */
export function ApiConsole() {
  const selected = useModelStore((s) => s.selected);
  const focusedKey = useModelStore((s) => s.focused);
  const setFocused = useModelStore((s) => s.setFocused);
  const pixels = useImageStore((s) => s.pixels);
  const version = useImageStore((s) => s.version);
  const upload = useImageStore((s) => (s.source?.kind === 'upload' ? s.lastUpload : null));
  const seedText = useResultsStore((s) => s.seedText);
  const [route, setRoute] = useState<Route>('decision');
  const [bodyKind, setBodyKind] = useState<BodyKind>('gray28');
  const endpoint = useEndpointStore((s) => s.endpoint);

  const uploaded = useCustomModelStore((s) => s.models);
  const modelIds = useMemo(
    () => [...MODEL_IDS, ...customModelInfoList(uploaded).map((m) => m.id)],
    [uploaded],
  );
  const focused = focusedKey && modelIds.includes(focusedKey) ? focusedKey : (selected[0] ?? '0');
  const model = findModel(focused) ?? findModel('0')!;
  const path = apiPath(focused, route);
  const seed = model.preprocessor ? parseSeed(seedText) : undefined;
  const canOriginal = Boolean(upload?.rgb);
  const useOriginal = bodyKind === 'original' && canOriginal;

  const body = useMemo(() => {
    if (!pixels) return null;
    if (useOriginal && upload?.rgb) return makeBody(upload.rgb, upload.width, upload.height, 3, seed);
    return makeBody(pixels, 28, 28, 1, seed);
  }, [pixels, useOriginal, upload, seed]);

  const history = useShimHistory();
  const { view, pick, sending, send } = useApiExchange(body, path, version, endpoint);

  return (
    <section
      className="panel api-console"
      id="api-console"
      aria-labelledby="api-heading"
      data-testid="api-console"
    >
      <div className="panel__header">
        <h2 id="api-heading" className="panel__title">
          API console{' '}
          <span className="muted panel__subtitle">
            the thesis' HTTP contract, answered {endpoint === null ? 'in the page' : `by ${endpoint}`}
          </span>
        </h2>
      </div>
      <div className="api-console__controls">
        <EndpointPicker testId="api-target" />
        <ModelSelect focused={focused} modelIds={modelIds} selected={selected} onChange={setFocused} />
        <SelectField<Route> inline label="Route" value={route} onChange={setRoute} testId="api-route-select">
          <option value="decision">/decision</option>
          <option value="score">/score</option>
        </SelectField>
        <BodySelect
          upload={upload}
          useOriginal={useOriginal}
          canOriginal={canOriginal}
          onChange={setBodyKind}
        />
        <button
          type="button"
          className="button button--small button--primary"
          onClick={() => void send()}
          disabled={!body || sending}
          data-testid="api-send"
        >
          <Icon name="send" /> {sending ? 'Sending…' : endpoint === null ? 'Send again' : 'Send'}
        </button>
      </div>

      <div className="api-console__panes">
        <RequestPane view={view} path={path} body={body} endpoint={endpoint} />
        <ResponsePane view={view} sending={sending} />
      </div>

      <ApiSnippets path={path} body={body} seed={replaySeed(view, path, body)} />
      <ExchangeHistory history={history} onPick={pick} />
    </section>
  );
}
