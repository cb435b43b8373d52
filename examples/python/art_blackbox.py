#!/usr/bin/env python3
"""IBM ART's BlackBoxClassifier over the playground's /score route, with query counting.

Written for adversarial-robustness-toolbox 1.20.1 (`pip install adversarial-robustness-toolbox==1.20.1`;
it cannot be installed on the project's own machines, which have no PyPI). Every query is rounded to
the 8-bit grid before it is sent, exactly as the API transmits it, so an L∞ ε of 0.1 stays within 25
gray levels and ART judges the image the model really saw. Usage:

    python3 examples/python/art_blackbox.py [--url http://127.0.0.1:5000] [--model 0_1] [--n 20]

It runs ART's SquareAttack (L∞, ε = 0.1, p_init 0.8, 1,000 queries) on the first n test images and
prints the robust accuracy and the queries spent.
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
    args = ap.parse_args()

    from art.attacks.evasion import SquareAttack  # noqa: E402 (ART is optional: only this script needs it)
    from art.estimators.classification import BlackBoxClassifier

    images, labels = load_test_set()
    x = images[:args.n].astype(np.float32)[..., None] / 255.0
    api = CountingApi(args.url, args.model)
    classifier = BlackBoxClassifier(api, input_shape=(28, 28, 1), nb_classes=10, clip_values=(0.0, 1.0))
    attack = SquareAttack(classifier, norm=np.inf, eps=0.1, max_iter=1000, p_init=0.8, nb_restarts=1)
    adv = attack.generate(x)
    adv = api.to_bytes(adv).astype(np.float32)[..., None] / 255.0  # what the server will be sent
    assert np.abs(api.to_bytes(adv) - api.to_bytes(x)).max() <= 25
    robust = (classifier.predict(adv).argmax(1) == labels[:args.n]).mean()
    print(f'model {args.model}: robust accuracy {robust:.2f} under Square L∞ ε 0.1, {api.queries} queries')


if __name__ == '__main__':
    main()
