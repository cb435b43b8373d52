#!/usr/bin/env python3
"""IBM ART's SquareAttack over the playground's /score route, with query counting.

Written for and run against adversarial-robustness-toolbox 1.20.1 (`pip install
adversarial-robustness-toolbox==1.20.1`, or its source on PYTHONPATH; ART needs scipy and
scikit-learn). Usage:

    python3 examples/python/art_blackbox.py [--url http://127.0.0.1:5000] [--model 0_1] [--n 20]

What it takes to make ART fit the API (each was a failure once):
- ART's SquareAttack needs a neural-network estimator: `BlackBoxClassifierNeuralNetwork` with
  `channels_first=False` for [N, 28, 28, 1] images (a plain `BlackBoxClassifier` is refused,
  Trusted-AI/adversarial-robustness-toolbox#2094).
- Every query is rounded to the 8-bit grid before it is sent, as the API transmits it. ε is
  25/255: a float ε of 0.1 (25.5 levels) would let rounding move a pixel by 26 levels.
- Differences of 8-bit images are taken in signed integers (uint8 subtraction wraps around).
- `max_iter` counts ART's iterations, not queries: each iteration asks the model for all n images
  plus two per image still robust, so the script prints the queries it really spent, per image.

It prints the robust accuracy, the largest change in gray levels and the queries spent.
"""
import argparse
import base64

import numpy as np
import requests

from client import load_test_set, route


class CountingApi:
    """predict(x [N, 28, 28, 1] floats in [0, 1]) → softmax probabilities [N, 10] over HTTP."""

    def __init__(self, url, model, batch=256):
        self.url = route(url, model, 'score')
        self.batch = batch
        self.queries = 0
        self.session = requests.Session()

    @staticmethod
    def to_bytes(x):
        # the 8-bit grid the API carries: round, then clip
        return np.clip(np.rint(np.asarray(x, np.float64) * 255), 0, 255).astype(np.uint8)

    def __call__(self, x):
        x = self.to_bytes(np.asarray(x).reshape(-1, 28, 28))
        out = []
        for s in range(0, len(x), self.batch):
            items = [{'image': base64.b64encode(img.tobytes()).decode(), 'image_size': [28, 28], 'channel': 1}
                     for img in x[s:s + self.batch]]
            r = self.session.post(self.url, json={'batch': items}, timeout=300)
            r.raise_for_status()
            out.extend(r.json()['data'])
            self.queries += len(items)
        return np.array(out, np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:5000')
    ap.add_argument('--model', default='0_1')
    ap.add_argument('--n', type=int, default=20)
    ap.add_argument('--max-iter', type=int, default=1000, help="ART's iterations (not queries)")
    args = ap.parse_args()

    # ART is optional: only this script needs it
    from art.attacks.evasion import SquareAttack  # noqa: E402
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    eps_levels = 25
    images, labels = load_test_set()
    x = images[:args.n].astype(np.float32)[..., None] / 255.0
    api = CountingApi(args.url, args.model)
    classifier = BlackBoxClassifierNeuralNetwork(api, input_shape=(28, 28, 1), nb_classes=10, channels_first=False,
                                                 clip_values=(0.0, 1.0))
    attack = SquareAttack(classifier, norm=np.inf, eps=eps_levels / 255, max_iter=args.max_iter, p_init=0.8,
                          nb_restarts=1, verbose=False)
    spent_before = api.queries
    adv = attack.generate(x)
    spent = api.queries - spent_before
    # what the server is sent: the 8-bit grid, compared in signed integers
    adv_bytes = api.to_bytes(adv.reshape(-1, 28, 28)).astype(np.int16)
    x_bytes = api.to_bytes(x.reshape(-1, 28, 28)).astype(np.int16)
    change = int(np.abs(adv_bytes - x_bytes).max())
    assert change <= eps_levels, f'a pixel moved {change} gray levels, more than {eps_levels}'
    pred = api(adv_bytes.astype(np.float32) / 255.0).argmax(1)
    robust = (pred == labels[:args.n]).mean()
    print(f'model {args.model}: robust accuracy {robust:.2f} under ART Square L-inf eps {eps_levels}/255 '
          f'(largest change {change} gray levels); {spent} queries ({spent / args.n:.0f} per image) '
          f'for max_iter={args.max_iter}')


if __name__ == '__main__':
    main()
