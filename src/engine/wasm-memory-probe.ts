/**
 * Records every WebAssembly.Memory created in this worker, so the worker can report how large the
 * onnxruntime WASM heap is (it grows and never shrinks, so a leak of tensors shows up here; ORT
 * exposes no API for it). Must be imported before onnxruntime-web.
 */
const memories: WebAssembly.Memory[] = [];
const Original = WebAssembly.Memory;

const Patched = function (this: unknown, descriptor: WebAssembly.MemoryDescriptor) {
  const m = new Original(descriptor);
  memories.push(m);
  return m;
} as unknown as typeof WebAssembly.Memory;
Patched.prototype = Original.prototype;
(WebAssembly as { Memory: typeof WebAssembly.Memory }).Memory = Patched;

export function wasmHeapBytes(): number {
  return memories.reduce((sum, m) => sum + m.buffer.byteLength, 0);
}
