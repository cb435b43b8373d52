"""ONNX export (input `input` float32 [N,1,28,28], output `logits` [N,10], dynamic N) and golden logits."""
import hashlib
import json
import os

import torch

from . import data, models, paths

GOLDEN_INDICES = list(range(16))
OPSET = 17


def exportable(model: torch.nn.Module, arch: str) -> torch.nn.Module:
    model = model.cpu().eval()
    return models.specialise_resnet18_for_28(model) if arch == "resnet18" else model


def export(model: torch.nn.Module, arch: str, path: str) -> dict:
    net = exportable(model, arch)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    dummy = torch.zeros(2, 1, 28, 28)
    tmp = path + ".tmp"
    torch.onnx.export(net, dummy, tmp, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, opset_version=OPSET,
                      do_constant_folding=True)
    extra = {}
    if arch == "resnet18":
        import onnx

        from .onnx_im2col import MAX_OUTPUT_PIXELS, im2col_convs

        rewritten, convs = im2col_convs(onnx.load(tmp), MAX_OUTPUT_PIXELS)
        onnx.save(rewritten, tmp)
        extra = dict(im2col=dict(convs=convs, max_output_pixels=MAX_OUTPUT_PIXELS, by="training/onnx_im2col.py"))
    os.replace(tmp, path)
    return dict(file=os.path.basename(path), bytes=os.path.getsize(path), sha256=sha256_file(path),
                opset=OPSET, param_count_exported=models.param_count(net),
                specialised_to_28x28=arch == "resnet18", **extra)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_golden_logits(model: torch.nn.Module, model_id: str, x_test_u8: torch.Tensor) -> str:
    """Logits PyTorch computes (unspecialised graph, the same fp32 weights) for 16 fixed test images."""
    model = model.cpu().eval()
    x = data.to_input(x_test_u8[GOLDEN_INDICES])
    with torch.no_grad():
        logits = model(x)
    os.makedirs(os.path.join(paths.GOLDEN_DIR, "logits"), exist_ok=True)
    out = os.path.join(paths.GOLDEN_DIR, "logits", f"{model_id}.json")
    with open(out, "w") as f:
        json.dump(dict(model=model_id, test_indices=GOLDEN_INDICES, torch_version=torch.__version__,
                       logits=[[float(v) for v in row] for row in logits]), f)
    return out


def golden_logit_diff(model, golden_path: str, x_test_u8: torch.Tensor) -> float:
    """Max |logit difference| of `model` (a torch module taking [N,1,28,28] in [0,1]) against the
    golden logits written by write_golden_logits (`test_indices` and PyTorch `logits`)."""
    with open(golden_path) as f:
        golden = json.load(f)
    with torch.no_grad():
        logits = model(data.to_input(x_test_u8[golden["test_indices"]]))
    return (logits - torch.tensor(golden["logits"])).abs().max().item()
