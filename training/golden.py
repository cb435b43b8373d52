"""Golden vectors for the TypeScript preprocessing (test/golden/preprocess.json).

Everything is computed with the libraries the thesis service used (Pillow, PyTorch, torchvision),
so the TS ports in src/core/image.ts, resample.ts and defenses.ts can be checked against them.

Encoding: uint8 arrays as base64 of the raw bytes; float32 arrays as base64 of little-endian
float32 bytes (exact and compact; floats as JSON text would be ~4x larger).
"""
import base64
import json
import math
import os

import numpy as np
import PIL
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision import transforms

from . import data, paths

RATIOS = [0.10, 0.08, 0.06, 0.04, 0.02]
OFFSETS = [0.0, 0.5, 1.0]
# offset pairs (a, b) stored for every ratio; all nine are stored for the first ratio
PAD_PAIRS = [(0.0, 0.0), (0.5, 1.0), (1.0, 0.5)]


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _u8(a) -> str:
    return _b64(np.asarray(a, dtype=np.uint8))


def _f32(t) -> str:
    a = t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return _b64(a.astype("<f4"))


def _gray_cases(rng: np.random.Generator) -> list:
    """PIL's RGB -> L. Pillow >= 9 uses fixed point: (R*19595 + G*38470 + B*7471 + 0x8000) >> 16."""
    cases = []
    rgb = rng.integers(0, 256, size=(7, 13, 3), dtype=np.uint8)
    # a strip of colours where the SPEC's floor(R*299/1000 + ...) and Pillow's rounding disagree
    v = np.arange(256, dtype=np.int64)
    strip = np.stack([v, (255 - v), (v * 7) % 256], -1).astype(np.uint8).reshape(1, 256, 3)
    for name, img in (("random_13x7", rgb), ("strip_256x1", strip)):
        out = np.asarray(Image.fromarray(img, "RGB").convert("L"))
        r, g, b = (img[..., i].astype(np.int64) for i in range(3))
        floor_formula = (r * 299 + g * 587 + b * 114) // 1000
        cases.append(dict(name=name, width=img.shape[1], height=img.shape[0], rgb=_u8(img), gray=_u8(out),
                          differs_from_floor_299_587_114=int((floor_formula != out).sum())))
    return cases


def _thesis_tensor_path(raw: np.ndarray, width: int, height: int, channel: int) -> np.ndarray:
    """What the thesis' helpers.RequstHandler actually ran: PILToTensor -> Grayscale (tensor,
    truncating 0.2989/0.587/0.114) -> tensor Resize BILINEAR without antialias (torchvision 0.14)."""
    img = Image.frombytes("L" if channel == 1 else "RGB", (width, height), raw.tobytes(), "raw")
    t = transforms.Grayscale()(transforms.PILToTensor()(img))
    if (width, height) != (28, 28):
        t = transforms.Resize((28, 28), interpolation=TF.InterpolationMode.BILINEAR)(t)
    return t.reshape(28, 28).numpy()


def _bilinear_cases(rng: np.random.Generator, test_u8: np.ndarray) -> list:
    cases = []
    shoe = Image.fromarray(test_u8[0], "L")
    sizes = [(17, 40, "noise"), (100, 100, "shoe"), (56, 40, "noise"), (5, 3, "noise"), (28, 28, "noise")]
    for w, h, kind in sizes:
        if kind == "shoe":  # a natural image, upscaled by PIL bicubic, then back down
            arr = np.asarray(shoe.resize((w, h), Image.BICUBIC))
        else:
            arr = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
        cases.append(_resize_case(f"gray_{w}x{h}_{kind}", arr, w, h, 1))
    rgb = rng.integers(0, 256, size=(40, 56, 3), dtype=np.uint8)
    cases.append(_resize_case("rgb_56x40_noise", rgb, 56, 40, 3))
    return cases


def _resize_case(name: str, raw: np.ndarray, w: int, h: int, channel: int) -> dict:
    img = Image.frombytes("L" if channel == 1 else "RGB", (w, h), raw.tobytes(), "raw")
    gray = img.convert("L") if channel == 3 else img
    out = np.asarray(gray.resize((28, 28), Image.BILINEAR))
    thesis = _thesis_tensor_path(raw, w, h, channel)
    diff = np.abs(thesis.astype(np.int64) - out.astype(np.int64))
    return dict(name=name, width=w, height=h, channel=channel, input=_u8(raw), output=_u8(out),
                thesis_tensor_output=_u8(thesis),
                thesis_tensor_vs_pil=dict(pixels_differing=int((diff > 0).sum()), max_abs_diff=int(diff.max())))


def _bicubic(x: torch.Tensor, h: int, w: int) -> torch.Tensor:
    return F.interpolate(x, size=(h, w), mode="bicubic", align_corners=False)


def _resize_pad_cases(x: torch.Tensor) -> list:
    cases = []
    for k, r in enumerate(RATIOS):
        s = int((1 - r) * 28)  # as the thesis: int(crop_size * w), crop_size = 1 - r
        exact = (1 - r) * 28
        assert s == math.floor(exact) and abs(exact - round(exact)) > 1e-9, (r, exact)
        small = _bicubic(x, s, s)
        pairs = [(a, b) for b in OFFSETS for a in OFFSETS] if k == 0 else PAD_PAIRS
        padded = []
        for a, b in pairs:
            left, top = int(a * (28 - s)), int(b * (28 - s))
            out = F.pad(small, [left, 28 - left - s, top, 28 - top - s], value=0)
            padded.append(dict(a=a, b=b, left=left, top=top, output=_f32(out.reshape(-1))))
        cases.append(dict(ratio=r, size=s, size_float=exact, bicubic=_f32(small.reshape(-1)),
                          bicubic_min=float(small.min()), bicubic_max=float(small.max()), padded=padded))
    return cases


def _bicubic_generic_cases(rng: np.random.Generator, x: torch.Tensor) -> list:
    """Non-square and upscaling cases for src/core/resample.ts beyond the 28 -> s resizes."""
    cases = []
    small = torch.from_numpy(rng.random((6, 9), dtype=np.float32)).reshape(1, 1, 6, 9)
    for (inp, oh, ow) in ((small, 11, 20), (x, 17, 13), (x, 28, 28), (x, 5, 3)):
        ih, iw = inp.shape[-2:]
        out = _bicubic(inp, oh, ow)
        cases.append(dict(in_width=iw, in_height=ih, out_width=ow, out_height=oh,
                          input=_f32(inp.reshape(-1)), output=_f32(out.reshape(-1))))
    return cases


def _blur_cases(x: torch.Tensor) -> list:
    cases = []
    for kx, ky, sigma in ((5, 9, 0.7), (5, 9, 3.1), (5, 5, 1.2)):
        out = TF.gaussian_blur(x, kernel_size=[kx, ky], sigma=[sigma, sigma])
        cases.append(dict(kernel_width=kx, kernel_height=ky, sigma=sigma, output=_f32(out.reshape(-1))))
    return cases


def write_preprocess_golden(out_path: str = None) -> str:
    out_path = out_path or os.path.join(paths.GOLDEN_DIR, "preprocess.json")
    rng = np.random.default_rng(20240611)
    images, labels = data.load_split("test")
    test_u8 = images[:2].numpy()
    x0 = data.to_input(images[0:1])  # [1,1,28,28] float32, u8 / 255 (label 9, ankle boot)
    x1 = data.to_input(images[1:2])  # label 2, pullover

    doc = dict(
        meta=dict(
            generator="python -m training golden-preprocess (training/golden.py)",
            pillow=PIL.__version__, torch=torch.__version__, torchvision=torchvision.__version__,
            encoding="uint8 arrays: base64 of the bytes; float32 arrays: base64 of little-endian float32",
            gray_formula="Pillow >= 9: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16 "
                         "(rounded; the SPEC's floor(R*299/1000+...) differs on about half of all colours)",
            bilinear="PIL Image.resize((28, 28), Image.BILINEAR) on mode L (ImagingResample, 8 bpc, "
                     "antialiased: support scaled by the downscale factor)",
            thesis_tensor_note="the thesis' last helpers.py converted via PILToTensor -> tensor Grayscale "
                               "(truncating float 0.2989/0.587/0.114) -> tensor Resize BILINEAR (no antialias "
                               "in torchvision 0.14); thesis_tensor_output records that path for comparison",
            resize_pad="thesis defenseByInputTransformation.Randomization: s = int((1 - r) * 28); "
                       "F.interpolate(bicubic, align_corners=False); F.pad zeros; NO clamp after bicubic "
                       "(values may leave [0,1] by a little, see bicubic_min / bicubic_max)",
            blur="torchvision.transforms.functional.gaussian_blur(x, kernel_size=[kx, ky], sigma=[s, s]), "
                 "kx = width, ky = height, reflect padding",
        ),
        gray=_gray_cases(rng),
        bilinear=_bilinear_cases(rng, test_u8),
        resize_pad=dict(test_index=0, label=int(labels[0]), input_u8=_u8(test_u8[0]),
                        cases=_resize_pad_cases(x0)),
        bicubic=_bicubic_generic_cases(rng, x0),
        blur=dict(test_index=1, label=int(labels[1]), input_u8=_u8(test_u8[1]), cases=_blur_cases(x1)),
    )
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {out_path} ({os.path.getsize(out_path)} bytes)")
    return out_path
