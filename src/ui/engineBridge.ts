/**
 * Wires the engine singleton (src/app/runtime) into the UI stores: backend and weight events, the
 * models manifest, and error banners for everything that goes wrong.
 */
import { useEffect } from 'react';
import { engine, setBackend } from '../app/runtime';
import { MODELS } from '../core/models';
import type { BackendChoice, BackendStatus, WeightStatus } from '../engine/types';
import { type ManifestModelInfo, useEngineStore } from '../stores/engineStore';
import { reportError } from '../stores/errorStore';

let lastUserSwitch = 0;
/** Why the client is about to restart the worker (its error event comes just before the restart). */
let restartReason: string | null = null;

/** Backend switch from the header: restarts the worker (the thread count is fixed per worker). */
export function switchBackend(choice: BackendChoice): void {
  lastUserSwitch = Date.now();
  useEngineStore.getState().setChoice(choice);
  setBackend(choice);
}

function modelsUsing(weights: string): string {
  return MODELS.filter((m) => m.weights === weights)
    .map((m) => m.id)
    .join(', ');
}

/** Weight sets that could not be loaded, by kind of failure: one banner per kind lists them all. */
const unavailable = { missing: new Map<string, string>(), checksum: new Map<string, string>() };
/** Failures already announced: the same failure is not re-announced after the user dismissed it. */
const announced = new Set<string>();

function reportWeightsError(weights: string, reason: string, errorKind: WeightStatus['errorKind']): void {
  const kind = errorKind === 'checksum' ? 'checksum' : 'missing';
  const fingerprint = `${weights}:${reason}`;
  if (announced.has(fingerprint)) return;
  announced.add(fingerprint);
  unavailable[kind].set(weights, reason);
  const lines = [...unavailable[kind]].map(([w, r]) => `• ${w} (models ${modelsUsing(w)}): ${r}`);
  reportError(
    kind === 'checksum'
      ? 'Model weights failed verification and were not used'
      : `${unavailable[kind].size === 1 ? 'A model is' : 'Models are'} unavailable`,
    lines.join('\n'),
    `weights-${kind}`,
  );
}

interface RawManifest {
  models?: { id?: string; weights?: string; file?: string; metrics?: { clean_accuracy?: number } }[];
  weights?: Record<string, unknown>;
}

export async function loadManifest(): Promise<void> {
  const store = useEngineStore.getState();
  try {
    const res = await fetch(new URL('models/manifest.json', document.baseURI).href, { cache: 'no-cache' });
    if (!res.ok) throw new Error(`the server answered HTTP ${res.status}`);
    if (!/json/i.test(res.headers.get('Content-Type') ?? 'application/json')) {
      throw new Error('the server answered with a web page instead of JSON, so the file does not exist');
    }
    const raw = (await res.json()) as RawManifest;
    const available = new Set(Object.keys(raw.weights ?? {}));
    const models: Record<string, ManifestModelInfo> = {};
    for (const m of raw.models ?? []) {
      if (!m.id) continue;
      if (m.file && m.weights) available.add(m.weights);
      const acc = m.metrics?.clean_accuracy;
      models[m.id] = { id: m.id, cleanAccuracy: typeof acc === 'number' ? acc : null };
    }
    store.setManifest({ availableWeights: [...available], models });
  } catch (err) {
    store.setManifest(null);
    reportError(
      'No model manifest',
      `models/manifest.json could not be read (${err instanceof Error ? err.message : String(err)}). Models cannot be loaded until it exists — run the training/export step.`,
      'manifest',
      'warning',
    );
  }
}

/**
 * The backend status into the store; a WebGPU choice that fell back to WASM is said in a banner,
 * once per fallback (the same status arrives several times at start-up).
 */
function applyBackend(s: BackendStatus): void {
  const before = useEngineStore.getState().backend;
  useEngineStore.getState().setBackend(s);
  const fellBack = (b: BackendStatus | null) => b?.requested === 'webgpu' && b.active === 'wasm';
  if (fellBack(s) && !fellBack(before))
    reportError(
      'WebGPU is not available here',
      `${s.note ?? 'No WebGPU adapter'}: the models run on WASM instead.`,
      'webgpu-fallback',
      'warning',
    );
}

export function useEngineBridge(): void {
  useEffect(() => {
    const store = useEngineStore.getState();
    store.setChoice(engine.backendChoice);
    if (engine.lastBackendStatus) applyBackend(engine.lastBackendStatus);
    engine
      .backendStatus()
      .then(applyBackend)
      .catch(() => {});
    engine
      .status()
      .then((s) => {
        for (const w of s.weights) useEngineStore.getState().setWeight(w);
      })
      .catch(() => {});
    void loadManifest();

    const unsubscribe = engine.subscribe((e) => {
      const st = useEngineStore.getState();
      switch (e.type) {
        case 'weights':
          st.setWeight(e.status);
          if (e.status.state === 'error' && e.status.error)
            reportWeightsError(e.status.weights, e.status.error, e.status.errorKind);
          break;
        case 'backend':
          applyBackend(e.status);
          break;
        case 'error':
          if (e.kind === 'worker-restart') restartReason = e.message;
          else if (e.kind === 'webgpu-device-lost')
            reportError('WebGPU device lost', e.message, 'webgpu-lost');
          else reportError('Inference engine', e.message, e.weights ? `engine:${e.weights}` : undefined);
          break;
        case 'restart':
          st.restarted(e.generation);
          engine
            .backendStatus()
            .then(applyBackend)
            .catch(() => {});
          if (Date.now() - lastUserSwitch > 3000) {
            const why = restartReason
              ? `${restartReason.replace(/;.*$/, '')}.`
              : 'The inference worker stopped.';
            reportError(
              'Inference worker restarted',
              `${why} A new worker was started and the loaded models are being reloaded (worker #${e.generation}).`,
              'restart',
              'warning',
            );
          }
          restartReason = null;
          break;
      }
    });
    return () => {
      unsubscribe();
    };
  }, []);
}
