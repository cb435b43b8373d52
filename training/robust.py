"""White-box L-inf PGD-20 robust accuracy (eps 0.1, random start) of trained weight sets, in PyTorch
on the same fp32 weights that were exported. Writes `training/records/<id>.robust.json`."""
import json
import os
import time

import torch

from . import adversary, data, paths
from .train import load_final

EPS, STEPS, SEED = 0.1, 20, 0
STEP_SIZE = 2.5 * EPS / STEPS


def robust_accuracy(model, x_u8, y, batch=250, seed=SEED):
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    clean_ok = robust_ok = 0
    for i in range(0, len(y), batch):
        xb, yb = data.to_input(x_u8[i : i + batch]), y[i : i + batch]
        with torch.no_grad():
            clean_ok += (model(xb).argmax(1) == yb).sum().item()
        adv = adversary.pgd_linf(model, xb, yb, EPS, STEPS, STEP_SIZE, random_start=True, generator=gen)
        assert (adv - xb).abs().max() <= EPS + 1e-6 and adv.min() >= 0 and adv.max() <= 1
        with torch.no_grad():
            robust_ok += (model(adv).argmax(1) == yb).sum().item()
    return clean_ok / len(y), robust_ok / len(y)


def main(ids, n=1000, data_dir=data.DEFAULT_DIR, threads=None):
    if threads:
        torch.set_num_threads(threads)
    x_test, y_test = data.load_split("test", data_dir)
    x, y = x_test[:n], y_test[:n]
    for model_id in ids:
        t0 = time.time()
        model = load_final(model_id, torch.device("cpu"))
        clean, robust = robust_accuracy(model, x, y)
        rec = dict(attack="PGD", norm="linf", eps=EPS, steps=STEPS, step_size=STEP_SIZE, random_start=True,
                   loss="cross-entropy", n=n, images="first n test images", seed=SEED,
                   clean_accuracy_subset=clean, robust_accuracy=robust, torch_version=torch.__version__,
                   wall_time_s=round(time.time() - t0, 1))
        os.makedirs(paths.RECORDS_DIR, exist_ok=True)
        with open(os.path.join(paths.RECORDS_DIR, f"{model_id}.robust.json"), "w") as f:
            json.dump(rec, f, indent=2)
        print(f"[{model_id}] PGD-20 eps 0.1 on {n} images: clean {clean:.3f} robust {robust:.3f} "
              f"({rec['wall_time_s']} s)", flush=True)
