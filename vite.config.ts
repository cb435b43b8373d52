import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { BUILD_STAMP_FILE, sourceStamp } from './tools/lib/source-stamp';

// COOP/COEP make the page cross-origin isolated, which WASM threads (SharedArrayBuffer) need.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** dist/build-stamp.json: what the experiment runner checks dist/ against (tools/lib/source-stamp.ts). */
const buildStamp = (): Plugin => ({
  name: 'build-stamp',
  apply: 'build',
  generateBundle() {
    this.emitFile({
      type: 'asset',
      fileName: BUILD_STAMP_FILE,
      source: `${JSON.stringify({ source_sha256: sourceStamp(fileURLToPath(new URL('.', import.meta.url))) })}\n`,
    });
  },
});

export default defineConfig({
  plugins: [react(), buildStamp()],
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 2000 },
});
