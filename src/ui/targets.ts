/** What the comparison view classifies: the selected models plus custom preprocessor + weights pairs. */

import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { modelRoute } from '../core/api';
import {
  ARCH_LABEL,
  type Arch,
  DEFENSE_LABEL,
  type Defense,
  isRandomized,
  type ModelInfo,
  type PreprocessorSpec,
  WEIGHT_IDS,
} from '../core/models';
import { useCustomModelStore } from '../stores/customModelStore';
import { type CustomPair, useModelStore } from '../stores/modelStore';
import { findModel } from './customModels';

export interface Target {
  key: string;
  /** Short name shown on cards: the model ID or "0 + noise σ 0.2". */
  name: string;
  /** Longer description: "CNN · Gaussian noise". */
  description: string;
  weights: string;
  preprocessor: PreprocessorSpec | null;
  /** One of the fifteen IDs (has an API route), or null for a custom pair. */
  modelId: string | null;
  randomized: boolean;
  arch: Arch;
  defense: Defense | null;
}

export const DEFENSE_SHORT: Record<Defense, string> = {
  none: 'vanilla',
  pgd: 'PGD-retrained',
  augment: 'augmentation-retrained',
  resize_pad: 'random resize & pad',
  noise: 'Gaussian noise',
  blur: 'Gaussian blur',
};

export function describePreprocessor(p: PreprocessorSpec | null): string {
  if (!p) return 'no preprocessor';
  switch (p.kind) {
    case 'noise':
      return `Gaussian noise σ ${p.sigma}`;
    case 'resize_pad':
      return `resize & pad p ${p.probability}, r ∈ {${p.ratios.join(', ')}}`;
    case 'blur':
      return `blur ${p.kernelWidth}×${p.kernelHeight}, σ ∈ [${p.sigmaMin}, ${p.sigmaMax}]`;
  }
}

export function shortPreprocessor(p: PreprocessorSpec | null): string {
  if (!p) return 'none';
  switch (p.kind) {
    case 'noise':
      return `noise σ${p.sigma}`;
    case 'resize_pad':
      return `resize&pad p${p.probability}`;
    case 'blur':
      return `blur ${p.kernelWidth}×${p.kernelHeight}`;
  }
}

export function describeWeights(weights: string): string {
  const m = findModel(weights);
  if (m?.custom) return `${weights} · your model ${m.custom.fileName}`;
  return m ? `${weights} · ${ARCH_LABEL[m.arch]} ${DEFENSE_SHORT[m.defense]}` : weights;
}

export const WEIGHT_CHOICES = WEIGHT_IDS;

/** The nine weight sets, then the uploaded models' (`custom/<id>`): what custom pairs can use. */
export function useWeightChoices(): string[] {
  const models = useCustomModelStore((s) => s.models);
  return useMemo(() => [...WEIGHT_IDS, ...models.map((m) => `custom/${m.id}`)], [models]);
}

/** "CNN · PGD adversarial retraining", "your model student.onnx · Gaussian noise". */
export function describeModel(m: ModelInfo): string {
  const arch = m.custom ? `your model ${m.custom.fileName}` : ARCH_LABEL[m.arch];
  return `${arch} · ${DEFENSE_LABEL[m.defense]}`;
}

export function modelTarget(id: string): Target | null {
  const m = findModel(id);
  if (!m) return null;
  return {
    key: m.id,
    name: m.id,
    description: describeModel(m),
    weights: m.weights,
    preprocessor: m.preprocessor,
    modelId: m.id,
    randomized: isRandomized(m),
    arch: m.arch,
    defense: m.defense,
  };
}

export function customTarget(p: CustomPair): Target {
  const base = findModel(p.weights);
  return {
    key: p.key,
    name: `${p.weights} + ${shortPreprocessor(p.preprocessor)}`,
    description: `custom: weights ${describeWeights(p.weights)}, ${describePreprocessor(p.preprocessor)}`,
    weights: p.weights,
    preprocessor: p.preprocessor,
    modelId: null,
    randomized: p.preprocessor !== null,
    arch: base?.arch ?? 'cnn',
    defense: null,
  };
}

export function targetsFor(selected: string[], pairs: CustomPair[]): Target[] {
  const out: Target[] = [];
  for (const id of selected) {
    const t = modelTarget(id);
    if (t) out.push(t);
  }
  for (const p of pairs) out.push(customTarget(p));
  return out;
}

export function useTargets(): Target[] {
  const { selected, customPairs } = useModelStore(
    useShallow((s) => ({ selected: s.selected, customPairs: s.customPairs })),
  );
  const uploaded = useCustomModelStore((s) => s.models);
  // biome-ignore lint/correctness/useExhaustiveDependencies: findModel reads the uploaded models
  return useMemo(() => targetsFor(selected, customPairs), [selected, customPairs, uploaded]);
}

/** `/0/decision` for model 0, `/0/1/decision` for 0_1, `/custom/<id>/3/decision` for custom/<id>/3. */
export function apiPath(modelId: string, route: 'decision' | 'score'): string {
  return modelRoute(modelId, route);
}
