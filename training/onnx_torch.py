"""A shipped ONNX file as a differentiable PyTorch module, so that white-box attacks (PGD) run on
exactly the function the API serves: the file's own graph and initialisers, not a retrained or
re-exported copy. Works for any file built from the ops below (the fifteen models use 26 of them);
an op outside the table is refused by name.

Why our own interpreter: onnx2torch and friends are not installable here (no PyPI), and the graphs
are small. Semantics follow the ONNX operator specification (opset 17); `OnnxModule.check` proves
them on a file by comparing its logits with reference logits (the golden logits written at export,
within 1e-4).
"""

import numpy as np
import torch
import torch.nn.functional as F

_DTYPES = {1: torch.float32, 6: torch.int32, 7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64}


class UnsupportedModel(ValueError):
    """The file uses an op (or an attribute form) this interpreter does not implement."""


def _attrs(node):
    import onnx

    out = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in out.items()}


def _tensor(proto) -> torch.Tensor:
    from onnx import numpy_helper

    return torch.from_numpy(np.array(numpy_helper.to_array(proto)))


def _pads(pads, ndim=2):
    """ONNX [x1_begin, x2_begin, x1_end, x2_end] -> symmetric padding per dim, or None if asymmetric."""
    if not pads:
        return (0,) * ndim
    begin, end = pads[:ndim], pads[ndim:]
    return tuple(begin) if list(begin) == list(end) else None


def _conv(x, w, b=None, *, strides=(1, 1), pads=(), dilations=(1, 1), group=1, auto_pad="NOTSET", kernel_shape=None):
    _no_auto_pad(auto_pad)
    p = _pads(pads)
    if p is None:
        x, p = F.pad(x, (pads[1], pads[3], pads[0], pads[2])), (0, 0)
    return F.conv2d(x, w, b, stride=tuple(strides), padding=p, dilation=tuple(dilations), groups=group)


def _no_auto_pad(auto_pad):
    if auto_pad not in ("NOTSET", ""):
        raise UnsupportedModel(f"auto_pad {auto_pad!r} is not supported (explicit pads only)")


def _maxpool(x, *, kernel_shape, strides=None, pads=(), ceil_mode=0, dilations=(1, 1), auto_pad="NOTSET",
             storage_order=0):
    _no_auto_pad(auto_pad)
    p = _pads(pads)
    if p is None:
        x, p = F.pad(x, (pads[1], pads[3], pads[0], pads[2]), value=float("-inf")), (0, 0)
    return F.max_pool2d(x, tuple(kernel_shape), tuple(strides or [1] * len(kernel_shape)), p, tuple(dilations),
                        ceil_mode=bool(ceil_mode))


def _gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = alpha * ((a.T if transA else a) @ (b.T if transB else b))
    return y if c is None else y + beta * c


def _reshape(x, shape, *, allowzero=0):
    dims = [int(d) for d in shape]
    if not allowzero:
        dims = [x.shape[i] if d == 0 else d for i, d in enumerate(dims)]
    return x.reshape(dims)


def _layernorm(x, w, b=None, *, axis=-1, epsilon=1e-5, **_):
    axis = axis % x.dim()
    return F.layer_norm(x, tuple(x.shape[axis:]), w, b, epsilon)


def _softmax(x, *, axis=-1):
    return torch.softmax(x, dim=axis)


def _flatten(x, *, axis=1):
    lead = int(np.prod(x.shape[:axis])) if axis else 1
    return x.reshape(lead, -1)


def _gather(x, idx, *, axis=0):
    idx = idx.long()
    idx = torch.where(idx < 0, idx + x.shape[axis], idx)
    if idx.dim() == 0:
        return x.select(axis, int(idx))
    return torch.index_select(x, axis, idx.reshape(-1)).reshape(
        *x.shape[:axis], *idx.shape, *x.shape[axis + 1 :])


def _unsqueeze(x, axes):
    out = x
    for a in sorted(int(v) % (x.dim() + len(axes)) for v in axes):
        out = out.unsqueeze(a)
    return out


def _constant_of_shape(shape, *, value=None):
    fill = _tensor(value) if value is not None else torch.zeros(1)
    return torch.full([int(d) for d in shape], fill.reshape(-1)[0].item(), dtype=fill.dtype)


def _pad(x, pads, value=None, axes=None, *, mode="constant"):
    if mode != "constant" or axes is not None:
        raise UnsupportedModel(f"Pad with mode {mode!r} / axes is not supported")
    p = [int(v) for v in pads]
    n = x.dim()
    torch_pads = []
    for d in reversed(range(n)):  # F.pad wants (last_begin, last_end, ..., first_begin, first_end)
        torch_pads += [p[d], p[d + n]]
    fill = 0.0 if value is None or value.numel() == 0 else float(value.reshape(-1)[0])
    return F.pad(x, torch_pads, value=fill)


def _slice(x, starts, ends, axes=None, steps=None):
    axes = [int(a) % x.dim() for a in axes] if axes is not None else list(range(len(starts)))
    steps = [int(s) for s in steps] if steps is not None else [1] * len(axes)
    idx = [slice(None)] * x.dim()
    for a, b, e, st in zip(axes, starts, ends, steps):
        if st <= 0:
            raise UnsupportedModel("Slice with a non-positive step is not supported")
        size = x.shape[a]
        b, e = int(b), int(e)
        b = max(0, min(size, b + size if b < 0 else b))
        e = max(0, min(size, e + size if e < 0 else e))
        idx[a] = slice(b, e, st)
    return x[tuple(idx)]


def _expand(x, shape):
    target = [int(d) for d in shape]
    # ONNX Expand broadcasts both ways (a 1 in `shape` keeps x's size)
    out_shape = torch.broadcast_shapes(tuple(x.shape), tuple(target))
    return x.expand(out_shape)


OPS = {
    "Conv": _conv,
    "Relu": lambda x: torch.relu(x),
    "MaxPool": _maxpool,
    "Flatten": _flatten,
    "Gemm": _gemm,
    "Add": lambda a, b: a + b,
    "Sub": lambda a, b: a - b,
    "Mul": lambda a, b: a * b,
    "Div": lambda a, b: a / b if a.is_floating_point() else torch.div(a, b, rounding_mode="trunc"),
    "MatMul": lambda a, b: torch.matmul(a, b),
    "GlobalAveragePool": lambda x: x.mean(dim=(2, 3), keepdim=True),
    "Shape": lambda x: torch.tensor(list(x.shape), dtype=torch.int64),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Concat": lambda *xs, axis: torch.cat(xs, dim=axis),
    "Reshape": _reshape,
    "Transpose": lambda x, perm=None: x.permute(*(perm or reversed(range(x.dim())))),
    "ConstantOfShape": _constant_of_shape,
    "Equal": lambda a, b: a == b,
    "Where": lambda c, a, b: torch.where(c, a, b),
    "Expand": _expand,
    "LayerNormalization": _layernorm,
    "Softmax": _softmax,
    "Erf": lambda x: torch.erf(x),
    "Cast": lambda x, to: x.to(_DTYPES[to]),
    "Identity": lambda x: x,
    "Pad": _pad,
    "Slice": _slice,
    "Sigmoid": lambda x: torch.sigmoid(x),
    "Tanh": lambda x: torch.tanh(x),
}


class OnnxModule(torch.nn.Module):
    """`OnnxModule(path)(x)`: x float32 [N,1,28,28] in [0,1] -> the graph's first output (logits
    [N,10] for the shipped models), differentiable in x. Initialisers are upcast to float32 (what
    onnxruntime computes with for a float32 graph). Raises UnsupportedModel naming any op it lacks."""

    def __init__(self, path: str):
        super().__init__()
        import onnx

        model = onnx.load(path)
        opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        if opset < 13:
            raise UnsupportedModel(f"{path}: opset {opset}; this interpreter follows opset 13 and later")
        g = model.graph
        self.path = path
        self.consts = {i.name: _tensor(i) for i in g.initializer}
        for k, v in self.consts.items():
            if v.is_floating_point():
                self.consts[k] = v.float()
        init_names = set(self.consts)
        self.inputs = [i.name for i in g.input if i.name not in init_names]
        self.outputs = [o.name for o in g.output]
        missing = sorted({n.op_type for n in g.node if n.op_type not in OPS and n.op_type != "Constant"})
        if missing:
            raise UnsupportedModel(f"{path}: ops not supported by training/onnx_torch.py: {', '.join(missing)}")
        self.nodes = []
        for n in g.node:
            a = _attrs(n)
            if n.op_type == "Constant":
                if [x.name for x in n.attribute] != ["value"]:
                    raise UnsupportedModel(f"{path}: Constant {n.name!r} uses {[x.name for x in n.attribute]}, not 'value'")
                self.consts[n.output[0]] = _tensor(n.attribute[0].t)
                continue
            self.nodes.append((n.op_type, list(n.input), list(n.output), a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        env = dict(self.consts)
        env[self.inputs[0]] = x
        for op, ins, outs, attrs in self.nodes:
            args = [env[i] if i else None for i in ins]
            while args and args[-1] is None:
                args.pop()
            if op == "Unsqueeze":
                y = _unsqueeze(args[0], [int(v) for v in args[1]])
            else:
                y = OPS[op](*args, **attrs)
            env[outs[0]] = y
        return env[self.outputs[0]]

    def check(self, golden_path: str, x_test_u8: torch.Tensor, tolerance: float = 1e-4) -> float:
        """Max |logit difference| against golden logits (`test/golden/logits/<id>.json`: the
        `test_indices` and PyTorch `logits` written at export); raises ValueError above tolerance."""
        from .export import golden_logit_diff

        diff = golden_logit_diff(self, golden_path, x_test_u8)
        if diff > tolerance:
            raise ValueError(f"{self.path}: interpreted logits are {diff:.2e} away from {golden_path} "
                             f"(tolerance {tolerance:g})")
        return diff
