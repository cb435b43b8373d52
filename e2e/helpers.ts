import type { Locator, Page } from '@playwright/test';
import { encodeBase64 } from '../src/core/base64';
import { imageAt } from '../src/data/idx';
import { loadTestSetNode } from '../tools/lib/test-set-node';

export const testSet = loadTestSetNode();

/** The API request body for test image `index`, 1 channel 28×28. */
export function grayRequest(index: number, extra: Record<string, unknown> = {}) {
  return { image: encodeBase64(imageAt(testSet, index)), image_size: [28, 28], channel: 1, ...extra };
}

export async function openApp(page: Page, query = ''): Promise<void> {
  await page.goto(`/${query}`);
  await page.waitForFunction(() => Boolean(window.__playground));
  await page.evaluate(() => window.__playground.ready);
}

export interface FetchResult {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** `fetch` from inside the page, exactly as a user script would call the API. */
export function apiFetch(
  page: Page,
  path: string,
  body?: unknown,
  method = body === undefined ? 'GET' : 'POST',
) {
  return page.evaluate(
    async ({ path, body, method }) => {
      const res = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, headers, body: parsed } as FetchResult;
    },
    { path, body, method },
  );
}

export function softmax(logits: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** The red channel (= gray) of every pixel of a canvas, row-major. */
export function canvasGray(canvas: Locator): Promise<number[]> {
  return canvas.evaluate((c) => {
    const el = c as HTMLCanvasElement;
    const d = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
    const out: number[] = [];
    for (let i = 0; i < d.length; i += 4) out.push(d[i]);
    return out;
  });
}
