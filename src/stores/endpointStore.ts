/**
 * Where the attack lab and the API console send their queries: the models in this page (null) or
 * an HTTP service with the thesis contract that sends CORS headers (`npm run serve`, or the
 * thesis' Flask service). UI state only; the URL keeps it as `?endpoint=<url>`.
 */
import { create } from 'zustand';

export interface EndpointState {
  /** base URL without a trailing slash, or null for "in this page" */
  endpoint: string | null;
  setEndpoint(url: string | null): void;
}

/** A base URL as the stores keep it, or an Error saying what is wrong with the text. */
export function normalizeEndpoint(text: string): string | Error {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return new Error(`“${text}” is not a URL (e.g. http://127.0.0.1:5000)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return new Error('the endpoint must be http(s)');
  return url.href.replace(/\/+$/, '');
}

export const useEndpointStore = create<EndpointState>()((set) => ({
  endpoint: null,
  setEndpoint: (endpoint) => set({ endpoint }),
}));
