/** The 28×28 drawing canvas: brush settings, pixels, undo history. UI state only. */
import { create } from 'zustand';

export type DrawTool = 'brush' | 'eraser';

const UNDO_LIMIT = 50;

export interface DrawState {
  /** Brush diameter in model pixels. */
  brushSize: number;
  /** 0 = hard edge, 1 = fully soft falloff. */
  softness: number;
  tool: DrawTool;
  /** false: white ink on black paper (Fashion-MNIST's convention); true: black on white. */
  inverted: boolean;
  showGrid: boolean;
  pixels: Uint8Array;
  undoStack: Uint8Array[];
  /** What the canvas was loaded from ("test #12") and its true label, until it is cleared. */
  origin: { name: string; label: number | null } | null;
  setBrushSize(v: number): void;
  setSoftness(v: number): void;
  setTool(t: DrawTool): void;
  setShowGrid(v: boolean): void;
  /** Remember the current pixels so the next change can be undone. */
  checkpoint(): void;
  setPixels(p: Uint8Array): void;
  clear(): void;
  invert(): void;
  undo(): boolean;
  /** Replace the canvas with other pixels (undoable). */
  load(p: Uint8Array, origin: { name: string; label: number | null } | null): void;
}

export const useDrawStore = create<DrawState>()((set, get) => ({
  brushSize: 2.5,
  softness: 0.5,
  tool: 'brush',
  inverted: false,
  showGrid: false,
  pixels: new Uint8Array(784),
  undoStack: [],
  origin: null,
  setBrushSize: (brushSize) => set({ brushSize }),
  setSoftness: (softness) => set({ softness }),
  setTool: (tool) => set({ tool }),
  setShowGrid: (showGrid) => set({ showGrid }),
  checkpoint() {
    const { undoStack, pixels } = get();
    set({ undoStack: [...undoStack.slice(-(UNDO_LIMIT - 1)), pixels.slice()] });
  },
  setPixels: (pixels) => set({ pixels }),
  clear() {
    get().checkpoint();
    set({ pixels: new Uint8Array(784).fill(get().inverted ? 255 : 0), origin: null });
  },
  invert() {
    get().checkpoint();
    const src = get().pixels;
    const out = new Uint8Array(784);
    for (let i = 0; i < 784; i++) out[i] = 255 - src[i];
    set({ pixels: out, inverted: !get().inverted });
  },
  undo() {
    const { undoStack } = get();
    if (undoStack.length === 0) return false;
    const prev = undoStack[undoStack.length - 1];
    set({ pixels: prev, undoStack: undoStack.slice(0, -1) });
    return true;
  },
  load(p, origin) {
    get().checkpoint();
    set({ pixels: p.slice(), origin, inverted: false });
  },
}));
