"""Golden input gradients for the reverse pass (test/golden/gradients/<weights>.json).

PyTorch autograd through `training/onnx_torch.py` (the shipped file's own graph and weights) on the
first N test images, for the losses of src/gradients/losses.ts. Loss definitions as in Croce & Hein,
"Reliable evaluation of adversarial robustness with an ensemble of diverse parameter-free attacks"
(ICML 2020) and their reference code (fra31/auto-attack, autoattack/autopgd_base.py: dlr_loss,
dlr_loss_targeted); the margin loss is max_{j != y} z_j - z_y (Carlini & Wagner 2017, maximised).

Encoding: float32 arrays as base64 of little-endian bytes (as golden.py).
"""
import base64
import json
import os

import numpy as np
import torch

from . import data, paths
from .onnx_torch import OnnxModule

WEIGHTS = ["0", "0_1", "0_2", "2", "2_1", "2_2", "5", "5_1", "5_2"]
OUT_DIR = os.path.join(paths.ROOT, "test", "golden", "gradients")


def _f32(t: torch.Tensor) -> str:
    return base64.b64encode(np.ascontiguousarray(t.detach().numpy().astype("<f4")).tobytes()).decode("ascii")


def ce_loss(z, y, _t):
    return torch.nn.functional.cross_entropy(z, y, reduction="none")


def margin_loss(z, y, _t):
    other = z.clone()
    other[torch.arange(len(y)), y] = -float("inf")
    return other.max(1).values - z[torch.arange(len(y)), y]


def dlr_loss(z, y, _t):
    zs, ind = z.sort(dim=1)
    top_is_y = (ind[:, -1] == y).float()
    u = torch.arange(len(y))
    return -(z[u, y] - zs[:, -2] * top_is_y - zs[:, -1] * (1.0 - top_is_y)) / (zs[:, -1] - zs[:, -3] + 1e-12)


def dlr_targeted_loss(z, y, t):
    zs, _ = z.sort(dim=1)
    u = torch.arange(len(y))
    return -(z[u, y] - z[u, t]) / (zs[:, -1] - 0.5 * (zs[:, -3] + zs[:, -4]) + 1e-12)


LOSSES = {"ce": ce_loss, "margin": margin_loss, "dlr": dlr_loss, "dlr_targeted": dlr_targeted_loss}


def write_gradient_golden(n=20, data_dir=data.DEFAULT_DIR, weights=None):
    os.makedirs(OUT_DIR, exist_ok=True)
    x_test, y_test = data.load_split("test", data_dir)
    x = data.to_input(x_test[:n])
    y = y_test[:n].long()
    # the target of the targeted loss: the highest logit other than y, fixed per model below
    for w in weights or WEIGHTS:
        model = OnnxModule(os.path.join(paths.MODELS_DIR, f"{w}.onnx"))
        with torch.no_grad():
            z = model(x)
        other = z.clone()
        other[torch.arange(n), y] = -float("inf")
        target = other.argmax(1)
        out = {
            "weights": w,
            "images": f"first {n} test images (data.load_split('test'))",
            "labels": y.tolist(),
            "targets": target.tolist(),
            "logits": _f32(z),
            "losses": {},
        }
        for name, fn in LOSSES.items():
            xi = x.clone().requires_grad_(True)
            # the loss in float64, as src/gradients/losses.ts computes it: in float32, 1 - softmax(z)_y
            # cancels for confident images and its rounding would dominate their small gradients
            loss = fn(model(xi).double(), y, target)
            (g,) = torch.autograd.grad(loss.sum(), xi)
            out["losses"][name] = {"loss": [float(v) for v in loss.detach()], "gradient": _f32(g.reshape(n, 784))}
        with open(os.path.join(OUT_DIR, f"{w}.json"), "w") as f:
            json.dump(out, f)
        print(f"wrote {w}.json")


UPLOAD_FIXTURE = os.path.join(paths.ROOT, "test", "fixtures", "custom-models", "upload-ops.onnx")


class _UploadOps(torch.nn.Module):
    """The ops an uploaded model commonly carries that the shipped nine do not: BatchNormalization
    (inference), AveragePool, LeakyReLU, Sigmoid, Tanh."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 6, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(6)
        self.pool = torch.nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        self.conv2 = torch.nn.Conv2d(6, 8, 3, stride=2)
        self.bn2 = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8 * 6 * 6, 10)

    def forward(self, x):
        # BatchNorm after a non-Conv op: the exporter folds a BatchNorm that follows a Conv into it
        x = self.bn1(self.pool(torch.nn.functional.leaky_relu(self.conv1(x), 0.1)))
        x = self.bn2(torch.sigmoid(self.conv2(x)))
        return self.fc(torch.tanh(x.flatten(1) - 0.5))


def write_upload_fixture(n=20, data_dir=data.DEFAULT_DIR):
    """A small model with the upload ops (random weights, seed 0, BatchNorm statistics set away from
    0/1), exported by torch.onnx.export with its own tensor names, and its autograd gradients."""
    torch.manual_seed(0)
    model = _UploadOps()
    for bn in (model.bn1, model.bn2):
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), UPLOAD_FIXTURE, input_names=["pixels"],
                      output_names=["scores"], dynamic_axes={"pixels": {0: "batch"}, "scores": {0: "batch"}},
                      opset_version=13)
    x_test, y_test = data.load_split("test", data_dir)
    x = data.to_input(x_test[:n])
    y = y_test[:n].long()
    with torch.no_grad():
        z = model(x)
    other = z.clone()
    other[torch.arange(n), y] = -float("inf")
    target = other.argmax(1)
    out = {"weights": "upload-ops", "images": f"first {n} test images", "labels": y.tolist(),
           "targets": target.tolist(), "logits": _f32(z), "losses": {}}
    for name, fn in LOSSES.items():
        xi = x.clone().requires_grad_(True)
        loss = fn(model(xi).double(), y, target)
        (g,) = torch.autograd.grad(loss.sum(), xi)
        out["losses"][name] = {"loss": [float(v) for v in loss.detach()], "gradient": _f32(g.reshape(n, 784))}
    with open(os.path.join(OUT_DIR, "upload-ops.json"), "w") as f:
        json.dump(out, f)
    print(f"wrote {UPLOAD_FIXTURE} ({os.path.getsize(UPLOAD_FIXTURE)} bytes) and upload-ops.json")


PGD_REFERENCE = os.path.join(paths.ROOT, "test", "golden", "pgd20.json")


def write_pgd_reference(n=200, weights=("0", "0_1", "2_1", "5_1"), data_dir=data.DEFAULT_DIR):
    """The training code's L-inf PGD-20 (adversary.pgd_linf: eps 0.1, step 2.5*eps/20, random start,
    seed 0) on the shipped files' own graphs (OnnxModule), first N test images: the reference the
    product's PGD is held to (test/unit/attacks/whitebox.test.ts)."""
    from .adversary import pgd_linf
    from .robust import EPS, STEP_SIZE, STEPS

    x_test, y_test = data.load_split("test", data_dir)
    x, y = data.to_input(x_test[:n]), y_test[:n].long()
    out = {"attack": "PGD", "norm": "linf", "eps": EPS, "steps": STEPS, "step_size": STEP_SIZE,
           "random_start": True, "loss": "cross-entropy", "seed": 0, "n": n,
           "images": f"first {n} test images", "code": "training/adversary.py pgd_linf on training/onnx_torch.py",
           "robust_accuracy": {}, "clean_accuracy": {}}
    for w in weights:
        model = OnnxModule(os.path.join(paths.MODELS_DIR, f"{w}.onnx"))
        gen = torch.Generator().manual_seed(0)
        adv = pgd_linf(model, x, y, EPS, STEPS, STEP_SIZE, random_start=True, generator=gen)
        with torch.no_grad():
            out["clean_accuracy"][w] = (model(x).argmax(1) == y).float().mean().item()
            out["robust_accuracy"][w] = (model(adv).argmax(1) == y).float().mean().item()
        print(w, out["clean_accuracy"][w], out["robust_accuracy"][w])
    with open(PGD_REFERENCE, "w") as f:
        json.dump(out, f, indent=2)
