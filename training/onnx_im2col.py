"""Rewrites Conv nodes on small feature maps as one batched MatMul (im2col in the graph), an exact
re-expression for onnxruntime-web's WASM kernels.

Why: onnxruntime's CPU Conv runs one GEMM per image with the output pixels as the GEMM's N
dimension. On ResNet18's 2x2 and 1x1 maps (layer3, layer4 at 28x28) that N is 4 or 1, so every
image streams the whole weight matrix again (a matrix-vector product) and batching buys nothing.
Measured with onnxruntime-web 1.30 in Node, one thread, batch 64 (docs/profile-ort-web.md): a
512->512 1x1 Conv on [64,512,1,1] takes 15.8 ms, the same product as MatMul 1.05 ms.

The rewrite, per selected Conv (X [N,C,H,W], W [O,C,kh,kw], B [O]):
    Pad (if any) -> one Slice per kernel tap (strided like the conv) -> Concat on channels
    -> Transpose to [N,Ho,Wo,C*kh*kw] -> MatMul [C*kh*kw, O] (+ B) -> Transpose to [N,O,Ho,Wo]
(for Ho = Wo = 1: Flatten -> MatMul -> Reshape). The GEMM's M dimension is N*Ho*Wo, so a batch
shares each weight read. Same weights (reordered), same arithmetic up to float summation order.
"""
import numpy as np


def _attrs(node):
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def im2col_convs(model, max_output_pixels: int = 4):
    """Returns (a copy of `model` (onnx.ModelProto), the names of the rewritten Conv nodes): every
    2-D Conv whose output has at most `max_output_pixels` pixels per channel, with group 1, dilation
    1, explicit pads and shapes that shape inference can fix, rewritten as above. Convs outside
    these conditions are left as they are (the caller sees which were rewritten)."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.shape_inference.infer_shapes(model)
    g = model.graph
    shapes = {v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
              for v in list(g.value_info) + list(g.input) + list(g.output)}
    inits = {i.name: i for i in g.initializer}
    new_nodes, new_inits, rewritten = [], [], []
    for node in g.node:
        a = _attrs(node)
        out_shape = shapes.get(node.output[0])
        in_shape = shapes.get(node.input[0])
        if (node.op_type != "Conv" or a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1]))
                or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET")
                or not out_shape or not in_shape or len(out_shape) != 4 or len(in_shape) != 4
                or None in out_shape[1:] or None in in_shape[1:]
                or out_shape[2] * out_shape[3] > max_output_pixels or node.input[1] not in inits):
            new_nodes.append(node)
            continue
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        o, c, kh, kw = w.shape
        if kh > 9 or kw > 9:  # tap names are <node>_tap<ky><kx>: one digit each
            new_nodes.append(node)
            continue
        sh, sw = a.get("strides", [1, 1])
        pt, pl, pb, pr = a.get("pads", [0, 0, 0, 0])
        ho, wo = out_shape[2], out_shape[3]
        p = node.name.replace("/", "_").strip("_") or node.output[0]
        x = node.input[0]
        nodes = []

        def const(name, arr):
            new_inits.append(numpy_helper.from_array(np.asarray(arr), f"{p}_{name}"))
            return f"{p}_{name}"

        if pt or pl or pb or pr:
            nodes.append(helper.make_node("Pad", [x, const("pads", np.array([0, 0, pt, pl, 0, 0, pb, pr], np.int64))],
                                          [f"{p}_padded"], mode="constant"))
            x = f"{p}_padded"
        taps = []
        for ky in range(kh):
            for kx in range(kw):
                t = f"{p}_tap{ky}{kx}"
                nodes.append(helper.make_node(
                    "Slice",
                    [x, const(f"s{ky}{kx}", np.array([ky, kx], np.int64)),
                     const(f"e{ky}{kx}", np.array([ky + (ho - 1) * sh + 1, kx + (wo - 1) * sw + 1], np.int64)),
                     const("axes", np.array([2, 3], np.int64)) if (ky, kx) == (0, 0) else f"{p}_axes",
                     const("steps", np.array([sh, sw], np.int64)) if (ky, kx) == (0, 0) else f"{p}_steps"],
                    [t]))
                taps.append(t)
        cols = taps[0]
        if len(taps) > 1:
            # Concat in groups of at most 3 inputs: onnxruntime-web's WebGPU Concat binds every
            # input as a storage buffer, and a 9-input Concat (over WebGPU's default limit of 8 per
            # shader stage) gave logits off by 6 on SwiftShader. The groups keep the channel order.
            groups = []
            for i in range(0, len(taps), 3):
                if len(taps[i : i + 3]) == 1:
                    groups.append(taps[i])
                    continue
                name = f"{p}_cols{i // 3}"
                nodes.append(helper.make_node("Concat", taps[i : i + 3], [name], axis=1))
                groups.append(name)
            if len(groups) == 1:
                cols = groups[0]
            else:
                nodes.append(helper.make_node("Concat", groups, [f"{p}_cols"], axis=1))
                cols = f"{p}_cols"
        # Wmat[t*C + c, o] = W[o, c, ky, kx], t = ky*kw + kx: the Concat's channel order
        wmat = w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)
        wname = const("wmat", wmat.astype(np.float32))
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if ho * wo == 1:
            nodes.append(helper.make_node("Flatten", [cols], [f"{p}_flat"], axis=1))
            nodes.append(helper.make_node("Gemm", [f"{p}_flat", wname] + ([bias] if bias else []), [f"{p}_mm"]))
            nodes.append(helper.make_node("Reshape", [f"{p}_mm", const("shape", np.array([-1, o, 1, 1], np.int64))],
                                          [node.output[0]]))
        else:
            nodes.append(helper.make_node("Transpose", [cols], [f"{p}_nhwc"], perm=[0, 2, 3, 1]))
            nodes.append(helper.make_node("MatMul", [f"{p}_nhwc", wname], [f"{p}_mm"]))
            mm = f"{p}_mm"
            if bias:
                nodes.append(helper.make_node("Add", [mm, bias], [f"{p}_mmb"]))
                mm = f"{p}_mmb"
            nodes.append(helper.make_node("Transpose", [mm], [node.output[0]], perm=[0, 3, 1, 2]))
        new_nodes.extend(nodes)
        rewritten.append(node.name)
    used = {i for n in new_nodes for i in n.input}
    keep = [i for i in g.initializer if i.name in used]
    del g.node[:]
    g.node.extend(new_nodes)
    del g.initializer[:]
    g.initializer.extend(keep + [i for i in new_inits if i.name in used])
    del g.value_info[:]
    onnx.checker.check_model(model)
    return model, rewritten


# ResNet18 at 28x28: layer3 (2x2 maps) and layer4 (1x1). Measured (docs/profile-ort-web.md): with
# layer2 too (4x4 maps, 16 pixels) onnxruntime-web gains a little more at batch 64 but
# onnxruntime-node loses its batch-64 gain and more at batch 1.
MAX_OUTPUT_PIXELS = 4


def rewrite_shipped(ids: list[str], max_output_pixels: int = MAX_OUTPUT_PIXELS) -> None:
    """`python -m training im2col --id 2 2_1 2_2`: rewrites shipped ResNet18 files in place (no
    checkpoint needed), checks the result against the golden logits (PyTorch, training/onnx_torch.py,
    1e-4) and updates the training record's `export` (sha256, bytes, rewritten convs)."""
    import json
    import os

    import onnx

    from . import data, paths
    from .export import sha256_file
    from .onnx_torch import OnnxModule
    from .train import write_record

    x_test, _ = data.load_split("test")
    for model_id in ids:
        path = os.path.join(paths.MODELS_DIR, f"{model_id}.onnx")
        with open(paths.record(model_id)) as f:
            rec = json.load(f)
        if rec.get("arch") != "resnet18":
            raise SystemExit(f"{model_id} is a {rec.get('arch')}, not a ResNet18: nothing to rewrite")
        before = sha256_file(path)
        model, rewritten = im2col_convs(onnx.load(path), max_output_pixels)
        if not rewritten:
            print(f"[{model_id}] no Conv with at most {max_output_pixels} output pixels left: unchanged", flush=True)
            continue
        tmp = path + ".tmp"
        onnx.save(model, tmp)
        golden = os.path.join(paths.GOLDEN_DIR, "logits", f"{model_id}.json")
        try:
            diff = OnnxModule(tmp).check(golden, x_test)
        except Exception:
            os.remove(tmp)
            raise
        os.replace(tmp, path)
        exp = rec.setdefault("export", {})
        exp.update(bytes=os.path.getsize(path), sha256=sha256_file(path),
                   im2col=dict(convs=rewritten, max_output_pixels=max_output_pixels, rewritten_from_sha256=before,
                               golden_logit_max_abs_diff=diff, by="training/onnx_im2col.py"))
        write_record(model_id, rec)
        print(f"[{model_id}] {len(rewritten)} convs as batched MatMul; golden logits within {diff:.1e}; "
              f"sha256 {exp['sha256'][:12]}…", flush=True)
    print("the files changed: rebuild public/models/manifest.json with `npm run eval:models -- --ids <ids and their "
          "_3/_4>`, and regenerate adversarial sets crafted on them (python -m training adversarial-set)", flush=True)
