/**
 * npm run serve -- [options]: the thesis' HTTP contract on 127.0.0.1:5000 (Flask's default port,
 * which the thesis' clients use). SIGINT/SIGTERM drain the requests in flight, then exit; a second
 * signal exits at once. Exit codes: 0 after --help or a shutdown on a signal; 2 for a usage
 * problem (a bad option or value, an unknown model, a refused --model file, no weight set loadable);
 * 1 when it cannot listen or fails while running; 130 on a second signal.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_BATCH } from '../src/core/api';
import { buildService, nothingLoaded } from './app';

const int = (name: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

const program = new Command()
  .name('npm run serve --')
  .description(
    "Serve the fifteen Fashion-MNIST models over HTTP with the thesis service's contract (POST /<model>/decision|score, GET /)",
  )
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option(
    '--port <port>',
    'port (Flask’s default, as the thesis clients expect)',
    int('--port', 0, 65535),
    5000,
  )
  .option('--models <ids>', 'comma-separated model IDs to serve (default: all fifteen)', (v: string) => {
    const ids = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (ids.length === 0) throw new InvalidArgumentError('--models needs at least one model ID, e.g. 0,0_1');
    return ids;
  })
  .option(
    '--model <path>',
    'an ONNX classifier of your own ([N,1,28,28] in [0,1] → [N,10]), served under /custom/<file stem>/…; repeatable',
    // relative to where the user typed the command (npm runs scripts from the project root)
    (v: string, prev: string[] = []) => [...prev, resolve(process.env.INIT_CWD ?? process.cwd(), v)],
  )
  .option('--probabilities', 'the --model files output probabilities, not logits')
  .option(
    '--models-dir <dir>',
    'folder with the ONNX files and manifest.json; the start is refused when none of the models can load from it',
    // relative to where the user typed the command, as --model
    (v: string) => resolve(process.env.INIT_CWD ?? process.cwd(), v),
    'public/models',
  )
  .option(
    '--workers <n>',
    'inference worker processes; 0 runs onnxruntime in the server process (no run limit, no isolation) ' +
      '(default: cores ÷ --threads)',
    int('--workers', 0, 256),
  )
  .option(
    '--threads <n>',
    'onnxruntime intra-op threads per session (default: cores ÷ --workers, else 1)',
    int('--threads', 1, 64),
  )
  .option(
    '--run-timeout <seconds>',
    'a run longer than this is stopped, its worker replaced, its requests answered 503',
    int('--run-timeout', 1, 3600),
    10,
  )
  .option(
    '--worker-memory <MiB>',
    'a worker whose resident memory is over this after a run is replaced',
    int('--worker-memory', 64, 1024 * 1024),
    2048,
  )
  .option(
    '--max-model-memory <MiB>',
    'a --model file whose run on a full-contrast image grows memory by more is refused',
    int('--max-model-memory', 1, 1024 * 1024),
    1024,
  )
  .option(
    '--gradients',
    'serve POST /<model>/gradient: input gradients of a loss (white-box attacks from a script)',
  )
  .option('--max-body <bytes>', 'largest request body', int('--max-body', 1024, 1024 ** 3), 96 * 1024 * 1024)
  .option(
    '--max-batch <n>',
    'most images one coalesced onnxruntime run takes (1: no batching)',
    int('--max-batch', 1, MAX_BATCH),
    64,
  )
  .option(
    '--max-inflight-bytes <bytes>',
    'request-body bytes held across all requests; beyond it, 503 with Retry-After (default: ¼ of the V8 heap limit)',
    int('--max-inflight-bytes', 1024, 2 ** 40),
  )
  .option(
    '--body-timeout <seconds>',
    'a request body must arrive whole within this of the request; later, 408 and the connection closed',
    int('--body-timeout', 1, 3600),
    30,
  )
  .option('--cors <origins>', 'allowed origins, comma-separated, or * (as flask_cors)', '*')
  .option('--no-cors', 'send no CORS headers')
  .addOption(
    new Option(
      '--log-level <level>',
      'pino level: info logs one line per request; warn, error or silent log less',
    )
      .choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])
      .default('info'),
  )
  .showHelpAfterError()
  .addHelpText(
    'after',
    '\nExit codes: 0 after --help or a shutdown on SIGINT/SIGTERM; 2 for a usage problem (a bad option or\n' +
      'value, an unknown model ID, a refused --model file, no weight set of the selected models loadable);\n' +
      '1 when it cannot listen on --host/--port or fails while running.',
  )
  // commander exits 1 on a bad option or value; a usage problem exits 2 here, as every other one
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program.parse();
const o = program.opts<{
  host: string;
  port: number;
  models?: string[];
  model?: string[];
  probabilities?: boolean;
  modelsDir: string;
  workers?: number;
  threads?: number;
  runTimeout: number;
  workerMemory: number;
  maxInflightBytes?: number;
  bodyTimeout: number;
  maxModelMemory: number;
  maxBody: number;
  maxBatch: number;
  cors: string | false;
  logLevel: string;
  gradients?: boolean;
}>();

let service: Awaited<ReturnType<typeof buildService>>;
try {
  service = await buildService({
    models: o.models,
    customModels: o.model,
    customOutputs: o.probabilities ? 'probabilities' : 'logits',
    modelsDir: o.modelsDir,
    workers: o.workers,
    threads: o.threads,
    runTimeoutMs: o.runTimeout * 1000,
    workerMemoryBytes: o.workerMemory * 2 ** 20,
    maxModelMemoryBytes: o.maxModelMemory * 2 ** 20,
    maxInflightBytes: o.maxInflightBytes,
    bodyTimeoutMs: o.bodyTimeout * 1000,
    maxBody: o.maxBody,
    maxBatch: o.maxBatch,
    cors: o.cors === false ? null : o.cors.split(',').map((s) => s.trim()),
    logLevel: o.logLevel,
    gradients: o.gradients === true,
  });
} catch (e) {
  process.stderr.write(`serve: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
}
const { app } = service;

let closing = false;
let first: { signal: string; at: number } | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (closing) {
      // the same signal again within a second is one stop delivered twice (a signal to the process
      // group reaches this process and the set-up script, which passes SIGTERM on), not a second stop
      if (first?.signal === signal && Date.now() - first.at < 1000) return;
      app.log.warn(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    closing = true;
    first = { signal, at: Date.now() };
    app.log.info(`${signal}: finishing the requests in flight, then exiting`);
    app.close().then(
      () => process.exit(0),
      (e) => {
        app.log.error(e);
        process.exit(1);
      },
    );
  });
}

try {
  const address = await app.listen({ host: o.host, port: o.port });
  app.log.info(
    `serving ${service.models.length} model${service.models.length === 1 ? '' : 's'} on ${address} (GET / lists them and their load state; Ctrl-C stops)`,
  );
  app.log.info(
    service.workers === 0
      ? `onnxruntime runs in the server process with ${service.threads} thread(s) per session (--workers 0: no run limit)`
      : `${service.workers} inference worker process(es) × ${service.threads} onnxruntime thread(s) per session on ${availableParallelism()} cores ` +
          `(--workers, --threads to change); runs longer than ${o.runTimeout} s are stopped`,
  );
} catch (e) {
  process.stderr.write(`serve: cannot listen on ${o.host}:${o.port}: ${(e as Error).message}\n`);
  process.exit(1);
}
void service.loaded.then(() => {
  const states = service.weightStates();
  const nothing = nothingLoaded(states, o.modelsDir);
  if (nothing) {
    process.stderr.write(`serve: ${nothing}\n`);
    process.exit(2);
  }
  const failed = Object.entries(states).filter(([, s]) => s.state === 'failed');
  for (const [w, s] of failed)
    app.log.error(`weights ${w}: ${(s as { error: string }).error} (its models answer 503)`);
  app.log.info(
    `${Object.keys(states).length - failed.length} of ${Object.keys(states).length} weight sets ready`,
  );
});
