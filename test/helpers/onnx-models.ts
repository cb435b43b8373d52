/**
 * Small ONNX classifiers built in code for tests: [N,1,28,28] → [N,10], opset 17, read by
 * onnxruntime and by the reverse pass like any upload.
 */
import {
  type TensorProto as Initializer,
  type NodeProto as Node,
  onnx,
} from '../../src/gradients/onnx-graph';

const dims = (d: (number | string)[]) =>
  d.map((v) => (typeof v === 'string' ? { dimParam: v } : { dimValue: v }));

/** A graph from `input` ([N,1,28,28]) to `logits` ([N,10]) with the given nodes and weights. */
export function classifierModel(name: string, node: Node[], initializer: Initializer[]): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name,
        node,
        initializer,
        input: [
          { name: 'input', type: { tensorType: { elemType: 1, shape: { dim: dims(['N', 1, 28, 28]) } } } },
        ],
        output: [{ name: 'logits', type: { tensorType: { elemType: 1, shape: { dim: dims(['N', 10]) } } } }],
      },
    }),
  ).finish();
}

export interface LinearOptions {
  /** end in Softmax: the model outputs probabilities */
  softmax?: boolean;
  /** feed Relu(x − 2) instead of x: zero on all of [0, 1], so every input gradient is zero */
  deadZone?: boolean;
}

/**
 * z = W·flatten(x) + b (W: 10×784 row-major, b: 10), optionally behind a dead zone or before a
 * Softmax. Linear: the smallest L∞ change to reach the boundary between y and j is
 * (z_y − z_j)/‖w_y − w_j‖₁ where the [0, 1] box does not bind.
 */
export function linearModel(w: number[], b: number[], o: LinearOptions = {}): Uint8Array {
  const node: Node[] = [];
  const init: Initializer[] = [
    { name: 'w', dims: [10, 784], dataType: 1, floatData: w },
    { name: 'b', dims: [10], dataType: 1, floatData: b },
  ];
  let x = 'input';
  if (o.deadZone) {
    init.push({ name: 'two', dims: [], dataType: 1, floatData: [2] });
    node.push({ opType: 'Sub', input: ['input', 'two'], output: ['shifted'], name: 'shift' });
    node.push({ opType: 'Relu', input: ['shifted'], output: ['dead'], name: 'dead' });
    x = 'dead';
  }
  node.push({ opType: 'Flatten', input: [x], output: ['f'], name: 'flat' });
  const fc = o.softmax ? 'z' : 'logits';
  node.push({
    opType: 'Gemm',
    input: ['f', 'w', 'b'],
    output: [fc],
    name: 'fc',
    attribute: [{ name: 'transB', type: 2, i: 1 }],
  });
  if (o.softmax)
    node.push({
      opType: 'Softmax',
      input: ['z'],
      output: ['logits'],
      name: 'sm',
      attribute: [{ name: 'axis', type: 2, i: 1 }],
    });
  return classifierModel('linear', node, init);
}

/** Softplus(flatten(x) · W): a valid classifier whose Softplus has no gradient rule. */
export function softplusModel(): Uint8Array {
  const w = Array.from({ length: 784 * 10 }, (_, i) => Math.sin(i) * 0.01);
  return classifierModel(
    'softplus',
    [
      { opType: 'Flatten', input: ['input'], output: ['f'], name: 'flat' },
      { opType: 'MatMul', input: ['f', 'w'], output: ['z'], name: 'mm' },
      { opType: 'Softplus', input: ['z'], output: ['logits'], name: 'sp' },
    ],
    [{ name: 'w', dims: [784, 10], dataType: 1, floatData: w }],
  );
}
