"""Command line: python -m training {train,robust,probe,weights-from-onnx,adversarial-set,im2col,golden-preprocess,golden-gradients,autoattack-reference,smoke} ..."""
import argparse
import sys

from . import data
from .recipes import RECIPES


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)

    t = sub.add_parser("train", help="train (or resume) one weight set and export it")
    # listed from the recipes, so a new stage cannot be missing here
    shipped = " ".join(k for k, r in RECIPES.items() if not r.get("intermediate"))
    stages = " ".join(k for k, r in RECIPES.items() if r.get("intermediate"))
    t.add_argument("--id", required=True, help=f"weight set: {shipped} (or a training-only earlier stage: {stages})")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--data-dir", default=data.DEFAULT_DIR)
    t.add_argument("--epochs", type=int, help="override the recipe's epochs")
    t.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    t.add_argument("--threads", type=int, help="torch CPU threads")
    t.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")

    r = sub.add_parser("robust", help="white-box PGD-20 robust accuracy of trained weight sets")
    r.add_argument("--id", nargs="+", required=True)
    r.add_argument("--n", type=int, default=1000, help="number of test images (first n)")
    r.add_argument("--data-dir", default=data.DEFAULT_DIR)
    r.add_argument("--threads", type=int)

    q = sub.add_parser("probe", help="continue trained weights for N epochs, print test accuracy per epoch "
                                     "(nothing shipped)")
    q.add_argument("--id", required=True)
    q.add_argument("--epochs", type=int, required=True)
    q.add_argument("--lr", type=float, default=5e-4)
    q.add_argument("--no-augment", action="store_true", help="without the ±2 px shifts and flips")
    q.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    q.add_argument("--pgd-fraction", type=float, default=0.0,
                   help="share of each batch replaced by PGD-7 examples (1 = SPEC's _1 recipe)")
    q.add_argument("--robust", type=int, default=0, metavar="N",
                   help="PGD-20 robust accuracy on the first N test images at the end")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--threads", type=int)
    q.add_argument("--data-dir", default=data.DEFAULT_DIR)

    w = sub.add_parser("weights-from-onnx", help="recover trained weights from a shipped float32 ONNX file "
                                                 "(checked against its golden logits)")
    w.add_argument("--id", required=True, help="weight set to store them as")
    w.add_argument("--onnx", required=True)
    w.add_argument("--golden", required=True, help="golden logits written when the file was exported")
    w.add_argument("--record-from", help="training record of the run that produced the file, copied as <id>.json")
    w.add_argument("--data-dir", default=data.DEFAULT_DIR)

    v = sub.add_parser("adversarial-set", help="white-box L-inf PGD test-set images crafted on shipped weight sets "
                                               "(public/data/adversarial/, for transfer attacks)")
    v.add_argument("--source", nargs="+", required=True, help="shipped weight set(s) to craft on, or 'all'")
    v.add_argument("--eps", type=float, default=0.1, help="L-inf radius in [0,1] pixel units (default 0.1)")
    v.add_argument("--steps", type=int, default=20, help="PGD steps, step size 2.5*eps/steps (default 20)")
    v.add_argument("--n", type=int, default=1000,
                   help="test images, a seeded subset, the same for every source (default 1000)")
    v.add_argument("--seed", type=int, default=0, help="subset and random-start seed (default 0)")
    v.add_argument("--out", help="output folder (default public/data/adversarial, where the page and the runner "
                                 "find sets; use another folder for trials)")
    v.add_argument("--models-dir", help="folder with manifest.json and the ONNX files (default public/models)")
    v.add_argument("--data-dir", default=data.DEFAULT_DIR)
    v.add_argument("--threads", type=int)

    c = sub.add_parser("im2col", help="rewrite a shipped ResNet18 file's convs on small maps as batched MatMul "
                                      "(exact; faster in onnxruntime-web)")
    c.add_argument("--id", nargs="+", required=True)

    sub.add_parser("golden-preprocess", help="write PIL/PyTorch preprocessing golden vectors")

    gg = sub.add_parser("golden-gradients", help="write PyTorch-autograd input gradients of the shipped files "
                                                 "(test/golden/gradients/)")
    gg.add_argument("--n", type=int, default=20, help="first N test images (default 20)")
    gg.add_argument("--weights", nargs="+", help="weight sets (default: all nine)")
    gg.add_argument("--data-dir", default=data.DEFAULT_DIR)

    aa = sub.add_parser("autoattack-reference", help="the official AutoAttack (a checkout of fra31/auto-attack) on "
                                                     "shipped files: test/golden/autoattack-reference.json")
    aa.add_argument("--autoattack-src", required=True, help="folder holding the official `autoattack` package")
    aa.add_argument("--n", type=int, default=200, help="first N test images (default 200)")
    aa.add_argument("--weights", nargs="+", default=["0_1", "2_1", "5_1"])
    aa.add_argument("--eps", type=float, default=25 / 255,
                    help="L-inf radius (default 25/255: the product's 8-bit grid at eps 0.1)")
    aa.add_argument("--seed", type=int, default=0)
    aa.add_argument("--threads", type=int)
    aa.add_argument("--data-dir", default=data.DEFAULT_DIR)

    s = sub.add_parser("smoke", help="train a few batches of each architecture, export, write references")
    s.add_argument("--out", required=True)
    s.add_argument("--data-dir", default=data.DEFAULT_DIR)

    a = p.parse_args(argv)
    if a.cmd == "train":
        from .train import train
        train(a.id, seed=a.seed, data_dir=a.data_dir, epochs=a.epochs, max_steps=a.max_steps,
              threads=a.threads, fresh=a.fresh)
    elif a.cmd == "robust":
        from .robust import main as robust_main
        robust_main(a.id, n=a.n, data_dir=a.data_dir, threads=a.threads)
    elif a.cmd == "probe":
        from .probe import probe
        probe(a.id, a.epochs, a.lr, augment=not a.no_augment, seed=a.seed, threads=a.threads,
              data_dir=a.data_dir, weight_decay=a.weight_decay, pgd_fraction=a.pgd_fraction,
              robust_n=a.robust)
    elif a.cmd == "weights-from-onnx":
        from .onnx_weights import weights_from_onnx
        weights_from_onnx(a.id, a.onnx, a.golden, record_from=a.record_from, data_dir=a.data_dir)
    elif a.cmd == "adversarial-set":
        from . import adversarial_set, paths
        adversarial_set.main(a.source, a.eps, a.steps, a.n, a.seed, a.out or adversarial_set.OUT_DIR,
                             a.models_dir or paths.MODELS_DIR, a.data_dir, a.threads)
    elif a.cmd == "im2col":
        from .onnx_im2col import rewrite_shipped
        rewrite_shipped(a.id)
    elif a.cmd == "golden-preprocess":
        from .golden import write_preprocess_golden
        write_preprocess_golden()
    elif a.cmd == "golden-gradients":
        from .golden_gradients import write_gradient_golden
        from .golden_gradients import write_upload_fixture
        write_gradient_golden(a.n, a.data_dir, a.weights)
        if not a.weights:
            from .golden_gradients import write_pgd_reference
            write_upload_fixture(a.n, a.data_dir)
            write_pgd_reference(data_dir=a.data_dir)
    elif a.cmd == "autoattack-reference":
        import torch

        from .autoattack_reference import write_autoattack_reference
        if a.threads:
            torch.set_num_threads(a.threads)
        write_autoattack_reference(a.autoattack_src, n=a.n, weights=a.weights, eps=a.eps, seed=a.seed,
                                   data_dir=a.data_dir)
    elif a.cmd == "smoke":
        from .smoke import smoke
        smoke(a.out, data_dir=a.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
