/**
 * The attack lab's engine calls: classify the original, run the attack in the inference worker
 * (progress streamed into the store), judge the adversarial image, check transferability. Nothing
 * here runs an attack on the main thread.
 */

import { engine } from '../../app/runtime';
import { ATTACKS, type AttackName, createHttpOracle, epsProblem } from '../../attacks';
import { argmax } from '../../core/math';
import { isRandomized, MODELS } from '../../core/models';
import { nearestOfOtherClasses } from '../../data/start-candidates';
import { type AttackConfig, hasEps, isBusy, useAttackStore, type Verdict } from '../../stores/attack';
import { useEndpointStore } from '../../stores/endpointStore';
import { endpointErrorText } from '../apiSnippets';
import { customModelInfoList, findModel } from '../customModels';
import { ensureTestSet } from '../testSet';

/**
 * Fresh draws per verdict on a randomized defense: the one sample the result reports (headline,
 * tile, scores and success rate with its 95 % interval all come from it; the worker draws none).
 */
export const VERDICT_DRAWS = 100;
/** Fresh draws per randomized model in the transfer check (fifteen models and more, one by one). */
export const TRANSFER_DRAWS = 32;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** An error of a run; with an endpoint chosen, named with what to check (apiSnippets.ts). */
function runErrorText(e: unknown): string {
  const endpoint = useEndpointStore.getState().endpoint;
  return endpoint === null ? errorText(e) : endpointErrorText(endpoint, errorText(e));
}

/** Seeds for the page's own classifications, derived from the run's seed (reproducible). */
const subSeed = (seed: number, salt: number) => ((seed * 31 + salt) & 0x7fffffff) >>> 0;

/** Mean probabilities and majority vote of a batch of predictions. */
export function verdictOf(
  probs: Float32Array[],
  preds: number[],
  isFooled?: (pred: number) => boolean,
): Verdict {
  const n = probs.length;
  const mean = new Float32Array(probs[0]?.length ?? 10);
  const votes = new Array<number>(mean.length).fill(0);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < mean.length; c++) mean[c] += probs[i][c] / n;
    votes[preds[i]]++;
  }
  let pred = 0;
  for (let c = 1; c < votes.length; c++) {
    if (votes[c] > votes[pred] || (votes[c] === votes[pred] && mean[c] > mean[pred])) pred = c;
  }
  const fooled = isFooled ? preds.filter(isFooled).length : undefined;
  return { probs: mean, pred, votes: votes[pred], draws: n, fooled };
}

/**
 * Probabilities and predictions of `inputs` from the target: the page's worker, or the HTTP
 * endpoint chosen in the lab (one batch request; per-item seeds derived from `seed`).
 */
async function classifyOnTarget(model: string, inputs: Float32Array[], seed: number) {
  const endpoint = useEndpointStore.getState().endpoint;
  if (endpoint === null) return engine.classify({ model, inputs, seed });
  const oracle = createHttpOracle({
    baseUrl: endpoint,
    modelId: model,
    canonicalRoute: true,
    batch: true,
    seed,
  });
  const probs = await oracle.score(inputs);
  return { probs, preds: probs.map((p) => argmax(p)) };
}

async function judge(
  model: string,
  x: Float32Array,
  draws: number,
  seed: number,
  isFooled?: (p: number) => boolean,
): Promise<Verdict> {
  const res = await classifyOnTarget(
    model,
    Array.from({ length: draws }, () => x),
    seed,
  );
  return verdictOf(res.probs, res.preds, isFooled);
}

/** The parameters sent to the worker: norm, budget, eps (where the attack has one), target, overrides. */
export function attackParams(config: AttackConfig): Record<string, unknown> {
  const params: Record<string, unknown> = {
    ...(config.overrides[config.attack] ?? {}),
    norm: config.norm,
    maxQueries: config.maxQueries,
  };
  if (hasEps(config.attack, config.norm)) params.eps = config.eps;
  if (config.targeted) params.target = config.target;
  return params;
}

/** What is wrong with the settings, or null. */
export function configProblem(config: AttackConfig): string | null {
  const info = ATTACKS[config.attack];
  if (!findModel(config.model)) return `Unknown model ${config.model}.`;
  if (!(info.norms as readonly string[]).includes(config.norm))
    return `${info.title} does not support ${config.norm}.`;
  if (!Number.isInteger(config.maxQueries) || config.maxQueries < 1)
    return 'The query budget must be a whole number ≥ 1.';
  const epsWrong = hasEps(config.attack, config.norm) && epsProblem(config.eps, config.norm, false);
  if (epsWrong) return `${epsWrong}.`;
  if (!Number.isInteger(config.eot) || config.eot < 1) return 'EOT k must be a whole number ≥ 1.';
  if (!Number.isInteger(config.seed) || config.seed < 0) return 'The seed must be a whole number ≥ 0.';
  try {
    info.resolve({ ...attackParams(config), targeted: config.targeted });
  } catch (e) {
    return errorText(e);
  }
  return null;
}

/**
 * A test image of the target class that the model already assigns to it: the starting point a
 * targeted decision attack (HopSkipJump, Boundary) needs. Null when none of the first few qualifies.
 */
async function targetStart(model: string, target: number, seed: number) {
  const set = await ensureTestSet();
  const indices: number[] = [];
  for (let i = 0; i < set.count && indices.length < 32; i++) if (set.labels[i] === target) indices.push(i);
  const inputs = indices.map((i) => {
    const x = new Float32Array(784);
    for (let p = 0; p < 784; p++) x[p] = set.images[i * 784 + p] / 255;
    return x;
  });
  const res = await classifyOnTarget(model, inputs, seed);
  const k = res.preds.indexOf(target);
  return k < 0 ? null : { index: indices[k], image: inputs[k] };
}

/** Runs the configured attack on `image`. Label: `trueLabel` when known, else the model's prediction. */
export async function startAttack(image: Float32Array, trueLabel?: number): Promise<void> {
  const store = useAttackStore.getState();
  if (isBusy(store.status)) return;
  const config = store.config;
  const problem = configProblem(config);
  const runId = store.begin();
  const live = () => useAttackStore.getState();
  if (problem) {
    live().fail(runId, problem);
    return;
  }
  const model = findModel(config.model)!;
  const randomized = isRandomized(model);
  const x = Float32Array.from(image);
  const name: AttackName = config.attack;
  try {
    let originalVerdict = null;
    try {
      originalVerdict = await judge(model.id, x, randomized ? VERDICT_DRAWS : 1, subSeed(config.seed, 1));
    } catch (e) {
      // without a prediction the run needs the true label; with it, go on and let the attack report
      if (trueLabel === undefined) throw e;
    }
    const label = trueLabel ?? originalVerdict!.pred;
    if (config.targeted && config.target === label) {
      throw new Error('The target class is the image’s own class: pick another target.');
    }
    const params = attackParams(config);
    let initIndex: number | null = null;
    if (config.targeted && ATTACKS[name].needsStart) {
      const start = await targetStart(model.id, config.target, subSeed(config.seed, 2)).catch(() => null);
      if (start) {
        params.init = start.image;
        initIndex = start.index;
      }
    } else if (ATTACKS[name].needsStart) {
      // tried only when no uniform-noise start is adversarial (CNN/ResNet18 Bags: none ever is)
      const set = await ensureTestSet().catch(() => null);
      if (set)
        params.initCandidates = nearestOfOtherClasses(
          set,
          Array.from(x, (v) => v * 255),
          label,
        );
    }
    live().setMeta(runId, {
      model: model.id,
      attack: name,
      norm: config.norm,
      eps: hasEps(name, config.norm) ? config.eps : null,
      maxQueries: config.maxQueries,
      eot: config.eot,
      seed: config.seed,
      target: config.targeted ? config.target : null,
      label,
      labelSource: trueLabel === undefined ? 'predicted' : 'true',
      original: x,
      originalVerdict,
      initIndex,
      startedAt: Date.now(),
    });
    if (live().status === 'stopping') {
      live().cancel(runId);
      return;
    }
    live().setRunning(runId);
    const result = await engine.runAttack(
      {
        attack: name,
        params,
        model: model.id,
        x,
        label,
        seed: config.seed,
        eot: config.eot,
        endpoint: useEndpointStore.getState().endpoint ?? undefined,
      },
      (p) => useAttackStore.getState().pushProgress(runId, p),
    );
    live().finish(runId, result);
    const target = config.targeted ? config.target : undefined;
    const fooled = (p: number) => (target === undefined ? p !== label : p === target);
    try {
      const verdict = await judge(
        model.id,
        result.adversarial,
        randomized ? VERDICT_DRAWS : 1,
        subSeed(config.seed, 3),
        fooled,
      );
      live().setAdversarialVerdict(runId, verdict);
    } catch (e) {
      live().setAdversarialVerdict(runId, null, runErrorText(e));
    }
  } catch (e) {
    live().fail(runId, runErrorText(e));
  }
}

/** Stops the run: the worker returns the best result found so far. */
export function stopAttack(): void {
  const st = useAttackStore.getState();
  const wasRunning = st.status === 'running';
  st.setStopping();
  if (wasRunning) engine.abortAttack().catch(() => {});
}

/** Classifies the original and the adversarial image with all fifteen models and the uploaded ones (and their variants), one after another. */
export async function classifyWithAll(): Promise<void> {
  const st = useAttackStore.getState();
  const { meta, result, runId } = st;
  if (!meta || !result || st.transferRunning) return;
  const all = [...MODELS, ...customModelInfoList()];
  st.startTransfer(all.map((m) => m.id));
  const clean = Float32Array.from(meta.original, (v) => Math.round(Math.max(0, Math.min(1, v)) * 255) / 255);
  const target = meta.target;
  const fooled = (p: number) => (target === null ? p !== meta.label : p === target);
  for (const m of all) {
    if (useAttackStore.getState().runId !== runId) return;
    const draws = isRandomized(m) ? TRANSFER_DRAWS : 1;
    try {
      const inputs = [
        ...Array.from({ length: draws }, () => clean),
        ...Array.from({ length: draws }, () => result.adversarial),
      ];
      const res = await engine.classify({ model: m.id, inputs, seed: subSeed(meta.seed, 4) });
      useAttackStore.getState().setTransfer(runId, {
        model: m.id,
        status: 'ready',
        clean: verdictOf(res.probs.slice(0, draws), res.preds.slice(0, draws), fooled),
        adversarial: verdictOf(res.probs.slice(draws), res.preds.slice(draws), fooled),
      });
    } catch (e) {
      useAttackStore.getState().setTransfer(runId, { model: m.id, status: 'error', error: errorText(e) });
    }
  }
  useAttackStore.getState().endTransfer(runId);
}
