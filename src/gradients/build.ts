/**
 * The reverse pass: an ONNX classifier `x → logits` becomes the ONNX model
 * `(x, g_logits) → (logits, g_x)` with g_x = J(x)ᵀ·g_logits, the vector-Jacobian product, built
 * only from standard ONNX ops so that every onnxruntime session (web WASM/WebGPU, node) runs it.
 *
 * Reverse-mode differentiation over the graph as in Griewank & Walther, "Evaluating Derivatives"
 * (2008), ch. 3; the per-op rules were written for this project after reading yacoda/onnx-ad
 * (a Python reverse pass over ONNX) and onnxruntime's orttraining gradient_builder.cc.
 *
 * Only nodes on a path from x to the logits get backward nodes; shape paths (Shape, Gather of a
 * shape, ConstantOfShape) stay forward-only. A model with an op on that path that has no rule is
 * refused by a GradientUnsupportedError that names every such op.
 */

import { Emitter } from './emitter';
import {
  Attrs,
  DTYPE,
  decodeModel,
  defaultOpset,
  GradientUnsupportedError,
  type NodeProto,
  onnx,
} from './onnx-graph';
import { ELEMENTWISE_RULES, NON_DIFFERENTIABLE } from './rules-elementwise';
import { NN_RULES } from './rules-nn';
import { STRUCTURE_RULES } from './rules-structure';
import { type Analysis, analyse } from './shapes';
import type { VjpContext, VjpRule } from './vjp';

export const VJP_RULES: Readonly<Record<string, VjpRule>> = {
  ...ELEMENTWISE_RULES,
  ...STRUCTURE_RULES,
  ...NN_RULES,
};

/** Oldest default opset the pass writes backward ops for (Pad and Slice take inputs from 11 on). */
export const MIN_GRADIENT_OPSET = 11;

export interface GradientModel {
  /** the serialised ModelProto of the gradient graph */
  bytes: Uint8Array;
  /** the image input, [N,1,28,28] float32 (the model's own name) */
  input: string;
  /** the logits output, [N,10] (the model's own name) */
  logits: string;
  /** the cotangent input, [N,10]: ∂loss/∂logits */
  gradLogits: string;
  /** the gradient output, shaped like the input: ∂loss/∂x */
  gradInput: string;
  /** op types of the nodes that got backward nodes, with counts */
  ops: Record<string, number>;
}

export interface GradientOptions {
  /** input shape with `null` for the batch dimension (default [null,1,28,28]); a number fixes it */
  inputShape?: (number | null)[];
}

/** Kahn's algorithm: the nodes in an order where every input is produced before it is read. */
function topological(nodes: readonly NodeProto[], available: Set<string>): NodeProto[] {
  const ready = new Set(available);
  const pending = [...nodes];
  const out: NodeProto[] = [];
  while (pending.length > 0) {
    const i = pending.findIndex((n) => (n.input ?? []).every((x) => !x || ready.has(x)));
    if (i < 0)
      throw new GradientUnsupportedError(
        `the graph has a cycle or reads an undefined tensor at node "${pending[0].name ?? ''}"`,
      );
    const [n] = pending.splice(i, 1);
    out.push(n);
    for (const o of n.output ?? []) ready.add(o);
  }
  return out;
}

function differentiableInputs(rule: VjpRule | undefined, node: NodeProto): number[] {
  const n = (node.input ?? []).length;
  if (!rule || rule.differentiable === 'all') return [...Array(n).keys()];
  return rule.differentiable.filter((i) => i < n);
}

/**
 * Builds the gradient model of an ONNX classifier with one float input and one output.
 * @throws GradientUnsupportedError when an op on the input→logits path has no rule (all such op
 *   types named), a rule cannot handle a node's attributes, or the model is not a single-input,
 *   single-output graph of opset ≥ 11
 */
export function buildGradientModel(bytes: Uint8Array, options: GradientOptions = {}): GradientModel {
  const model = decodeModel(bytes);
  const graph = model.graph;
  if (!graph) throw new GradientUnsupportedError('the file holds no graph');
  const opset = defaultOpset(model);
  if (opset < MIN_GRADIENT_OPSET)
    throw new GradientUnsupportedError(
      `opset ${opset} is older than ${MIN_GRADIENT_OPSET}; export the model with opset ${MIN_GRADIENT_OPSET} or later`,
    );
  const initNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const inputs = (graph.input ?? []).filter((i) => !initNames.has(i.name ?? ''));
  const outputs = graph.output ?? [];
  if (inputs.length !== 1 || outputs.length !== 1)
    throw new GradientUnsupportedError(
      `the model has ${inputs.length} inputs and ${outputs.length} outputs; one of each is needed`,
    );
  const input = inputs[0].name ?? '';
  const logits = outputs[0].name ?? '';
  const nodes = topological(graph.node ?? [], new Set([input, ...initNames]));

  const shape = options.inputShape ?? [null, 1, 28, 28];
  const fixed = shape.every((d) => d !== null);
  const at = (n: number) => analyse(model, nodes, opset, new Map([[input, shape.map((d) => d ?? n)]]));
  const a2 = at(2);
  const a3 = fixed ? a2 : at(3);

  const { onPath, needed } = pathToLogits(nodes, input, logits);
  for (const n of onPath) {
    if (n.opType === 'Dropout' && n.input?.[2]) {
      const t = a2.values.get(n.input[2]);
      if (!t || t.data[0])
        throw new GradientUnsupportedError(`Dropout node "${n.name ?? ''}" runs in training mode`);
    }
  }

  const taken = new Set<string>([
    ...initNames,
    input,
    logits,
    ...nodes.flatMap((n) => [...(n.output ?? []), n.name ?? '']),
  ]);
  const e = new Emitter(opset, taken);
  const gradLogits = e.fresh('logits');
  const cot = new Map<string, string[]>([[logits, [gradLogits]]]);
  const ops: Record<string, number> = {};
  for (const n of onPath) {
    const outs = n.output ?? [];
    const g = outs.map((o) => {
      const parts = cot.get(o);
      return parts ? e.sum(parts) : null;
    });
    if (g.every((x) => x === null)) continue;
    const rule = VJP_RULES[n.opType ?? ''];
    const ins = (n.input ?? []).map((x) => x ?? '');
    const diff = new Set(differentiableInputs(rule, n));
    const ctx = context(e, n, ins, outs, g, (i) => diff.has(i) && needed.has(ins[i]), a2, a3);
    const grads = rule.vjp(ctx);
    grads.forEach((gr, i) => {
      if (!gr || !ctx.needs(i)) return;
      const list = cot.get(ins[i]) ?? [];
      list.push(gr);
      cot.set(ins[i], list);
    });
    ops[n.opType ?? ''] = (ops[n.opType ?? ''] ?? 0) + 1;
  }
  const parts = cot.get(input);
  if (!parts) throw new GradientUnsupportedError('no gradient reaches the input');
  const gradInput = e.fresh('input');
  e.nodes.push(
    onnx.NodeProto.create({
      opType: 'Identity',
      name: gradInput,
      input: [e.sum(parts)],
      output: [gradInput],
    }),
  );

  const batchDim = (d: number | null) => (d === null ? { dimParam: 'N' } : { dimValue: d });
  const outDims = (a2.shapes.get(logits) ?? [shape[0] ?? 1, 10]).map((d, i) =>
    d !== a3.shapes.get(logits)?.[i] ? null : d,
  );
  const floatInfo = (name: string, dims: (number | null)[]) =>
    onnx.ValueInfoProto.create({
      name,
      type: { tensorType: { elemType: DTYPE.FLOAT, shape: { dim: dims.map(batchDim) } } },
    });
  graph.node = [...nodes, ...e.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...e.initializers];
  graph.input = [...(graph.input ?? []), floatInfo(gradLogits, outDims)];
  graph.output = [...outputs, floatInfo(gradInput, shape)];
  graph.valueInfo = [];
  return { bytes: onnx.ModelProto.encode(model).finish(), input, logits, gradLogits, gradInput, ops };
}

/**
 * The nodes on a path from the input to the logits, in reverse topological order, and the tensors
 * on it. A node is on it when one of its differentiable inputs depends on x and the logits depend
 * on one of its outputs.
 * @throws GradientUnsupportedError naming every op on the path that has no rule
 */
function pathToLogits(
  nodes: readonly NodeProto[],
  input: string,
  logits: string,
): { onPath: NodeProto[]; needed: Set<string> } {
  // forward: tensors that depend on x through differentiable inputs
  const dependsOnX = new Set([input]);
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE.has(n.opType ?? '')) continue;
    const rule = VJP_RULES[n.opType ?? ''];
    if (differentiableInputs(rule, n).some((i) => dependsOnX.has(n.input?.[i] ?? ''))) {
      for (const o of n.output ?? []) dependsOnX.add(o);
    }
  }
  // backward: of those, the ones the logits depend on
  const needed = new Set([logits]);
  const onPath: NodeProto[] = [];
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k];
    if (!(n.output ?? []).some((o) => needed.has(o) && dependsOnX.has(o))) continue;
    onPath.push(n);
    for (const i of n.input ?? []) if (dependsOnX.has(i)) needed.add(i);
  }
  if (!dependsOnX.has(logits)) throw new GradientUnsupportedError('the output does not depend on the input');
  const missing = [
    ...new Set(
      onPath
        .filter((n) => !VJP_RULES[n.opType ?? ''] || (n.domain && n.domain !== 'ai.onnx'))
        .map((n) => (n.domain ? `${n.domain}.${n.opType}` : (n.opType ?? ''))),
    ),
  ];
  if (missing.length > 0) {
    throw new GradientUnsupportedError(
      `no gradient rule for ${missing.length === 1 ? 'op' : 'ops'} ${missing.join(', ')}`,
      missing,
    );
  }
  return { onPath, needed };
}

function context(
  e: Emitter,
  node: NodeProto,
  inputs: string[],
  outputs: string[],
  g: (string | null)[],
  needs: (i: number) => boolean,
  a2: Analysis,
  a3: Analysis,
): VjpContext {
  const shape = (name: string) => {
    const s = a2.shapes.get(name);
    if (!s)
      throw new GradientUnsupportedError(
        `${node.opType} node "${node.name ?? ''}": the shape of "${name}" could not be determined`,
      );
    return s;
  };
  return {
    e,
    node,
    at: new Attrs(node),
    inputs,
    outputs,
    g,
    needs,
    shape,
    batchAxes: (name) => {
      const s3 = a3.shapes.get(name) ?? [];
      return shape(name).map((d, i) => d !== s3[i]);
    },
    value: (name) => a2.values.get(name),
    ints: (name, what) => {
      const v = name ? a2.values.get(name) : undefined;
      const w = name ? a3.values.get(name) : undefined;
      const where = `${node.opType} node "${node.name ?? ''}"`;
      if (!v || !w) throw new GradientUnsupportedError(`${where}: ${what} is not a constant`);
      if (v.data.join() !== w.data.join())
        throw new GradientUnsupportedError(`${where}: ${what} changes with the batch size`);
      return v.data;
    },
  };
}

/**
 * Why `bytes` cannot be differentiated (the refusal's message, naming the ops without a rule), or
 * null when the reverse pass accepts it. For the page's and the service's upload checks.
 */
export function whiteBoxRefusal(bytes: Uint8Array, batch: 1 | 'dynamic'): string | null {
  try {
    buildGradientModel(bytes, { inputShape: [batch === 1 ? 1 : null, 1, 28, 28] });
    return null;
  } catch (e) {
    if (e instanceof GradientUnsupportedError) return e.message;
    return `the reverse pass failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}
