/**
 * Where the experiment's model queries go.
 * - BrowserBackend (default): `vite preview` of the production build in dist/, headless Chromium
 *   (playwright-core), and `window.__playground.experiment` in the page: `/score` through the
 *   app's own API router and worker, attacks through engine.runAttack. Same models, defenses and
 *   API semantics as the playground.
 * - HttpBackend (`--endpoint <url>`): any service with the same HTTP contract; requests sent from
 *   Node with fetch, attacks run in Node with the attack library over createHttpOracle.
 * - NativeBackend (`--native`): the shipped files on onnxruntime-node in this process, through the
 *   same API router (createRouterOracle); no browser, no network.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createNodeEngine, type NodeEngine } from '../../server/node-engine';
import type { PlaygroundWindow } from '../../src/app/playground-api';
import { apgd, apgdTargeted } from '../../src/attacks/apgd';
import { autoAttack } from '../../src/attacks/autoattack';
import { fabTargeted } from '../../src/attacks/fab';
import {
  type AnyOracle,
  createHttpOracle,
  createRouterOracle,
  type DecisionOracle,
  postApi,
  runAttack,
  type ScoreOracle,
  withEOT,
} from '../../src/attacks/index';
import { fgsm, pgd, type WhiteBoxResult } from '../../src/attacks/whitebox';
import { ApiError, parseScoreAnswer } from '../../src/core/api';
import { type CustomModelEntry, customModelInfos } from '../../src/core/custom-models';
import { isError, WorkerDiedError } from '../../src/core/errors';
import { MODELS, type ModelInfo } from '../../src/core/models';
import { deriveSeed } from '../../src/core/prng';
import { createRouter } from '../../src/core/router';
import { type ScoreItem, scoreBody, scoreRoute } from '../../src/experiment/api';
import type { PageAttackRequest } from '../../src/experiment/page-api';
import { apiWhiteBoxOracle } from '../../src/gradients/oracle';
import { CHROMIUM_ARGS, findChromium } from '../lib/browser';
import { freePort } from '../lib/serve-process';
import { builtFrom, staleBuild } from '../lib/source-stamp';
import type { LibraryAttack, WhiteBoxAttack } from './config';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface AttackCall {
  type: LibraryAttack;
  /** the attack library's options (camelCase), without x, label, seed */
  options: Record<string, unknown>;
  model: string;
  x: Float32Array;
  label: number;
  seed: number;
  /** EOT samples per query (randomized models with eot > 1 only) */
  eot?: number;
  /** queries spent so far, reported now and then while the attack runs */
  onProgress?: (queries: number) => void;
}

export interface AttackOutcome {
  adversarial: Float32Array;
  success: boolean;
  queries: number;
  l2: number;
  linf: number;
  trajectory: { queries: number; distance?: number }[];
  adversarialLabel: number;
  /** the attack library's resolved parameters (decision attacks report `start` here) */
  params?: Record<string, unknown>;
}

/** A white-box attack on a few images of one model (gradients through the contract's /gradient). */
export interface WhiteBoxCall {
  type: WhiteBoxAttack;
  /** PGD's resolved parameters (camelCase) */
  options: Record<string, unknown>;
  model: string;
  randomized: boolean;
  xs: Float32Array[];
  labels: number[];
  /** per image: its row's seed (random start; the defense's draws) */
  seeds: number[];
  /** EOT draws per image and step (randomized models) */
  eot?: number;
}

/** A white-box attack's result for one image; AutoAttack adds its stage, version and flags. */
export type WhiteBoxOutcome = WhiteBoxResult & {
  brokenBy?: string | null;
  version?: 'standard' | 'rand';
  flags?: string[];
};

export interface ExperimentBackend {
  readonly mode: 'browser' | 'endpoint' | 'native';
  /**
   * FGSM/PGD on the images of one model; every image's result depends on its own seed only.
   * Throws a UsageError where the backend cannot compute gradients.
   */
  whiteBox(call: WhiteBoxCall): Promise<WhiteBoxOutcome[]>;
  /** send more than one image per request with the batch extension */
  readonly batch: boolean;
  /** probability vectors of the items, in order; throws (ApiError or other) for the whole call */
  score(model: string, items: ScoreItem[]): Promise<number[][]>;
  attack(call: AttackCall): Promise<AttackOutcome>;
  /** Attacks it runs side by side at full speed (the page's workers); 1 when absent. */
  readonly parallelism?: number;
  /**
   * Whether the backend still answers at all (an endpoint's GET /), asked after a call failed its
   * retries: false stops the run instead of writing error rows. Absent: in process.
   */
  alive?(): Promise<boolean>;
  /** Loads a model and settles the inference backend before the environment is recorded. */
  warmUp?(model: string): Promise<void>;
  /**
   * Serves a config's own ONNX file (`custom:<path>`) as `custom/<id>`: checked and loaded in the
   * page or in onnxruntime-node; an endpoint must already serve it (`npm run serve -- --model`)
   * with the same sha256. Throws a UsageError naming the file and what is wrong.
   */
  addCustomModel?(c: CustomModelFile): Promise<void>;
  environment(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** A config's own model file, read by the CLI. */
export interface CustomModelFile {
  id: string;
  path: string;
  fileName: string;
  bytes: Uint8Array;
  sha256: string;
  /** logits (softmax applied) or probabilities (served as they are) */
  outputs: 'logits' | 'probabilities';
}

// ---------------------------------------------------------------------------------------------

export interface BrowserBackendOptions {
  root: string;
  backend: 'wasm' | 'webgpu';
  batch: boolean;
  log: (line: string) => void;
}

export class BrowserBackend implements ExperimentBackend {
  readonly mode = 'browser' as const;
  readonly batch: boolean;
  private page!: Page;
  private crashed = false;
  private url = '';
  private info: Record<string, unknown> = {};

  /** The page's inference workers: one attack each runs side by side at full speed. */
  get parallelism(): number {
    return typeof this.info.workers === 'number' && this.info.workers > 0 ? this.info.workers : 1;
  }

  private constructor(
    private readonly opts: BrowserBackendOptions,
    private readonly browser: Browser,
    private readonly server: { close(): Promise<void> },
  ) {
    this.batch = opts.batch;
  }

  /** Checks dist/, starts vite preview on a free port and headless Chromium, opens the app. */
  static async start(opts: BrowserBackendOptions): Promise<BrowserBackend> {
    const dist = join(opts.root, 'dist');
    if (!existsSync(join(dist, 'index.html'))) {
      throw new UsageError(
        'no production build in dist/: run `npm run build` first (the experiment runner builds nothing itself)',
      );
    }
    const stale = staleBuild(opts.root);
    if (stale) opts.log(`warning: ${stale}: run \`npm run build\` to test the current code`);
    const executablePath = findChromium();
    if (!executablePath) {
      throw new UsageError(
        'no Chromium found: set CHROMIUM_PATH or install /usr/bin/chromium (Debian package `chromium`)',
      );
    }
    const t0 = performance.now();
    const debug = (what: string) => {
      if (process.env.EXPERIMENT_DEBUG)
        opts.log(`[${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}`);
    };
    const { preview } = await import('vite');
    const { chromium } = await import('playwright-core');
    const port = await freePort();
    const server = await preview({
      root: opts.root,
      logLevel: 'error',
      preview: { port, strictPort: true, host: '127.0.0.1', open: false },
    });
    debug('vite preview listening');
    const closeServer = () => new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    let browser: Browser;
    try {
      browser = await chromium.launch({
        executablePath,
        args: [...CHROMIUM_ARGS, ...(opts.backend === 'webgpu' ? ['--enable-unsafe-webgpu'] : [])],
        // the runner handles Ctrl-C itself: it finishes the row bookkeeping, then closes the browser
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
    } catch (e) {
      await closeServer();
      throw e;
    }
    debug('chromium started');
    const b = new BrowserBackend(opts, browser, { close: closeServer });
    // models= (none selected): the playground UI then loads no models of its own beside the experiment's
    b.url = `http://127.0.0.1:${port}/?backend=${opts.backend}&models=`;
    try {
      await b.openPage();
      debug('page API ready');
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  private async openPage(): Promise<void> {
    this.crashed = false;
    const page = await this.browser.newPage();
    page.on('crash', () => {
      this.crashed = true;
      this.opts.log('the page crashed; it will be reopened for the next item');
    });
    page.on('pageerror', (e) => this.opts.log(`page error: ${e.message}`));
    if (process.env.EXPERIMENT_DEBUG)
      page.on('console', (m) => this.opts.log(`[page ${m.type()}] ${m.text()}`));
    await page.goto(this.url);
    try {
      await page.waitForFunction(
        () => Boolean((window as unknown as PlaygroundWindow).__playground?.experiment),
        null,
        {
          timeout: 30_000,
        },
      );
    } catch {
      const hasPlayground = await page.evaluate(() =>
        Boolean((window as unknown as PlaygroundWindow).__playground),
      );
      throw new UsageError(
        hasPlayground
          ? 'the app in dist/ has no window.__playground.experiment: src/app/runtime.ts must call installExperimentApi(engine) ' +
              '(src/experiment/page-api.ts); rebuild with `npm run build`'
          : 'the app in dist/ did not start (no window.__playground after 30 s)',
      );
    }
    const info = await page.evaluate(() =>
      (window as unknown as PlaygroundWindow).__playground!.experiment!.info(),
    );
    this.info = { ...info };
    this.page = page;
    // a reopened page starts without the experiment's uploaded models: serve them again
    for (const c of this.customFiles) await this.sendCustom(c);
  }

  /** Runs fn on the page; after a crash the page is reopened for the next call (this one fails). */
  private async onPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
    if (this.crashed || !this.page || this.page.isClosed()) await this.openPage();
    return fn(this.page);
  }

  async score(model: string, items: ScoreItem[]): Promise<number[][]> {
    const batch = this.batch || items.length > 1;
    const answer = await this.onPage((page) =>
      page.evaluate(
        ({ model, items, batch }) =>
          (window as unknown as PlaygroundWindow).__playground!.experiment!.score(model, items, batch),
        { model, items, batch },
      ),
    );
    return parseScoreAnswer(answer.status, answer.body, items.length, batch);
  }

  async whiteBox(): Promise<WhiteBoxOutcome[]> {
    throw new UsageError(
      'white-box attacks (fgsm, pgd, apgd-*, fab-t, autoattack) run with --native (onnxruntime-node in this process) or --endpoint (a service started with `npm run serve -- --gradients`); the page runs them in the attack lab',
    );
  }

  async attack(call: AttackCall): Promise<AttackOutcome> {
    const req: PageAttackRequest = {
      attack: call.type,
      params: call.options,
      model: call.model,
      x: Array.from(call.x),
      label: call.label,
      seed: call.seed,
      ...(call.eot ? { eot: call.eot } : {}),
    };
    const res = await this.onPage(async (page) => {
      const running = page.evaluate(
        (r) => (window as unknown as PlaygroundWindow).__playground!.experiment!.attack(r),
        req,
      );
      const poll = call.onProgress
        ? setInterval(() => {
            page
              .evaluate(() => (window as unknown as PlaygroundWindow).__playground!.experiment!.progress())
              .then((p) => p && call.onProgress?.(p.queries))
              .catch(() => {});
          }, 1000)
        : null;
      try {
        return await running;
      } finally {
        if (poll) clearInterval(poll);
      }
    });
    if ('failed' in res) throw Object.assign(new Error(res.failed.message), { name: res.failed.name });
    return { ...res, adversarial: Float32Array.from(res.adversarial) };
  }

  /** The custom: models of the experiment, served again whenever the page is reopened. */
  private customFiles: CustomModelFile[] = [];

  async addCustomModel(c: CustomModelFile): Promise<void> {
    if (this.crashed || !this.page || this.page.isClosed()) await this.openPage();
    await this.sendCustom(c);
    this.customFiles.push(c);
  }

  private async sendCustom(c: CustomModelFile): Promise<void> {
    const b64 = Buffer.from(c.bytes).toString('base64');
    const page = this.page;
    const err = await (async () =>
      page.evaluate(
        async ({ id, fileName, b64, outputs }) => {
          const bin = atob(b64);
          const bytes = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          const engine = (window as unknown as PlaygroundWindow).__playground!.engine;
          try {
            await engine.addCustomModel({ id, fileName, bytes, outputs });
            return null;
          } catch (e) {
            return e instanceof Error ? e.message : String(e);
          }
        },
        { id: c.id, fileName: c.fileName, b64, outputs: c.outputs },
      ))();
    if (err) throw new UsageError(`${c.path}: ${err}`);
  }

  async warmUp(model: string): Promise<void> {
    const blank = { image: Buffer.alloc(784).toString('base64'), seed: 0 };
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.score(model, [blank]);
        break;
      } catch (e) {
        // a failure here shows again, with its reason, in the rows of this model
        if (!isTransient(e)) break;
      }
    }
    const page = this.page;
    const info = await page.evaluate(() =>
      (window as unknown as PlaygroundWindow).__playground!.experiment!.info(),
    );
    this.info = { ...info };
    if (info.backend.active && info.backend.active !== this.opts.backend) {
      this.opts.log(
        `warning: asked for ${this.opts.backend}, the page runs ${info.backend.active} (${info.backend.note ?? 'no reason given'})`,
      );
    }
  }

  async environment(): Promise<Record<string, unknown>> {
    const dist = join(this.opts.root, 'dist', 'index.html');
    return {
      mode: 'browser',
      browser: {
        name: 'chromium',
        version: this.browser.version(),
        executable: findChromium() ?? null,
        userAgent: this.info.userAgent,
      },
      backend: this.info.backend,
      hardwareConcurrency: this.info.hardwareConcurrency,
      crossOriginIsolated: this.info.crossOriginIsolated,
      dist_built: existsSync(dist) ? statSync(dist).mtime.toISOString() : null,
      // what dist/ was built from (dist/build-stamp.json): sha256 over src/ and index.html
      dist_source_sha256: builtFrom(this.opts.root) ?? null,
    };
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => {});
    await this.server.close().catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------

type Post = (path: string, body: string) => Promise<{ status: number; json: unknown }>;

/**
 * Shared by the backends whose attacks run in Node over the API contract (HTTP or the in-process
 * router): `/score` for the clean rows, the attack library over an API oracle for attack rows.
 */
abstract class NodeAttackBackend {
  constructor(readonly batch: boolean) {}
  protected abstract post: Post;
  /** The score/decision oracle of one attack: its model, and the seed of its defense draws. */
  protected abstract oracle(model: string, seed: number): DecisionOracle & ScoreOracle;

  async score(model: string, items: ScoreItem[]): Promise<number[][]> {
    const batch = this.batch || items.length > 1;
    const res = await this.post(scoreRoute(model), scoreBody(items, batch));
    return parseScoreAnswer(res.status, res.json, items.length, batch);
  }

  async attack(call: AttackCall): Promise<AttackOutcome> {
    const api = this.oracle(call.model, call.seed);
    const oracle: AnyOracle = call.eot && call.eot > 1 ? withEOT(api, call.eot) : api;
    let last = 0;
    const onProgress = (p: { queries: number }) => {
      const now = Date.now();
      if (call.onProgress && now - last > 1000) {
        last = now;
        call.onProgress(p.queries);
      }
    };
    const options = {
      ...call.options,
      x: call.x,
      label: call.label,
      seed: call.seed,
      quantize: true,
      onProgress,
    };
    return runAttack(call.type, options as Parameters<typeof runAttack>[1], oracle);
  }

  /** Through the contract's /gradient (a service needs --gradients; the native router has it on). */
  async whiteBox(call: WhiteBoxCall): Promise<WhiteBoxOutcome[]> {
    const eot = call.eot ?? 1;
    const oracle = apiWhiteBoxOracle(this.post, call.model, call.randomized, eot, call.seeds[0]);
    const images = { xs: call.xs, labels: call.labels, quantize: true };
    if (call.type === 'autoattack') {
      const run = await autoAttack(
        { ...call.options, ...images, seeds: call.seeds, eot },
        { whiteBox: oracle, score: this.oracle(call.model, deriveSeed(call.seeds[0], 7)) },
      );
      // Square's flag is a statistic of the whole run: the summary raises it
      const flags = run.flags.filter((f) => f.code !== 'square_beats_whitebox').map((f) => f.code);
      return run.results.map((r) => ({ ...r, flags, version: run.version }));
    }
    if (call.type === 'fab-t')
      return (await fabTargeted({ ...call.options, ...images, norm: 'linf' }, oracle)).results;
    if (call.type === 'apgd-dlr')
      return (await apgd({ ...call.options, ...images, seeds: call.seeds, loss: 'dlr' }, oracle)).results;
    if (call.type === 'apgd-ce')
      return (await apgd({ ...call.options, ...images, seeds: call.seeds, loss: 'ce' }, oracle)).results;
    if (call.type === 'apgd-t')
      return (await apgdTargeted({ ...call.options, ...images, seeds: call.seeds }, oracle)).results;
    const attack = call.type === 'fgsm' ? fgsm : pgd;
    return (await attack({ ...call.options, ...images, seed: call.seeds }, oracle)).results;
  }
}

/**
 * `--endpoint <url>[,<url>…]`: one or several services with the contract (replicas of a stateless
 * service, on this machine or others). Requests go round-robin over them: each clean-score call
 * and each attack (all of whose queries go to one replica) takes the next URL.
 */
export class HttpBackend extends NodeAttackBackend implements ExperimentBackend {
  readonly mode = 'endpoint' as const;
  private readonly bases: string[];
  private next = 0;

  constructor(endpoint: string, batch: boolean) {
    super(batch);
    const list = endpoint
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
    if (list.length === 0) throw new UsageError('--endpoint needs at least one URL');
    this.bases = list.map((e) => {
      let url: URL;
      try {
        url = new URL(e);
      } catch {
        throw new UsageError(`--endpoint: not a URL: ${JSON.stringify(e)}`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new UsageError(`--endpoint must be http(s) URLs, got ${JSON.stringify(e)}`);
      return url.href.replace(/\/+$/, '');
    });
  }

  async alive(): Promise<boolean> {
    const answers = await Promise.all(
      this.bases.map(async (base) => {
        try {
          const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(5000) });
          return res.status < 500;
        } catch {
          return false;
        }
      }),
    );
    return answers.some(Boolean);
  }

  private pick(): string {
    const base = this.bases[this.next % this.bases.length];
    this.next++;
    return base;
  }

  // no timeout, as before: a slow service delays the run rather than failing rows
  protected post: Post = (path, body) => postApi(`${this.pick()}${path}`, body, { timeoutMs: 0 });

  protected oracle(model: string, seed: number): DecisionOracle & ScoreOracle {
    // the canonical route (/0/4/...) so that services without the underscore alias work too
    return createHttpOracle({
      baseUrl: this.pick(),
      modelId: model,
      canonicalRoute: true,
      batch: this.batch,
      seed,
      timeoutMs: 0,
    });
  }

  /**
   * Before any row: every endpoint answers `GET /`, and where it lists its models (this project's
   * service does), it serves the config's. Throws Error (cannot be reached) or UsageError (a model
   * is not served), so a run never turns into rows of `fetch failed`.
   */
  async check(models: readonly string[], whiteBox = false): Promise<void> {
    for (const base of this.bases) {
      let json: unknown;
      try {
        const res = await fetch(`${base}/`);
        json = await res.json().catch(() => null);
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new Error(
          `${base}/ cannot be reached (${cause?.code ?? cause?.message ?? (e as Error).message}): is the service running?`,
        );
      }
      const gradient = (json as { contract?: { extensions?: { gradient?: unknown } } } | null)?.contract
        ?.extensions?.gradient;
      if (whiteBox && typeof gradient === 'string' && gradient.startsWith('off'))
        throw new UsageError(
          `${base} does not serve the gradient route the config's white-box attacks need: start it with \`npm run serve -- --gradients\``,
        );
      const listed = (json as { models?: { id?: unknown }[] } | null)?.models;
      if (!Array.isArray(listed)) continue;
      const ids = new Set(listed.map((m) => m.id));
      const missing = models.filter((m) => !m.startsWith('custom/') && !ids.has(m));
      if (missing.length)
        throw new UsageError(
          `${base} does not serve ${missing.join(', ')} (it serves ${[...ids].join(', ')}): start it with \`npm run serve -- --models <ids>\` or change the config's models`,
        );
    }
  }

  async addCustomModel(c: CustomModelFile): Promise<void> {
    for (const base of this.bases) {
      let listed: { custom?: { sha256?: string; outputs?: string } } | undefined;
      try {
        const json = (await (await fetch(`${base}/`)).json()) as {
          models?: { id: string; custom?: { sha256?: string; outputs?: string } }[];
        };
        listed = json.models?.find((m) => m.id === `custom/${c.id}`);
      } catch (e) {
        throw new UsageError(`${base}/ could not be read to check custom/${c.id}: ${(e as Error).message}`);
      }
      if (!listed)
        throw new UsageError(
          `${base} does not serve custom/${c.id}: start it with \`npm run serve -- --model ${c.path}\``,
        );
      if (listed.custom?.sha256 !== c.sha256)
        throw new UsageError(
          `${base} serves a different custom/${c.id} (sha256 ${String(listed.custom?.sha256).slice(0, 12)}…, ${c.path} has ${c.sha256.slice(0, 12)}…)`,
        );
      if (listed.custom?.outputs !== undefined && listed.custom.outputs !== c.outputs)
        throw new UsageError(
          `${base} serves custom/${c.id} as ${listed.custom.outputs}, the config says ${c.outputs}: ${c.outputs === 'probabilities' ? 'start the server with --probabilities' : 'start it without --probabilities, or add #probabilities to the config'}`,
        );
    }
  }

  async environment(): Promise<Record<string, unknown>> {
    const services = await Promise.all(
      this.bases.map(async (base) => {
        try {
          const res = await fetch(`${base}/`);
          const json = (await res.json()) as Record<string, unknown>;
          return {
            endpoint: base,
            status: res.status,
            service: json.service ?? null,
            models: Array.isArray(json.models) ? json.models.length : null,
          };
        } catch (e) {
          return { endpoint: base, error: (e as Error).message };
        }
      }),
    );
    return {
      mode: 'endpoint',
      endpoint: this.bases[0],
      endpoints: this.bases,
      service: services[0],
      services,
      batch: this.batch,
    };
  }

  async close(): Promise<void> {}
}

/**
 * `--native`: the shipped models on onnxruntime-node in this process, through the same API router
 * as the page and the HTTP service (the same JSON bodies, 8-bit images, defenses and seeds), without
 * a browser or a network hop. The weight files are checked against the manifest's sha256.
 */
export class NativeBackend extends NodeAttackBackend implements ExperimentBackend {
  readonly mode = 'native' as const;
  private readonly engine: NodeEngine;
  private readonly router: ReturnType<typeof createRouter>;

  constructor(
    batch: boolean,
    private readonly threads = 1,
    modelsDir?: string,
  ) {
    super(batch);
    this.engine = createNodeEngine({ threads, modelsDir, verify: true });
    this.router = createRouter(this.engine, { models: () => this.served, gradients: true });
  }

  private served: readonly ModelInfo[] = MODELS;

  async addCustomModel(c: CustomModelFile): Promise<void> {
    let entry: CustomModelEntry;
    try {
      entry = await this.engine.addCustom(c.id, c.fileName, c.bytes, c.outputs);
    } catch (e) {
      throw new UsageError(`${c.path}: ${(e as Error).message}`);
    }
    this.served = [...this.served, ...customModelInfos(entry)];
  }

  private handle = async (req: { method: string; path: string; body: string }) => {
    const res = await this.router.handle(req);
    return { status: res.status, body: res.body };
  };

  protected post: Post = async (path, body) => {
    const res = await this.handle({ method: 'POST', path, body });
    return { status: res.status, json: res.body };
  };

  protected oracle(model: string, seed: number): DecisionOracle & ScoreOracle {
    return createRouterOracle(this.handle, { modelId: model, batch: this.batch, seed });
  }

  async environment(): Promise<Record<string, unknown>> {
    return {
      mode: 'native',
      runtime: { name: 'onnxruntime-node', version: ortNodeVersion(), threads: this.threads },
      node: process.version,
      batch: this.batch,
    };
  }

  async close(): Promise<void> {
    await this.engine.release();
  }
}

function ortNodeVersion(): string | null {
  try {
    const file = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const pkg = JSON.parse(readFileSync(file, 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}

/** Failures worth another try: the inference worker or the page died, the connection dropped. */
export function isTransient(e: unknown): boolean {
  // ours by kind; the browser's and the network's by their own (third-party) messages and codes
  if (isError(e, WorkerDiedError)) return true;
  // the page's worker failing twice: the page's JSON 503 names the kind in error_type
  if (e instanceof ApiError && e.errorType === WorkerDiedError.kind) return true;
  const code = (e as { cause?: { code?: string } })?.cause?.code ?? (e as { code?: string })?.code;
  if (code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'UND_ERR_SOCKET') return true;
  // Playwright's and undici's own messages (third-party errors without a code)
  return /Target (page, context or browser )?(has been )?closed|crash|fetch failed|socket hang up/i.test(
    e instanceof Error ? e.message : String(e),
  );
}
