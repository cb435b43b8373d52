"""`python -m training adversarial-set --source <id> [--eps 0.1] [--steps 20] [--n 1000]`: white-box
L-inf PGD (random start, cross-entropy, step 2.5·eps/steps as Madry et al. 2018) computed in
PyTorch on the exact graph and weights of a shipped ONNX file (training/onnx_torch.py), on a fixed,
seeded subset of the test set that is the same for every source. The result is quantised to the
8-bit grid within eps (at most floor(255·eps) gray levels per pixel: 25 for eps 0.1), because that
is what the API transmits, and written as

    public/data/adversarial/pgd-eps0.1-from-<id>.idx.gz   IDX ubyte [n,28,28], gzip without a timestamp
    public/data/adversarial/pgd-eps0.1-from-<id>.json     its card (source sha256, attack, seed, indices,
                                                          the source's accuracy on the set, torch version)
    public/data/adversarial/index.json                    the list of cards (what the page offers)

Labels are not stored: they are the clean test set's at the card's `indices`. The runner and the page
refuse a set whose card names a source sha256 other than the shipped file's.
"""
import gzip
import hashlib
import json
import os
import struct
import time

import numpy as np
import torch

from . import adversary, data, paths
from .export import sha256_file
from .onnx_torch import OnnxModule

OUT_DIR = os.path.join(paths.ROOT, "public", "data", "adversarial")
SHIPPED = ["0", "0_1", "0_2", "2", "2_1", "2_2", "5", "5_1", "5_2"]
FORMAT = 1


def subset_indices(n: int, seed: int, population: int = 10_000) -> list[int]:
    """n distinct test-set indices, sorted: numpy's PCG64 `choice` without replacement under `seed`
    (sorted, so an experiment's `images.count` takes the lowest-index part of the sample)."""
    if not 1 <= n <= population:
        raise SystemExit(f"--n must be between 1 and {population}, got {n}")
    return sorted(int(i) for i in np.random.default_rng(seed).choice(population, n, replace=False))


def quantise_linf(x_adv: torch.Tensor, x_u8: torch.Tensor, eps: float) -> torch.Tensor:
    """float [N,1,28,28] in [0,1] -> uint8 [N,28,28], rounded to the nearest gray level and clipped
    to at most floor(255·eps) levels from the clean uint8 image x_u8 [N,28,28] (so within eps)."""
    levels = int(np.floor(255 * eps + 1e-9))
    q = torch.round(x_adv.squeeze(1) * 255).to(torch.int32)
    c = x_u8.to(torch.int32)
    return torch.minimum(torch.maximum(q, c - levels), c + levels).clamp(0, 255).to(torch.uint8)


def write_idx_gz(path: str, images_u8: np.ndarray) -> None:
    """IDX unsigned-byte file (magic 0x00000803, dims big-endian), gzip with mtime 0 (reproducible bytes)."""
    n, h, w = images_u8.shape
    raw = struct.pack(">IIII", 0x803, n, h, w) + np.ascontiguousarray(images_u8, dtype=np.uint8).tobytes()
    tmp = path + ".tmp"
    with open(tmp, "wb") as f, gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw)
    os.replace(tmp, path)


DEFAULTS = dict(steps=20, n=1000, seed=0)


def set_name(source: str, eps: float, steps: int = 20, n: int = 1000, seed: int = 0) -> str:
    """`pgd-eps0.1-from-0` for the default recipe; other steps/n/seed are part of the name
    (`pgd-eps0.1-from-0-steps2-n16`), so a trial run never overwrites a committed set."""
    extra = "".join(f"-{k}{v}" for k, v in dict(steps=steps, n=n, seed=seed).items() if v != DEFAULTS[k])
    return f"pgd-eps{eps:g}-from-{source}{extra}"


def _accuracy(model, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> float:
    ok = 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            ok += (model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item()
    return ok / len(y)


def make_set(source: str, eps: float = 0.1, steps: int = 20, n: int = 1000, seed: int = 0,
             out_dir: str = OUT_DIR, models_dir: str = paths.MODELS_DIR, data_dir: str = data.DEFAULT_DIR,
             batch: int = 250) -> dict:
    """Crafts one set and writes it with its card; returns the card."""
    manifest_path = os.path.join(models_dir, "manifest.json")
    if not os.path.exists(manifest_path):
        raise SystemExit(f"{manifest_path} not found: --models-dir must hold the shipped manifest.json and ONNX files")
    with open(manifest_path) as f:
        manifest = json.load(f)
    weights = manifest["weights"]
    if source not in weights:
        raise SystemExit(f"unknown source {source!r}; the shipped weight sets are {', '.join(weights)}")
    if not 0 < eps <= 1:
        raise SystemExit(f"--eps must be in (0, 1], got {eps}")
    if steps < 1:
        raise SystemExit(f"--steps must be at least 1, got {steps}")
    onnx_path = os.path.join(models_dir, weights[source]["file"])
    sha = sha256_file(onnx_path)
    if sha != weights[source]["sha256"]:
        raise SystemExit(f"{onnx_path} has sha256 {sha}, but the manifest says {weights[source]['sha256']}")
    t0 = time.time()
    model = OnnxModule(onnx_path).eval()
    x_test, y_test = data.load_split("test", data_dir)
    golden = os.path.join(paths.GOLDEN_DIR, "logits", f"{source}.json")
    parity = model.check(golden, x_test) if os.path.exists(golden) else None

    indices = subset_indices(n, seed)
    x_u8, y = x_test[indices], y_test[indices]
    x = data.to_input(x_u8)
    step_size = 2.5 * eps / steps
    gen = torch.Generator().manual_seed(seed)
    adv = torch.empty_like(x)
    for i in range(0, n, batch):
        adv[i : i + batch] = adversary.pgd_linf(model, x[i : i + batch], y[i : i + batch], eps, steps, step_size,
                                                random_start=True, generator=gen)
    q = quantise_linf(adv, x_u8, eps)
    max_levels = int((q.to(torch.int32) - x_u8.to(torch.int32)).abs().max())
    acc = dict(
        clean=_accuracy(model, x, y),
        adversarial_float=_accuracy(model, adv, y),
        adversarial=_accuracy(model, data.to_input(q), y),
    )

    os.makedirs(out_dir, exist_ok=True)
    name = set_name(source, eps, steps, n, seed)
    images_file = f"{name}.idx.gz"
    write_idx_gz(os.path.join(out_dir, images_file), q.numpy())
    with open(os.path.join(out_dir, images_file), "rb") as f:
        images_sha = hashlib.sha256(f.read()).hexdigest()
    card = dict(
        format=FORMAT,
        name=name,
        description=f"L-inf PGD-{steps} (eps {eps:g}) crafted white-box on model {source}, quantised to 8 bits",
        images_file=images_file,
        images_sha256=images_sha,
        count=n,
        source=dict(model=source, file=weights[source]["file"], sha256=sha,
                    golden_logit_max_abs_diff=parity),
        attack=dict(name="PGD", norm="linf", eps=eps, steps=steps, step_size=step_size, random_start=True,
                    loss="cross-entropy", reference="Madry et al. 2018; training/adversary.py pgd_linf",
                    computed_on="the shipped ONNX graph, interpreted in PyTorch (training/onnx_torch.py)"),
        quantisation=dict(grid="8-bit", max_gray_levels=int(np.floor(255 * eps + 1e-9)),
                          max_gray_levels_measured=max_levels),
        seed=seed,
        subset=dict(population="Fashion-MNIST t10k", rule="numpy.random.default_rng(seed).choice(10000, n, "
                    "replace=False), sorted", indices=indices),
        labels="the clean test set's labels at `subset.indices`",
        source_accuracy=acc,
        torch_version=torch.__version__,
        command=f"python -m training adversarial-set --source {source} --eps {eps:g} --steps {steps} --n {n} "
                f"--seed {seed}",
        wall_time_s=round(time.time() - t0, 1),
    )
    with open(os.path.join(out_dir, f"{name}.json"), "w") as f:
        json.dump(card, f, indent=1)
        f.write("\n")
    write_index(out_dir)
    print(f"[{source}] wrote {os.path.join(out_dir, images_file)} and its card", flush=True)
    print(f"[{source}] {name}: source accuracy clean {acc['clean']:.3f} -> PGD {acc['adversarial_float']:.3f} "
          f"-> 8-bit {acc['adversarial']:.3f}; max {max_levels} gray levels ({card['wall_time_s']} s)", flush=True)
    return card


def write_index(out_dir: str = OUT_DIR) -> None:
    """index.json: a summary line per card in out_dir, sorted by name (what the page lists)."""
    sets = []
    for fn in sorted(os.listdir(out_dir)):
        if not fn.endswith(".json") or fn == "index.json":
            continue
        with open(os.path.join(out_dir, fn)) as f:
            c = json.load(f)
        sets.append(dict(name=c["name"], card=fn, images_file=c["images_file"], count=c["count"],
                         source=c["source"]["model"], source_sha256=c["source"]["sha256"],
                         eps=c["attack"]["eps"], steps=c["attack"]["steps"],
                         source_accuracy=c["source_accuracy"]["adversarial"]))
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump(dict(format=FORMAT, sets=sets), f, indent=1)
        f.write("\n")


def main(sources: list[str], eps: float, steps: int, n: int, seed: int, out_dir: str, models_dir: str,
         data_dir: str, threads: int | None) -> None:
    if threads:
        torch.set_num_threads(threads)
    for s in SHIPPED if sources == ["all"] else list(dict.fromkeys(sources)):
        make_set(s, eps=eps, steps=steps, n=n, seed=seed, out_dir=out_dir, models_dir=models_dir,
                 data_dir=data_dir)
