/** The one current image every model is asked about, and where it came from. UI state only. */
import { create } from 'zustand';
import { grayToFloat } from '../core/image';

export type ImageSource =
  | { kind: 'test'; index: number; label: number }
  | {
      kind: 'draw';
      /** What the drawing started from ("test #12"), when it was sent to the canvas. */
      basedOn: string | null;
      /** True label of the image the drawing started from, if known. */
      label: number | null;
    }
  | { kind: 'upload'; name: string; width: number; height: number }
  | {
      kind: 'adversarial';
      /** `adversarial/<name>` (src/data/adversarial.ts) */
      set: string;
      /** test-set index of the clean twin */
      index: number;
      label: number;
      /** the model the set was crafted on */
      sourceModel: string;
      eps: number;
    }
  | { kind: 'link' };

export interface UploadPreview {
  name: string;
  type: string;
  width: number;
  height: number;
  /** Object URL of the original file, for display. */
  url: string;
  /** Interleaved RGB bytes as the API would receive them (kept only when small enough for a request). */
  rgb: Uint8Array | null;
  /** The 28×28 bytes the API conversion produced. */
  pixels: Uint8Array;
  /** Pixels with alpha below 255 / equal to 0 (0 for opaque files). */
  translucent: number;
  transparent: number;
  /** How transparency was treated: dropped as Pillow does ('none'), or composited over white/black. */
  flatten: 'none' | 'white' | 'black';
  /** False when the browser could not decode without premultiplying (colour under alpha 0 lost). */
  exactAlpha: boolean;
}

export interface ImageState {
  /** 784 grayscale bytes, row-major, white-on-black; null before the first image is known. */
  pixels: Uint8Array | null;
  /** The model input (784 floats in [0,1]) the pixels stand for. */
  input: Float32Array | null;
  source: ImageSource | null;
  /** Bumped on every change, so results can tell whether they are current. */
  version: number;
  lastUpload: UploadPreview | null;
  uploadError: string | null;
  setImage(pixels: Uint8Array, source: ImageSource, input?: Float32Array): void;
  setUpload(preview: UploadPreview, input: Float32Array): void;
  /** Replaces the last upload's preview without making it the current image. */
  setUploadPreview(preview: UploadPreview, input: Float32Array): void;
  setUploadError(message: string | null): void;
}

export const useImageStore = create<ImageState>()((set, get) => ({
  pixels: null,
  input: null,
  source: null,
  version: 0,
  lastUpload: null,
  uploadError: null,
  setImage(pixels, source, input) {
    set({ pixels, source, input: input ?? grayToFloat(pixels), version: get().version + 1 });
  },
  setUpload(preview, input) {
    const prev = get().lastUpload;
    if (prev && prev.url !== preview.url) URL.revokeObjectURL(prev.url);
    set({
      lastUpload: preview,
      uploadError: null,
      pixels: preview.pixels,
      input,
      source: { kind: 'upload', name: preview.name, width: preview.width, height: preview.height },
      version: get().version + 1,
    });
  },
  setUploadPreview(preview) {
    const prev = get().lastUpload;
    if (prev && prev.url !== preview.url) URL.revokeObjectURL(prev.url);
    set({ lastUpload: preview, uploadError: null });
  },
  setUploadError(message) {
    set({ uploadError: message });
  },
}));

/** The true class of the current image, when it is known (test set, or a drawing started from one). */
export function trueLabelOf(source: ImageSource | null): number | null {
  if (!source) return null;
  if (source.kind === 'test' || source.kind === 'adversarial') return source.label;
  if (source.kind === 'draw') return source.label;
  return null;
}

export function describeSource(source: ImageSource | null): string {
  if (!source) return 'no image yet';
  switch (source.kind) {
    case 'test':
      return `Test image #${source.index}`;
    case 'draw':
      return source.basedOn ? `Drawing (from ${source.basedOn})` : 'Drawing';
    case 'upload':
      return `Upload “${source.name}” (${source.width}×${source.height})`;
    case 'adversarial':
      return `PGD image of test #${source.index} (ε ${source.eps}, crafted on model ${source.sourceModel})`;
    case 'link':
      return 'Shared image (from link)';
  }
}
