/**
 * Tensors of an ONNX file that point at external data. onnxruntime-node resolves external data
 * relative to the working directory when a model is loaded from bytes, so an uploaded model could
 * read any file there (`.env`, `.git/config`, results) and hand it back through `/score`. Uploaded
 * models (`serve --model`, experiments' `custom:`) are refused when this finds anything.
 * Decoding: onnx-proto (the ONNX protobuf schema compiled for protobufjs).
 */
import onnxProto from 'onnx-proto';

// CommonJS: the named export is not visible to Node's ESM loader
const { onnx } = onnxProto;

type Tensor = onnxProto.onnx.ITensorProto;
type Graph = onnxProto.onnx.IGraphProto;

/**
 * `name → location` of every tensor stored outside the file: initializers, sparse initializers,
 * Constant/attribute tensors, in the main graph, its subgraphs and the model's functions.
 * @throws Error when the bytes are not an ONNX ModelProto
 */
export function externalDataRefs(bytes: Uint8Array): string[] {
  const model = onnx.ModelProto.decode(bytes);
  const out: string[] = [];
  const tensor = (t: Tensor | null | undefined, where: string) => {
    if (!t) return;
    const external =
      t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0;
    if (!external) return;
    const loc = t.externalData?.find((e) => e.key === 'location')?.value ?? '(no location)';
    out.push(`${where} ${JSON.stringify(t.name ?? '')} → ${JSON.stringify(loc)}`);
  };
  const nodes = (list: onnxProto.onnx.INodeProto[] | null | undefined, where: string) => {
    for (const n of list ?? []) {
      for (const a of n.attribute ?? []) {
        tensor(a.t, `${where} attribute ${a.name}`);
        for (const t of a.tensors ?? []) tensor(t, `${where} attribute ${a.name}`);
        graph(a.g, `${where} subgraph`);
        for (const g of a.graphs ?? []) graph(g, `${where} subgraph`);
        tensor(a.sparseTensor?.values, `${where} attribute ${a.name}`);
      }
    }
  };
  const graph = (g: Graph | null | undefined, where: string) => {
    if (!g) return;
    for (const t of g.initializer ?? []) tensor(t, `${where} initializer`);
    for (const s of g.sparseInitializer ?? []) {
      tensor(s.values, `${where} sparse initializer`);
      tensor(s.indices, `${where} sparse initializer`);
    }
    nodes(g.node, where);
  };
  graph(model.graph, 'graph');
  for (const f of model.functions ?? []) nodes(f.node, `function ${f.name}`);
  return out;
}
