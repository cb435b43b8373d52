#!/usr/bin/env python3
"""White-box L-inf PGD from a script, over the service's gradient extension (`npm run serve -- --gradients`).

PGD as in Madry et al., "Towards deep learning models resistant to adversarial attacks" (ICLR 2018):
a uniform random start in the eps-ball, then `--steps` steps of `--step-size` along the sign of the
gradient of the cross-entropy loss, each projected back onto the ball and [0, 1]. The service
computes the gradients (POST /<model>/gradient, a batch per step); this script only does the
arithmetic, with numpy and requests. Images travel as 8-bit bytes, so each step's iterate is rounded
to the 8-bit grid before its gradient is taken (the rounding is treated as the identity). The final
images are checked with /decision, and the robust accuracy printed is the share still classified
correctly: a white-box figure on these images, for this attack.

    python3 examples/python/pgd.py [--url http://127.0.0.1:5000] [--model 0_1] [--n 20] [--eps 0.1]

Exits non-zero, saying why, when the service answers an error: e.g. a service started without
--gradients answers 404 with how to turn the route on.
"""
import argparse
import base64
import sys

import numpy as np
import requests

from client import CLASSES, call, load_test_set, route


def body(x):
    """A float image in [0,1] [28,28] as the contract's request: 8-bit gray bytes, base64."""
    q = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
    return {'image': base64.b64encode(q.tobytes()).decode('ascii'), 'image_size': [28, 28], 'channel': 1}


def gradients(session, url, xs, labels):
    """Per image: (loss, logits [10], gradient [28,28]) of the cross-entropy loss, one batch request."""
    batch = {'batch': [dict(body(x), label=int(y), loss='ce') for x, y in zip(xs, labels)], 'seed': 0}
    _, answer = call(session, 'POST', url, '/gradient', json=batch, timeout=300)
    data = answer['data']
    if len(data) != len(xs):
        sys.exit(f'/gradient answered {len(data)} items for {len(xs)} images')
    grads = np.array([d['gradient'] for d in data], dtype=np.float64)
    if grads.shape != (len(xs), 784):
        sys.exit(f'/gradient answered gradients of shape {grads.shape}, expected ({len(xs)}, 784)')
    return np.array([d['loss'] for d in data]), grads.reshape(-1, 28, 28)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:5000')
    ap.add_argument('--model', default='0')
    ap.add_argument('--n', type=int, default=20, help='test images 0..n-1')
    ap.add_argument('--eps', type=float, default=0.1, help='L-inf radius on pixels in [0, 1]')
    ap.add_argument('--steps', type=int, default=20)
    ap.add_argument('--step-size', type=float, help='default 2.5 * eps / steps')
    ap.add_argument('--seed', type=int, default=0, help='random start')
    args = ap.parse_args()
    step = args.step_size or 2.5 * args.eps / args.steps
    images, labels = load_test_set()
    x = images[:args.n].astype(np.float64) / 255
    y = labels[:args.n]
    session = requests.Session()
    grad_url = route(args.url, args.model, 'gradient')

    rng = np.random.default_rng(args.seed)
    adv = np.clip(x + rng.uniform(-args.eps, args.eps, x.shape), 0, 1)
    for t in range(args.steps):
        loss, g = gradients(session, grad_url, adv, y)
        adv = np.clip(np.clip(adv + step * np.sign(g), x - args.eps, x + args.eps), 0, 1)
        print(f'step {t + 1:2d}: mean cross-entropy {loss.mean():.3f}')
    # the 8-bit image inside the ball that is sent: round, then clip to the ball on the 8-bit grid
    lo = np.ceil((x - args.eps) * 255 - 1e-6) / 255
    hi = np.floor((x + args.eps) * 255 + 1e-6) / 255
    final = np.clip(np.round(adv * 255) / 255, lo, hi)

    correct_clean = correct_adv = 0
    for i in range(args.n):
        _, clean = call(session, 'POST', route(args.url, args.model, 'decision'), '/decision',
                        json=body(x[i]), timeout=60)
        _, attacked = call(session, 'POST', route(args.url, args.model, 'decision'), '/decision',
                           json=body(final[i]), timeout=60)
        correct_clean += clean['data'] == CLASSES[y[i]]
        correct_adv += attacked['data'] == CLASSES[y[i]]
    linf = np.abs(final - x).max()
    print(f'model {args.model}: clean accuracy {correct_clean}/{args.n}, after PGD-{args.steps} '
          f'(L-inf eps {args.eps}, max |delta| {linf:.4f}) {correct_adv}/{args.n}')
    if linf > args.eps + 1e-9:
        sys.exit(f'the final images leave the eps-ball: {linf} > {args.eps}')


if __name__ == '__main__':
    main()
