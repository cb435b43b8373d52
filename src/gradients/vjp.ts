/**
 * What a vector-Jacobian-product rule sees, and the helpers the rules share. A rule receives the
 * gradient of the loss with respect to each output of a forward node (the "cotangent", null when
 * no path from that output reaches the logits) and writes nodes that compute the gradient with
 * respect to each input that needs one (null for the others: absent, never a zero tensor).
 */

import type { Emitter } from './emitter';
import { type Attrs, type Const, GradientUnsupportedError, type NodeProto } from './onnx-graph';

export interface VjpContext {
  e: Emitter;
  node: NodeProto;
  at: Attrs;
  /** input names ('' for an omitted optional input) */
  inputs: string[];
  outputs: string[];
  /** cotangent per output */
  g: (string | null)[];
  /** whether input i needs a gradient */
  needs(i: number): boolean;
  /** shape of a tensor at the analysis batch size (batch-dependent dimensions included) */
  shape(name: string): number[];
  /** per dimension: does it change with the batch size? */
  batchAxes(name: string): boolean[];
  value(name: string): Const | undefined;
  /** constant integer values of an input (Slice starts, Pad pads); throws when computed from the input */
  ints(name: string | undefined, what: string): number[];
}

export interface VjpRule {
  /** indices of the inputs a gradient can flow to (the others are indices, shapes, parameters) */
  differentiable: number[] | 'all';
  vjp(c: VjpContext): (string | null)[];
}

export function unsupported(c: Pick<VjpContext, 'node'>, why: string): GradientUnsupportedError {
  return new GradientUnsupportedError(`${c.node.opType} node "${c.node.name ?? ''}": ${why}`);
}

/** A static dimension of a tensor; refuses when it changes with the batch size. */
export function staticDim(c: VjpContext, name: string, axis: number, what: string): number {
  if (c.batchAxes(name)[axis]) throw unsupported(c, `${what} runs along the batch axis`);
  return c.shape(name)[axis];
}

/** A Reshape target for a tensor of this shape: the one batch-dependent dimension becomes -1. */
export function reshapeTarget(c: VjpContext, dims: number[], batch: boolean[]): number[] {
  if (batch.filter(Boolean).length > 1)
    throw unsupported(c, 'more than one dimension changes with the batch size');
  return dims.map((d, i) => (batch[i] ? -1 : d));
}

/**
 * Sums a cotangent of shape `gShape` down to the shape of the input `x` it was broadcast from
 * (NumPy broadcasting, as every ONNX element-wise op uses).
 */
export function unbroadcast(c: VjpContext, g: string, gShape: number[], x: string): string {
  const xs = c.shape(x);
  const lead = gShape.length - xs.length;
  const axes: number[] = [];
  for (let i = 0; i < gShape.length; i++) {
    if (i < lead || (xs[i - lead] === 1 && gShape[i] !== 1)) axes.push(i);
  }
  if (axes.length === 0) return g;
  const summed = c.e.reduceSum(g, axes, true);
  return lead > 0 ? c.e.reshapeLike(summed, x) : summed;
}

/** The cotangent of output 0, which every single-output rule needs. */
export function g0(c: VjpContext): string {
  const g = c.g[0];
  if (!g) throw unsupported(c, 'no cotangent for its output');
  return g;
}
