"""Train one weight set: `python -m training train --id 0_1`.

Resumable (a checkpoint every 60 s and at each epoch end), deterministic for a seed as far as
PyTorch allows on CPU, with progress lines. On success it exports `public/models/<id>.onnx`, writes
the training record `training/records/<id>.json` and the golden logits `test/golden/logits/<id>.json`.
An intermediate stage (`5_pre`) keeps its weights and record but exports nothing; the weight set
trained from it carries its recipe as `recipe.base_recipe` (nested when there are several stages).
"""
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn.functional as F

from . import adversary, data, export, models, paths
from .recipes import AUGMENT, PGD, RECIPES, SHIFT_FLIP

CKPT_EVERY_S = 60.0


def device_name() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def fmt_s(s: float) -> str:
    s = int(max(s, 0))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def evaluate(model, x_u8, y, device, batch=1000) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            xb = data.to_input(x_u8[i : i + batch]).to(device)
            correct += (model(xb).argmax(1).cpu() == y[i : i + batch]).sum().item()
    return correct / len(y)


def load_final(model_id: str, device) -> torch.nn.Module:
    path = paths.final_weights(model_id)
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    arch = RECIPES[model_id]["arch"]
    m = models.build(arch)
    m.load_state_dict(torch.load(path, map_location="cpu"))
    return m.to(device)


def write_record(model_id: str, record: dict) -> None:
    os.makedirs(paths.RECORDS_DIR, exist_ok=True)
    with open(paths.record(model_id), "w") as f:
        json.dump(record, f, indent=2)


def train(model_id: str, seed: int = 0, data_dir: str = data.DEFAULT_DIR, epochs: int | None = None,
          max_steps: int | None = None, subset: int | None = None, out_dir: str | None = None,
          threads: int | None = None, fresh: bool = False, export_onnx: bool = True) -> dict:
    if model_id not in RECIPES:
        raise SystemExit(f"unknown weight set {model_id!r}; trainable ids: {', '.join(RECIPES)}")
    recipe = dict(RECIPES[model_id])
    if epochs is not None:
        recipe["epochs"] = epochs
    if max_steps is not None:
        recipe["max_steps"] = max_steps
    if threads:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = torch.device(device_name())
    out_dir = out_dir or paths.MODELS_DIR

    base = recipe.get("base")
    if base and not os.path.exists(paths.final_weights(base)):
        print(f"[{model_id}] needs the trained weights of {base}; training {base} first", flush=True)
        train(base, seed=seed, data_dir=data_dir, threads=threads, export_onnx=export_onnx)

    torch.manual_seed(seed)
    x_train, y_train = data.load_split("train", data_dir)
    x_test, y_test = data.load_split("test", data_dir)
    if subset:
        x_train, y_train = x_train[:subset], y_train[:subset]

    model = load_final(base, device) if base else models.build(recipe["arch"]).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr"],
                            weight_decay=recipe.get("weight_decay", 0.0))
    bs = recipe["batch_size"]
    steps_per_epoch = math.ceil(len(y_train) / bs)
    total_steps = steps_per_epoch * recipe["epochs"]
    if recipe.get("max_steps"):
        total_steps = min(total_steps, recipe["max_steps"])
    # cosine decay from lr to 0 over the whole run (a short linear warm-up for models from scratch)
    warmup = 0 if base else min(200, total_steps // 10)

    def lr_at(step):
        if step < warmup:
            return (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1 + math.cos(math.pi * t))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    gen = torch.Generator().manual_seed(seed + 1)  # augmentation / PGD random starts

    ckpt_path = paths.checkpoint(model_id)
    step, elapsed_before = 0, 0.0
    per_epoch = []  # full test-set accuracy after each epoch but the last (the last is test_acc)
    if os.path.exists(ckpt_path) and not fresh:
        ck = torch.load(ckpt_path, map_location="cpu")
        if ck.get("recipe") == recipe and ck.get("seed") == seed and ck.get("subset") == subset:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            sched.load_state_dict(ck["sched"])
            gen.set_state(ck["gen"])
            torch.set_rng_state(ck["torch_rng"])
            step, elapsed_before = ck["step"], ck["elapsed"]
            per_epoch = ck.get("per_epoch", [])
            print(f"[{model_id}] resuming from {ckpt_path} at step {step}/{total_steps}", flush=True)
        else:
            print(f"[{model_id}] ignoring {ckpt_path}: it was made with another recipe/seed", flush=True)

    def save_ckpt():
        tmp = ckpt_path + ".tmp"
        torch.save(dict(model=model.state_dict(), opt=opt.state_dict(), sched=sched.state_dict(),
                        gen=gen.get_state(), torch_rng=torch.get_rng_state(), step=step,
                        elapsed=elapsed_before + time.time() - t0, recipe=recipe, seed=seed,
                        subset=subset, per_epoch=per_epoch), tmp)
        os.replace(tmp, ckpt_path)  # atomic: an interruption never leaves a torn checkpoint

    os.makedirs(os.path.dirname(ckpt_path), exist_ok=True)
    t0 = time.time()
    last_ckpt = t0
    print(f"[{model_id}] {recipe['kind']} {models.ARCH_NAMES[recipe['arch']]} on {device}: "
          f"{total_steps} steps of batch {bs} ({recipe['epochs']} epoch(s))", flush=True)
    model.train()
    loss_avg, acc_avg = None, None
    start_step = step
    while step < total_steps:
        epoch, in_epoch = divmod(step, steps_per_epoch)
        # the epoch's order depends only on (seed, epoch): a resumed run sees the same batches
        perm = torch.randperm(len(y_train), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
        idx = perm[in_epoch * bs : (in_epoch + 1) * bs]
        xb = data.to_input(x_train[idx]).to(device)
        yb = y_train[idx].to(device)
        if recipe.get("shift_flip"):
            xb = adversary.shift_flip(xb, gen, pad=SHIFT_FLIP["max_shift_px"], p_flip=SHIFT_FLIP["p_hflip"])
        if recipe["kind"] == "augment":
            xb = adversary.augment(xb, gen, p_blur=AUGMENT["p_blur"], blur_kernel=AUGMENT["blur_kernel"],
                                   sigma_range=tuple(AUGMENT["sigma_range"]), p_noise=AUGMENT["p_noise"],
                                   noise_var=AUGMENT["noise_var"])
        elif recipe["kind"] == "pgd":
            xb = adversary.pgd_linf(model, xb, yb, PGD["eps"], PGD["steps"], PGD["step_size"],
                                    random_start=True, generator=gen)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        acc = (logits.argmax(1) == yb).float().mean().item()
        loss_avg = loss.item() if loss_avg is None else 0.95 * loss_avg + 0.05 * loss.item()
        acc_avg = acc if acc_avg is None else 0.95 * acc_avg + 0.05 * acc
        now = time.time()
        if step % 20 == 0 or step == total_steps or in_epoch + 1 == steps_per_epoch:
            run_s = now - t0
            eta = run_s / max(1, step - start_step) * (total_steps - step)
            print(f"[{model_id}] epoch {epoch + 1}/{recipe['epochs']} batch {in_epoch + 1}/{steps_per_epoch} "
                  f"loss {loss_avg:.4f} acc {acc_avg:.3f} lr {sched.get_last_lr()[0]:.2e} "
                  f"elapsed {fmt_s(elapsed_before + run_s)} eta {fmt_s(eta)}", flush=True)
        if in_epoch + 1 == steps_per_epoch and step < total_steps:
            # uses no random numbers: the run stays the same with or without it
            per_epoch.append(evaluate(model, x_test, y_test, device))
            model.train()
            print(f"[{model_id}] epoch {epoch + 1}: PyTorch test accuracy {per_epoch[-1]:.4f}", flush=True)
        if now - last_ckpt > CKPT_EVERY_S or in_epoch + 1 == steps_per_epoch:
            save_ckpt()
            last_ckpt = now
    save_ckpt()
    wall = elapsed_before + time.time() - t0

    test_acc = evaluate(model, x_test, y_test, device)
    print(f"[{model_id}] done in {fmt_s(wall)}; PyTorch test accuracy {test_acc:.4f}", flush=True)
    model = model.cpu().eval()
    record = dict(
        id=model_id, arch=recipe["arch"], kind=recipe["kind"], base=base,
        recipe=dict(
            optimizer="AdamW" if recipe.get("weight_decay") else "Adam",
            lr=recipe["lr"], weight_decay=recipe.get("weight_decay", 0.0),
            schedule=("linear warm-up %d steps, then " % warmup if warmup else "") + "cosine decay to 0",
            epochs=recipe["epochs"], steps=total_steps, steps_per_epoch=steps_per_epoch,
            batch_size=bs, train_images=len(y_train), seed=seed,
            **({"pgd": PGD} if recipe["kind"] == "pgd" else {}),
            **({"augmentation": AUGMENT} if recipe["kind"] == "augment" else {}),
            **({"light_augmentation": SHIFT_FLIP} if recipe.get("shift_flip") else {}),
            **({"from_weights": base} if base else {}),
        ),
        wall_time_s=round(wall, 1), torch_version=torch.__version__, device=device.type,
        cpu_threads=torch.get_num_threads(), python=platform.python_version(),
        pytorch_test_accuracy=test_acc,
        # only when every epoch is there (a run resumed from a checkpoint older than this field is not)
        **({"pytorch_test_accuracy_per_epoch": per_epoch + [test_acc]}
           if per_epoch and len(per_epoch) == recipe["epochs"] - 1 else {}),
        param_count_trained=models.param_count(model),
    )
    if base and RECIPES[base].get("intermediate") and os.path.exists(paths.record(base)):
        # the shipped card describes both stages: the intermediate weights are not shipped
        with open(paths.record(base)) as f:
            b = json.load(f)
        record["recipe"]["base_recipe"] = dict(
            id=base, **b["recipe"], wall_time_s=b["wall_time_s"], device=b["device"],
            cpu_threads=b["cpu_threads"], pytorch_test_accuracy=b["pytorch_test_accuracy"],
            **({"weights_restored_from": b["weights_restored_from"]} if "weights_restored_from" in b else {}))
    if export_onnx:
        torch.save(model.state_dict(), paths.final_weights(model_id))
        if recipe.get("intermediate"):
            # a training stage of another weight set: keep the weights and the record, ship nothing
            print(f"[{model_id}] saved {paths.final_weights(model_id)} (intermediate stage, not exported)",
                  flush=True)
        else:
            onnx_path = os.path.join(out_dir, f"{model_id}.onnx")
            record["export"] = export.export(model, recipe["arch"], onnx_path)
            export.write_golden_logits(model, model_id, x_test)
            print(f"[{model_id}] exported {onnx_path} ({record['export']['bytes']} bytes)", flush=True)
        write_record(model_id, record)
    return record

