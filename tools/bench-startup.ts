/**
 * `npm run bench:startup [-- --runs 5 --backend wasm]`: how long the playground takes, from navigation
 * to answers, on the production build in headless Chromium (a fresh browser per run, so no compiled
 * WASM in a cache). Prints per run and the median:
 *   first ready — the first selected model has loaded (worker-side load time in brackets);
 *   all ready   — every selected model has loaded;
 *   answered    — every selected comparison card shows a decision for the current image.
 * Needs `npm run build`.
 */
import { Command } from 'commander';
import { launchChromium, startPreview } from './lib/browser';

const opts = new Command()
  .option('--runs <n>', 'page loads to measure', '5')
  .option('--backend <b>', 'backend URL parameter (wasm, webgpu, auto)', 'wasm')
  .option('--models <ids>', 'models selected in the grid (default: the app default)')
  .option('--port <n>', 'port for vite preview', '4179')
  .parse()
  .opts<{ runs: string; backend: string; models?: string; port: string }>();

const runs = Number(opts.runs);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive integer, got ${opts.runs}`);
  process.exit(1);
}

interface Sample {
  firstReady: number;
  allReady: number;
  answered: number;
  loads: string;
}

const port = Number(opts.port);
const server = await startPreview({ port }).catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
const url =
  `http://127.0.0.1:${port}/?backend=${encodeURIComponent(opts.backend)}` +
  (opts.models ? `&models=${encodeURIComponent(opts.models)}` : '');
const samples: Sample[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      // polls in the page; times are performance.now(), i.e. ms since navigation start
      // a string, not a function: tsx would wrap the inner arrow functions in its __name helper,
      // which does not exist in the page
      await page.addInitScript(`
        const marks = {};
        window.__startupMarks = marks;
        const tick = () => {
          const cells = document.querySelectorAll('.model-cell.is-selected').length;
          const status = document.querySelector('[data-testid="status-button"]')?.textContent ?? '';
          const m = status.match(/(\\d+)\\/(\\d+) loaded/);
          const now = performance.now();
          if (marks.firstReady === undefined && m && Number(m[1]) > 0) marks.firstReady = now;
          if (marks.allReady === undefined && m && m[1] === m[2] && Number(m[2]) > 0) marks.allReady = now;
          const stale = document.querySelectorAll('.model-cell.is-selected .model-cell__decision.is-stale').length;
          // a decided cell names the class, with the API's label as its title
          const decided = document.querySelectorAll('.model-cell.is-selected .model-cell__decision [title^="API:"]').length;
          if (marks.answered === undefined && cells > 0 && decided === cells && stale === 0) marks.answered = now;
          if (marks.answered === undefined || marks.allReady === undefined) requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      `);
      await page.goto(url);
      await page.waitForFunction(
        () => {
          const m = (window as unknown as { __startupMarks: Record<string, number> }).__startupMarks;
          return m.answered !== undefined && m.allReady !== undefined;
        },
        undefined,
        { timeout: 180_000 },
      );
      const marks = await page.evaluate(
        () => (window as unknown as { __startupMarks: Record<string, number> }).__startupMarks,
      );
      const loads = await page.$$eval('.model-cell.is-selected', (cells) =>
        cells
          .map((c) => c.textContent?.match(/ready · ([\d.]+ ?m?s)/)?.[1])
          .filter(Boolean)
          .join(', '),
      );
      const s: Sample = {
        firstReady: marks.firstReady,
        allReady: marks.allReady,
        answered: marks.answered,
        loads,
      };
      samples.push(s);
      console.log(
        `run ${i + 1}/${runs}: first ready ${fmt(s.firstReady)}, ` +
          `all ready ${fmt(s.allReady)}, answered ${fmt(s.answered)} (worker load times: ${loads || '–'})`,
      );
    } finally {
      await browser.close();
    }
  }
} finally {
  await server.close();
}

function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '–';
}
function median(xs: number[]): number {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : Number.NaN;
}
console.log(
  `median of ${runs} (backend ${opts.backend}): first ready ${fmt(median(samples.map((s) => s.firstReady)))}, all ready ${fmt(median(samples.map((s) => s.allReady)))}, ` +
    `answered ${fmt(median(samples.map((s) => s.answered)))}`,
);
