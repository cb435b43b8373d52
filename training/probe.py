"""`python -m training probe --id 5 --epochs 6 --lr 5e-4 --no-augment`: continue a trained weight set
for more epochs and print the full test-set accuracy after each one, to measure whether more training
would reach a target before spending a session on it. Nothing is shipped: no ONNX, no checkpoint; the
per-epoch figures go to `training/records/probes/<id>-<tag>.json`.

AdamW (wd 0.05 unless --weight-decay), cosine decay from lr to 0, batch 128, dropout as in training;
batches in a fixed order for the seed. Not resumable (a probe is short; rerun it).

`--pgd-fraction F` replaces the first round(F*128) images of every batch by PGD-7 examples (the `_1`
attack: eps 0.1, step 2.5*eps/7, random start, model in eval mode while crafting). SPEC §3's `_1`
recipe is F = 1; a smaller F measures what a mixed clean/adversarial recipe would give. `--robust N`
adds the white-box PGD-20 robust accuracy on the first N test images at the end (as
`python -m training robust`)."""
import json
import math
import os
import time

import torch
import torch.nn.functional as F

from . import adversary, data, paths
from .export import sha256_file
from .recipes import EPS, PGD_STEPS, RECIPES, SHIFT_FLIP
from .train import device_name, evaluate, fmt_s, load_final


def probe(model_id: str, epochs: int, lr: float, augment: bool, seed: int = 0, threads: int | None = None,
          data_dir: str = data.DEFAULT_DIR, weight_decay: float = 0.05, pgd_fraction: float = 0.0,
          robust_n: int = 0) -> dict:
    bs = 128
    n_adv = round(pgd_fraction * bs)
    if epochs < 1:
        raise SystemExit(f"--epochs must be at least 1, got {epochs}")
    if not lr > 0 or not math.isfinite(lr):
        raise SystemExit(f"--lr must be a positive number, got {lr}")
    if not 0.0 <= pgd_fraction <= 1.0:  # also refuses NaN
        raise SystemExit(f"--pgd-fraction must be between 0 and 1, got {pgd_fraction}")
    if pgd_fraction > 0 and n_adv == 0:
        raise SystemExit(f"--pgd-fraction {pgd_fraction} replaces no image of a batch of {bs} "
                         f"(one image per batch is {1 / bs:g})")
    if not 0.0 <= weight_decay < math.inf:
        raise SystemExit(f"--weight-decay must be a number >= 0, got {weight_decay}")
    if robust_n < 0:
        raise SystemExit(f"--robust must be >= 0 (number of test images), got {robust_n}")
    if model_id not in RECIPES:
        raise SystemExit(f"unknown weight set {model_id!r}; trained ids: {', '.join(RECIPES)}")
    if not os.path.exists(paths.final_weights(model_id)):
        raise SystemExit(f"no trained weights for {model_id} ({paths.final_weights(model_id)}): "
                         f"run `npm run train -- --id {model_id}` first")
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    dev = torch.device(device_name())  # CUDA when present, as in training
    x_train, y_train = data.load_split("train", data_dir)
    x_test, y_test = data.load_split("test", data_dir)
    if robust_n > len(y_test):
        raise SystemExit(f"--robust {robust_n} is more than the {len(y_test)} test images")
    model = load_final(model_id, dev)
    start = evaluate(model, x_test, y_test, dev)
    print(f"[probe {model_id}] start: test accuracy {start:.4f}", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    pgd = dict(eps=EPS, steps=PGD_STEPS, step_size=2.5 * EPS / PGD_STEPS, random_start=True)
    steps_per_epoch = math.ceil(len(y_train) / bs)
    total = steps_per_epoch * epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    gen = torch.Generator().manual_seed(seed + 7)
    t0 = time.time()
    per_epoch = []
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(seed * 1000 + 5000 + ep))
        for i in range(steps_per_epoch):
            idx = perm[i * bs : (i + 1) * bs]
            xb = data.to_input(x_train[idx]).to(dev)
            if augment:
                xb = adversary.shift_flip(xb, gen, pad=SHIFT_FLIP["max_shift_px"], p_flip=SHIFT_FLIP["p_hflip"])
            yb = y_train[idx].to(dev)
            if n_adv:
                k = min(n_adv, len(yb))
                adv = adversary.pgd_linf(model, xb[:k], yb[:k], pgd["eps"], pgd["steps"], pgd["step_size"],
                                         random_start=True, generator=gen)
                xb = torch.cat([adv, xb[k:]])
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            done = ep * steps_per_epoch + i + 1
            if done % 50 == 0:  # a PGD probe epoch takes half an hour on a CPU: say where it is
                run_s = time.time() - t0
                print(f"[probe {model_id}] epoch {ep + 1}/{epochs} batch {i + 1}/{steps_per_epoch} "
                      f"loss {loss.item():.4f} elapsed {fmt_s(run_s)} eta {fmt_s(run_s / done * (total - done))}",
                      flush=True)
        acc = evaluate(model, x_test, y_test, dev)
        per_epoch.append(acc)
        print(f"[probe {model_id}] epoch {ep + 1}/{epochs} test accuracy {acc:.4f} "
              f"elapsed {fmt_s(time.time() - t0)}", flush=True)
    robust = None
    if robust_n:
        from .robust import EPS as R_EPS, STEP_SIZE as R_STEP, STEPS as R_STEPS, robust_accuracy

        t1 = time.time()
        clean_sub, rob = robust_accuracy(model.cpu(), x_test[:robust_n], y_test[:robust_n])
        robust = dict(attack="PGD", norm="linf", eps=R_EPS, steps=R_STEPS, step_size=R_STEP, random_start=True,
                      n=robust_n, images="first n test images", clean_accuracy_subset=clean_sub,
                      robust_accuracy=rob, wall_time_s=round(time.time() - t1, 1))
        print(f"[probe {model_id}] PGD-20 eps {R_EPS} on {robust_n} images: clean {clean_sub:.3f} "
              f"robust {rob:.3f}", flush=True)
    tag = f"{'aug' if augment else 'noaug'}-{epochs}ep-lr{lr:g}"
    if weight_decay != 0.05:
        tag += f"-wd{weight_decay:g}"
    if pgd_fraction:
        tag += f"-pgd{pgd_fraction:g}"
    shipped = paths.record(model_id)
    onnx_sha = json.load(open(shipped))["export"]["sha256"] if os.path.exists(shipped) else None
    rec = dict(id=model_id, from_weights_sha256=sha256_file(paths.final_weights(model_id)),
               shipped_onnx_sha256=onnx_sha,
               epochs=epochs, lr=lr, schedule="cosine decay to 0", optimizer="AdamW", weight_decay=weight_decay,
               batch_size=bs, augmentation=SHIFT_FLIP if augment else None, seed=seed,
               pgd_fraction=pgd_fraction, pgd=dict(pgd, images_per_batch=n_adv) if n_adv else None,
               robust=robust,
               device=dev.type, cpu_threads=torch.get_num_threads(), torch_version=torch.__version__,
               start_test_accuracy=start, test_accuracy_per_epoch=per_epoch,
               wall_time_s=round(time.time() - t0, 1), n_test=len(y_test))
    out = os.path.join(paths.RECORDS_DIR, "probes", f"{model_id}-{tag}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(rec, f, indent=2)
    print(f"[probe {model_id}] wrote {out}", flush=True)
    return rec

