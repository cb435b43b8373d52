"""Training smoke test: a few batches per architecture on a small subset, export, and write the
PyTorch logits for a fixed input so the caller can compare them with onnxruntime-node."""
import json
import os

import torch

from . import data, export, models
from .adversary import augment, pgd_linf


def smoke(out_dir: str, data_dir: str = data.DEFAULT_DIR, steps: int = 3):
    torch.manual_seed(0)
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    os.makedirs(out_dir, exist_ok=True)
    x_u8, y = data.load_split("test", data_dir)  # the small test split is enough for a smoke run
    x_u8, y = x_u8[:256], y[:256]
    probe = data.to_input(x_u8[:8])
    report = {}
    gen = torch.Generator().manual_seed(0)
    for arch in ("cnn", "resnet18", "vit"):
        model = models.build(arch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        losses = []
        for step in range(steps):
            xb, yb = data.to_input(x_u8[step * 64 : (step + 1) * 64]), y[step * 64 : (step + 1) * 64]
            if step == 1:
                xb = augment(xb, gen)
            if step == 2:
                xb = pgd_linf(model, xb, yb, 0.1, 2, 0.05, generator=gen)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        model.eval()
        path = os.path.join(out_dir, f"{arch}.onnx")
        info = export.export(model, arch, path)
        with torch.no_grad():
            logits = model(probe)  # the unspecialised PyTorch model
        report[arch] = dict(onnx=path, losses=losses, logits=logits.tolist(), export=info)
    with open(os.path.join(out_dir, "reference.json"), "w") as f:
        json.dump(dict(input=probe.reshape(8, 784).tolist(), models=report), f)
    print(f"smoke: wrote {out_dir}/reference.json", flush=True)
