/**
 * A local HTTP service with the thesis API contract (the project's router on onnxruntime-node), for
 * testing the experiment runner's --endpoint mode. Also runnable:
 *   npx tsx test/experiment/http-service.ts [port] [modelsDir]
 */
import { createServer, type Server } from 'node:http';
import { createRouter } from '../../src/core/router';
import { createNodeEngine } from '../../tools/lib/node-engine';

export interface Service {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function startService(
  opts: { port?: number; modelsDir?: string; verify?: boolean } = {},
): Promise<Service> {
  const engine = createNodeEngine({ modelsDir: opts.modelsDir, verify: opts.verify ?? false, threads: 1 });
  const router = createRouter(engine);
  const state = { requests: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      state.requests++;
      const body = Buffer.concat(chunks).toString('utf8');
      const out = await router.handle({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        body: body || undefined,
      });
      res.writeHead(out.status, out.headers);
      res.end(JSON.stringify(out.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await engine.release();
    },
  };
}

if (process.argv[1]?.endsWith('http-service.ts')) {
  const s = await startService({ port: Number(process.argv[2] ?? 5055), modelsDir: process.argv[3] });
  process.stderr.write(`thesis API on ${s.url}\n`);
}
