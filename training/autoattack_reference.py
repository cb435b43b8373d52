"""The official AutoAttack (fra31/auto-attack; Croce & Hein, ICML 2020) on the shipped ONNX graphs,
as a tool that checks the product's own AutoAttack: test/golden/autoattack-reference.json.

The official code is never part of the product. Point --autoattack-src at a checkout of
fra31/auto-attack (the folder that holds `autoattack/`); it runs on Debian's PyTorch on the CPU.
The models are the shipped files' own graphs and weights (training/onnx_torch.py), the images the
first N of the test set, the version `standard` at L-inf.

eps: the product rounds every image to the 8-bit grid inside the ball, so at eps 0.1 its largest
change is 25/255 (0.098). The reference runs at 25/255 by default, so that both search the same
set of images and a difference is the attacks' strength, not the grid.

Per stage: robust accuracy after each attack as autoattack.py logs it ("robust accuracy after
APGD-CE: ..."); per image: robust or not after the last stage (return_labels).
"""
import json
import os
import re
import sys
import time

import torch

from . import data, paths
from .onnx_torch import OnnxModule

OUT = os.path.join(paths.ROOT, "test", "golden", "autoattack-reference.json")


class _Capture:
    """AutoAttack's logger interface (other_utils.Logger.log), keeping the lines."""

    def __init__(self):
        self.lines = []

    def log(self, s):
        print(s, flush=True)
        self.lines.append(s)


def _commit(src):
    head = os.path.join(src, ".git")
    try:
        import subprocess

        return subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except Exception:  # a plain copy without git
        return None if not os.path.exists(head) else "unknown"


def write_autoattack_reference(src, n=200, weights=("0_1", "2_1", "5_1"), eps=25 / 255, seed=0,
                               data_dir=data.DEFAULT_DIR, out=OUT, bs=200):
    sys.path.insert(0, os.path.abspath(src))
    from autoattack import AutoAttack  # noqa: E402  (the official code, from --autoattack-src)

    x_test, y_test = data.load_split("test", data_dir)
    x, y = data.to_input(x_test[:n]), y_test[:n].long()
    result = {"code": "fra31/auto-attack", "commit": _commit(src), "version": "standard", "norm": "Linf",
              "eps": eps, "seed": seed, "n": n, "images": f"first {n} test images",
              "models": "the shipped ONNX files through training/onnx_torch.py", "torch": torch.__version__,
              "threads": torch.get_num_threads(), "by_model": {}}
    if os.path.exists(out):
        with open(out) as f:
            old = json.load(f)
        if all(old.get(k) == result[k] for k in ("version", "norm", "eps", "seed", "n")):
            result["by_model"] = old.get("by_model", {})
    for w in weights:
        if w in result["by_model"]:
            print(f"{w}: already in {out}")
            continue
        model = OnnxModule(os.path.join(paths.MODELS_DIR, f"{w}.onnx")).eval()
        adversary = AutoAttack(model, norm="Linf", eps=eps, version="standard", device="cpu", seed=seed)
        capture = _Capture()
        adversary.logger = capture
        for a in (adversary.apgd, adversary.apgd_targeted, adversary.fab, adversary.square):
            a.logger = capture
        t0 = time.time()
        _, y_adv = adversary.run_standard_evaluation(x, y, bs=bs, return_labels=True)
        stages = {}
        for line in capture.lines:
            m = re.match(r"robust accuracy after ([A-Z0-9-]+): ([0-9.]+)%", line)
            if m:
                stages[m.group(1).lower()] = float(m.group(2)) / 100
        clean = next(float(m.group(1)) / 100 for m in (re.match(r"initial accuracy: ([0-9.]+)%", s)
                                                         for s in capture.lines) if m)
        robust = (y_adv == y).tolist()
        result["by_model"][w] = {"clean_accuracy": clean, "stages": stages,
                                 "robust_accuracy": sum(robust) / n,
                                 "robust": [int(r) for r in robust], "seconds": round(time.time() - t0, 1)}
        print(w, result["by_model"][w]["stages"], f"{time.time() - t0:.0f} s", flush=True)
        # written after every model: a long run keeps what it has
        with open(out, "w") as f:
            json.dump(result, f, indent=1)
    return result
