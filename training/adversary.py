"""PGD (training and evaluation) and the `_2` data augmentation, batched on tensors."""
import math

import torch
import torch.nn.functional as F


def pgd_linf(model, x, y, eps: float, steps: int, step_size: float, random_start: bool = True,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """L-inf PGD on the cross-entropy loss; returns x_adv in [0,1] within eps of x."""
    was_training = model.training
    model.eval()  # attack the deterministic network (no dropout noise in the gradient)
    x = x.detach()
    if random_start:
        noise = torch.rand(x.shape, generator=generator, device="cpu").to(x.device)
        x_adv = (x + (noise * 2 - 1) * eps).clamp(0, 1)
    else:
        x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        loss = F.cross_entropy(model(x_adv), y)
        (grad,) = torch.autograd.grad(loss, x_adv)
        x_adv = x_adv.detach() + step_size * grad.sign()
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    model.train(was_training)
    return x_adv.detach()


def gaussian_kernels(sigmas: torch.Tensor, size: int) -> torch.Tensor:
    """One normalised size x size Gaussian kernel per sigma (torchvision's construction)."""
    half = (size - 1) * 0.5
    xs = torch.linspace(-half, half, size, device=sigmas.device)
    k1 = torch.exp(-0.5 * (xs[None, :] / sigmas[:, None]) ** 2)
    k1 = k1 / k1.sum(dim=1, keepdim=True)
    return k1[:, :, None] * k1[:, None, :]


def augment(x: torch.Tensor, generator: torch.Generator, p_blur=0.5, blur_kernel=5,
            sigma_range=(0.1, 2.0), p_noise=0.5, noise_var=0.05) -> torch.Tensor:
    """SPEC §3 `_2`: per image, p=0.5 Gaussian blur (kernel 5, sigma ~ U[0.1, 2.0], reflect
    padding as torchvision) and independently p=0.5 additive N(0, 0.05) noise, clipped to [0,1]."""
    b = x.shape[0]
    u = torch.rand(b, 3, generator=generator)
    blur_mask = (u[:, 0] < p_blur).to(x.device)
    sigmas = (sigma_range[0] + (sigma_range[1] - sigma_range[0]) * u[:, 1]).to(x.device)
    kernels = gaussian_kernels(sigmas, blur_kernel).unsqueeze(1)  # [b,1,k,k]
    pad = blur_kernel // 2
    padded = F.pad(x.reshape(1, b, 28, 28), (pad, pad, pad, pad), mode="reflect")
    blurred = F.conv2d(padded, kernels, groups=b).reshape(b, 1, 28, 28)
    out = torch.where(blur_mask[:, None, None, None], blurred, x)
    noise_mask = (torch.rand(b, generator=generator) < p_noise).to(x.device)
    noise = torch.randn(x.shape, generator=generator).to(x.device) * math.sqrt(noise_var)
    out = torch.where(noise_mask[:, None, None, None], out + noise, out)
    return out.clamp(0, 1)


def shift_flip(x: torch.Tensor, generator: torch.Generator, pad: int = 2, p_flip: float = 0.5) -> torch.Tensor:
    """Light augmentation for training vanilla ResNet18 from scratch: per image a random
    translation by up to `pad` pixels (zero padding, then a random 28x28 crop) and a horizontal
    flip with probability `p_flip`. Without it ResNet18 over-fits Fashion-MNIST within a few epochs."""
    b = x.shape[0]
    offs = torch.randint(0, 2 * pad + 1, (b, 2), generator=generator)
    flips = torch.rand(b, generator=generator) < p_flip
    padded = F.pad(x, (pad, pad, pad, pad))
    out = torch.empty_like(x)
    for i in range(b):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        crop = padded[i, :, dy : dy + 28, dx : dx + 28]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out
