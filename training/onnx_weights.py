"""`python -m training weights-from-onnx --id 5_pre --onnx FILE --golden FILE.json`: recover trained
weights from a shipped float32 ONNX file into `training/checkpoints/<id>.final.pt`, so that a weight
set trained from them (a `_1`/`_2` retraining, a later stage, a probe) can start without retraining
them. Checkpoints are not committed; the ONNX files are.

The exporter keeps state-dict names for most initialisers but stores each nn.Linear weight used by a
MatMul transposed under a generated name (`onnx::MatMul_N`), in graph order. This maps them back by
order and shape, then proves the mapping: PyTorch logits of the recovered model must reproduce the
golden logits written when the file was exported (test/golden/logits/<id>.json) within 1e-5.
Refuses float16-stored or specialised (ResNet18) exports: their weights are not the trained ones."""
import json
import os

import torch

from . import data, models, paths
from .export import golden_logit_diff, sha256_file
from .recipes import RECIPES
from .train import write_record

TOLERANCE = 1e-5


def weights_from_onnx(model_id: str, onnx_path: str, golden_path: str, record_from: str | None = None,
                      data_dir: str = data.DEFAULT_DIR) -> dict:
    import onnx
    from onnx import numpy_helper

    if model_id not in RECIPES:
        raise SystemExit(f"unknown weight set {model_id!r}; ids: {', '.join(RECIPES)}")
    arch = RECIPES[model_id]["arch"]
    if arch == "resnet18":
        raise SystemExit("ResNet18 exports are specialised to 28x28 and stored as float16: their initialisers "
                         "are not the trained weights")
    graph = onnx.load(onnx_path).graph
    inits = [(i.name, numpy_helper.to_array(i)) for i in graph.initializer]
    if any(a.dtype != "float32" for _, a in inits if a.dtype.kind == "f"):
        raise SystemExit(f"{onnx_path} stores non-float32 weights; recovering them would not give the trained ones")
    model = models.build(arch)
    sd = model.state_dict()
    by_name = dict(inits)
    renamed = [(n, a) for n, a in inits if n not in sd and n.startswith("onnx::MatMul")]
    missing = [k for k in sd if k not in by_name]
    if len(missing) != len(renamed):
        raise SystemExit(f"{onnx_path}: {len(missing)} state-dict tensors are not named in the graph but "
                         f"{len(renamed)} MatMul initialisers are unnamed; is this a {arch} export?")
    new_sd = {}
    for k, v in sd.items():
        if k in by_name:
            a = torch.from_numpy(by_name[k].copy())
            if a.shape != v.shape:
                raise SystemExit(f"{k}: ONNX shape {tuple(a.shape)} != model shape {tuple(v.shape)}")
            new_sd[k] = a
    for k, (n, a) in zip(missing, renamed):
        t = torch.from_numpy(a.copy()).T.contiguous()
        if t.shape != sd[k].shape:
            raise SystemExit(f"{k} <- {n}: transposed shape {tuple(t.shape)} != {tuple(sd[k].shape)}")
        new_sd[k] = t
    model.load_state_dict(new_sd)
    model.eval()

    x_test, _ = data.load_split("test", data_dir)
    diff = golden_logit_diff(model, golden_path, x_test)
    if diff > TOLERANCE:
        raise SystemExit(f"recovered weights give logits {diff:.2e} away from {golden_path} "
                         f"(tolerance {TOLERANCE:g}): the mapping is wrong or the files do not belong together")
    os.makedirs(paths.CKPT_DIR, exist_ok=True)
    torch.save(model.state_dict(), paths.final_weights(model_id))
    sha = sha256_file(onnx_path)
    print(f"[{model_id}] recovered {len(new_sd)} tensors from {onnx_path} (sha256 {sha[:12]}…); golden logits "
          f"reproduced within {diff:.1e}; wrote {paths.final_weights(model_id)}", flush=True)
    restored = dict(onnx_file=os.path.basename(onnx_path), onnx_sha256=sha, golden_max_abs_diff=diff)
    if record_from:
        # the record of the run that produced the file, under the new id (e.g. 5 -> 5_pre)
        with open(record_from) as f:
            rec = json.load(f)
        rec.pop("export", None)
        rec["id"] = model_id
        rec["weights_restored_from"] = restored
        write_record(model_id, rec)
        print(f"[{model_id}] wrote training/records/{model_id}.json from {record_from}", flush=True)
    return restored

