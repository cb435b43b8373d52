/** The fifteen model IDs of SPEC §2: which weights each uses and which preprocessor defends it. */

import type { CustomModelEntry } from './custom-models';

/** The three architectures of SPEC §2, and 'custom' for a model the user brought (custom-models.ts). */
export type Arch = 'cnn' | 'resnet18' | 'vit' | 'custom';
/** The five defenses of SPEC §2; 'blur' only wraps custom models (`custom/<id>/blur`). */
export type Defense = 'none' | 'pgd' | 'augment' | 'resize_pad' | 'noise' | 'blur';

/** A randomized input preprocessor (SPEC §3). */
export type PreprocessorSpec =
  | { kind: 'resize_pad'; probability: number; ratios: number[]; offsets: number[] }
  | { kind: 'noise'; sigma: number }
  | { kind: 'blur'; kernelWidth: number; kernelHeight: number; sigmaMin: number; sigmaMax: number };

export interface ModelInfo {
  id: string;
  arch: Arch;
  defense: Defense;
  /** ID of the weight set (file `public/models/<weights>.onnx`). */
  weights: string;
  preprocessor: PreprocessorSpec | null;
  /** Set for a model the user brought: its file, checksum and input/output spec. */
  custom?: CustomModelEntry;
}

export const ARCH_LABEL: Record<Arch, string> = {
  cnn: 'CNN',
  resnet18: 'ResNet18',
  vit: 'ViT',
  custom: 'your model',
};
export const DEFENSE_LABEL: Record<Defense, string> = {
  none: 'vanilla',
  pgd: 'PGD adversarial retraining',
  augment: 'augmentation retraining',
  resize_pad: 'random resize & padding',
  noise: 'Gaussian noise',
  blur: 'Gaussian blur',
};

export const RESIZE_PAD_DEFAULT: PreprocessorSpec = {
  kind: 'resize_pad',
  probability: 0.8,
  ratios: [0.1, 0.08, 0.06, 0.04, 0.02],
  offsets: [0, 0.5, 1],
};
export const NOISE_DEFAULT: PreprocessorSpec = { kind: 'noise', sigma: 0.1 };
/** What the thesis code actually ran for `_4`; offered for custom pairs, not one of the 15 IDs. */
export const BLUR_DEFAULT: PreprocessorSpec = {
  kind: 'blur',
  kernelWidth: 5,
  kernelHeight: 9,
  sigmaMin: 0.1,
  sigmaMax: 5,
};

type TableArch = Exclude<Arch, 'custom'>;
type TableDefense = Exclude<Defense, 'blur'>;
const ARCH_PREFIX: Record<TableArch, string> = { cnn: '0', resnet18: '2', vit: '5' };
const DEFENSE_SUFFIX: Record<TableDefense, string> = {
  none: '',
  pgd: '_1',
  augment: '_2',
  resize_pad: '_3',
  noise: '_4',
};

/** The architectures and defenses of the table (the grid's rows and columns). */
export const ARCHS: TableArch[] = ['cnn', 'resnet18', 'vit'];
export const DEFENSES: TableDefense[] = ['none', 'pgd', 'augment', 'resize_pad', 'noise'];

function build(arch: TableArch, defense: TableDefense): ModelInfo {
  const prefix = ARCH_PREFIX[arch];
  const id = prefix + DEFENSE_SUFFIX[defense];
  const ownWeights = defense === 'none' || defense === 'pgd' || defense === 'augment';
  return {
    id,
    arch,
    defense,
    weights: ownWeights ? id : prefix,
    preprocessor: defense === 'resize_pad' ? RESIZE_PAD_DEFAULT : defense === 'noise' ? NOISE_DEFAULT : null,
  };
}

export const MODELS: ModelInfo[] = ARCHS.flatMap((a) => DEFENSES.map((d) => build(a, d)));
export const MODEL_IDS: string[] = MODELS.map((m) => m.id);
export const WEIGHT_IDS: string[] = [...new Set(MODELS.map((m) => m.weights))];

const BY_ID = new Map(MODELS.map((m) => [m.id, m]));

export function getModel(id: string): ModelInfo | undefined {
  return BY_ID.get(id);
}

export function isRandomized(m: ModelInfo | PreprocessorSpec | null): boolean {
  if (m === null) return false;
  return 'kind' in m ? true : m.preprocessor !== null;
}

/**
 * Why a weight file may not be used, or null: its size or sha256 (lowercase hex, computed by the
 * caller: WebCrypto in the page, node:crypto in the server and tools) differs from the manifest's.
 * One wording for the page, the HTTP service and the experiment runner.
 */
export function weightFileProblem(
  file: string,
  byteLength: number,
  sha256Hex: string,
  expected: { bytes?: number; sha256: string },
): string | null {
  if (expected.bytes !== undefined && expected.bytes !== byteLength)
    return `${file} has ${byteLength} bytes, manifest.json says ${expected.bytes}`;
  if (sha256Hex !== expected.sha256)
    return `${file} fails its checksum (sha256 ${sha256Hex.slice(0, 12)}…, manifest.json ${expected.sha256.slice(0, 12)}…)`;
  return null;
}
