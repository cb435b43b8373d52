"""Fashion-MNIST from the IDX .gz files (Debian's dataset-fashion-mnist by default)."""
import gzip
import os
import struct

import numpy as np
import torch

DEFAULT_DIR = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read_idx(path: str) -> np.ndarray:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte
        raise ValueError(f"{path}: not an unsigned-byte IDX file (magic {magic:#x})")
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4 : 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: expected {np.prod(dims)} bytes of data, found {data.size}")
    return data.reshape(dims)


def load_split(split: str, data_dir: str = DEFAULT_DIR):
    """Returns (images uint8 [N,28,28], labels int64 [N]) as torch tensors."""
    img_name, lbl_name = FILES[split]
    for name in (img_name, lbl_name):
        p = os.path.join(data_dir, name)
        if not os.path.exists(p):
            raise FileNotFoundError(
                f"{p} not found. Install Debian's dataset-fashion-mnist or pass --data-dir "
                "pointing at a folder with the four Fashion-MNIST IDX .gz files."
            )
    images = _read_idx(os.path.join(data_dir, img_name))
    labels = _read_idx(os.path.join(data_dir, lbl_name))
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def to_input(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,1,28,28] in [0,1] (no mean/std normalisation, SPEC §2)."""
    return images_u8.to(torch.float32).div_(255.0).unsqueeze(1)
