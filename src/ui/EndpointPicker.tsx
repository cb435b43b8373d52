/**
 * "In this page" or "HTTP endpoint": the target of the attack lab and the API console. Checking an
 * endpoint asks its GET / and says what answered (or why nothing did: a wrong URL, no CORS headers).
 */
import { useEffect, useId, useState } from 'react';
import { normalizeEndpoint, useEndpointStore } from '../stores/endpointStore';

export function EndpointPicker({ testId }: { testId: string }) {
  const endpoint = useEndpointStore((s) => s.endpoint);
  const setEndpoint = useEndpointStore((s) => s.setEndpoint);
  const [text, setText] = useState(endpoint ?? 'http://127.0.0.1:5000');
  const [status, setStatus] = useState<string | null>(null);
  const id = useId();
  // the endpoint can also come from the link or the other picker
  useEffect(() => {
    if (endpoint !== null) setText(endpoint);
  }, [endpoint]);

  const apply = async (value: string) => {
    const url = normalizeEndpoint(value);
    if (url instanceof Error) {
      setStatus(url.message);
      return;
    }
    setEndpoint(url);
    setStatus('checking…');
    try {
      const res = await fetch(`${url}/`);
      const root = (await res.json()) as { service?: string; models?: unknown[] };
      setStatus(`${res.status} · ${root.service ?? 'a service'} · ${root.models?.length ?? '?'} models`);
    } catch (e) {
      setStatus(
        `no answer from ${url}/ (${e instanceof Error ? e.message : String(e)}): is it running, and does it send CORS headers?`,
      );
    }
  };

  return (
    <fieldset className="endpoint-picker" data-testid={testId}>
      <legend>Target</legend>
      <label>
        <input
          type="radio"
          name={`${id}-target`}
          checked={endpoint === null}
          onChange={() => {
            setEndpoint(null);
            setStatus(null);
          }}
          data-testid={`${testId}-page`}
        />{' '}
        in this page
      </label>
      <label>
        <input
          type="radio"
          name={`${id}-target`}
          checked={endpoint !== null}
          onChange={() => void apply(text)}
          data-testid={`${testId}-http`}
        />{' '}
        HTTP endpoint
      </label>
      <input
        type="url"
        value={text}
        aria-label="Endpoint URL"
        onChange={(e) => setText(e.target.value)}
        onBlur={() => endpoint !== null && text !== endpoint && void apply(text)}
        onKeyDown={(e) => e.key === 'Enter' && void apply(text)}
        data-testid={`${testId}-url`}
      />
      {status && (
        <span className="endpoint-picker__status muted" data-testid={`${testId}-status`}>
          {status}
        </span>
      )}
    </fieldset>
  );
}
