#!/usr/bin/env python3
"""Query the playground's HTTP service (`npm run serve`) the way the thesis' clients queried Flask.

Sends Fashion-MNIST test images to /decision, /score and the batch extension with `requests` and
numpy, and checks the answers' shapes. Usage:

    python3 examples/python/client.py [--url http://127.0.0.1:5000] [--model 0_1] [--n 8]

Reads the test set from public/data (the files the page uses) or Debian's dataset-fashion-mnist.
Exits non-zero, saying why, when an answer is not what the contract promises.
"""
import argparse
import base64
import gzip
import os
import sys

import numpy as np
import requests

CLASSES = ['T-shirt/Top', 'Hosen', 'Pullover', 'Kleid', 'Mantel', 'Sandalen', 'Shirt', 'Sneaker', 'Rucksack',
           'Ankle boot']
HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIRS = [os.path.join(HERE, '..', '..', 'public', 'data'), '/usr/share/datasets/fashion-mnist']


def load_test_set():
    """(images uint8 [10000, 28, 28], labels uint8 [10000]) from the IDX .gz files."""
    for d in DATA_DIRS:
        img = os.path.join(d, 't10k-images-idx3-ubyte.gz')
        lab = os.path.join(d, 't10k-labels-idx1-ubyte.gz')
        if os.path.exists(img) and os.path.exists(lab):
            with gzip.open(img) as f:
                images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
            with gzip.open(lab) as f:
                labels = np.frombuffer(f.read(), np.uint8, offset=8)
            return images, labels
    sys.exit(f'no Fashion-MNIST test set in {DATA_DIRS}')


def request_body(image):
    """The thesis contract: base64 of the raw 8-bit gray bytes, [width, height], one channel."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    h, w = image.shape
    return {'image': base64.b64encode(image.tobytes()).decode('ascii'), 'image_size': [w, h], 'channel': 1}


def route(url, model, action):
    return f"{url.rstrip('/')}/{model.replace('_', '/')}/{action}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:5000')
    ap.add_argument('--model', default='0')
    ap.add_argument('--n', type=int, default=8, help='test images to send')
    args = ap.parse_args()
    images, labels = load_test_set()
    session = requests.Session()

    info = session.get(args.url.rstrip('/') + '/', timeout=30).json()
    print(f"{info['service']}: {len(info['models'])} models")

    correct = 0
    for i in range(args.n):
        r = session.post(route(args.url, args.model, 'decision'), json=request_body(images[i]), timeout=60)
        r.raise_for_status()
        name = r.json()['data']
        if name not in CLASSES:
            sys.exit(f'/decision answered {name!r}, not a class name')
        correct += name == CLASSES[labels[i]]
    print(f'/decision: {correct}/{args.n} correct on test images 0..{args.n - 1}')

    r = session.post(route(args.url, args.model, 'score'), json=request_body(images[0]), timeout=60)
    r.raise_for_status()
    p = np.array(r.json()['data'])
    if p.shape != (10,) or abs(p.sum() - 1) > 1e-4 or (p < 0).any():
        sys.exit(f'/score is not 10 probabilities: {p}')
    print(f'/score: p = {np.round(p, 3).tolist()} (argmax {CLASSES[int(p.argmax())]}, '
          f"X-Inference-Ms {r.headers.get('X-Inference-Ms')})")

    batch = {'batch': [request_body(images[i]) for i in range(args.n)]}
    r = session.post(route(args.url, args.model, 'score'), json=batch, timeout=120)
    r.raise_for_status()
    probs = np.array(r.json()['data'])
    if probs.shape != (args.n, 10):
        sys.exit(f'batch /score answered shape {probs.shape}, expected ({args.n}, 10)')
    acc = (probs.argmax(1) == labels[:args.n]).mean()
    print(f'batch /score: {args.n} images in one request, accuracy {acc:.2f}')

    r = session.post(route(args.url, args.model, 'decision'), json={'image': 'not base64!'}, timeout=30)
    if r.status_code != 400 or 'error' not in r.json():
        sys.exit(f'a bad request answered {r.status_code} {r.text[:100]}')
    print(f"bad request: {r.status_code} {r.json()['error']}")


if __name__ == '__main__':
    main()
