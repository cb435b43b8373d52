#!/usr/bin/env python3
"""Query the playground's HTTP service (`npm run serve`) the way the thesis' clients queried Flask.

Sends Fashion-MNIST test images to /decision, /score and the batch extension with `requests` and
numpy, and checks the answers' shapes. Usage:

    python3 examples/python/client.py [--url http://127.0.0.1:5000] [--model 0_1] [--n 8]

Reads the test set from public/data (the files the page uses) or Debian's dataset-fashion-mnist.
Exits non-zero, saying why, when an answer is not what the contract promises: for an error answer
(an unknown or unserved --model, a model whose weights could not load) the HTTP status and the
service's own {"error": ...} message, e.g.

    /decision: HTTP 404 from http://127.0.0.1:5000/9/decision: unknown model "9"; the models are 0, 0_1, ...
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


def call(session, method, url, what, **kwargs):
    """(response, its JSON); on no answer, an answer that is not JSON, or a status other than 200,
    exits non-zero with the service's own reason: status and its {"error": ...} message."""
    try:
        r = session.request(method, url, **kwargs)
    except requests.RequestException as e:
        sys.exit(f'{what}: no answer from {url}: {e}')
    try:
        body = r.json()
    except ValueError:
        sys.exit(f'{what}: HTTP {r.status_code} from {url}, not JSON: {r.text[:200]!r}')
    if r.status_code != 200:
        error = body.get('error') if isinstance(body, dict) else None
        sys.exit(f'{what}: HTTP {r.status_code} from {url}: {error or body}')
    return r, body


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--url', default='http://127.0.0.1:5000')
    ap.add_argument('--model', default='0')
    ap.add_argument('--n', type=int, default=8, help='test images to send')
    args = ap.parse_args()
    images, labels = load_test_set()
    session = requests.Session()

    _, info = call(session, 'GET', args.url.rstrip('/') + '/', 'GET /', timeout=30)
    print(f"{info['service']}: {len(info['models'])} models")

    correct = 0
    for i in range(args.n):
        _, answer = call(session, 'POST', route(args.url, args.model, 'decision'), '/decision',
                         json=request_body(images[i]), timeout=60)
        name = answer['data']
        if name not in CLASSES:
            sys.exit(f'/decision answered {name!r}, not a class name')
        correct += name == CLASSES[labels[i]]
    print(f'/decision: {correct}/{args.n} correct on test images 0..{args.n - 1}')

    r, answer = call(session, 'POST', route(args.url, args.model, 'score'), '/score', json=request_body(images[0]),
                     timeout=60)
    p = np.array(answer['data'])
    if p.shape != (10,) or abs(p.sum() - 1) > 1e-4 or (p < 0).any():
        sys.exit(f'/score is not 10 probabilities: {p}')
    print(f'/score: p = {np.round(p, 3).tolist()} (argmax {CLASSES[int(p.argmax())]}, '
          f"X-Inference-Ms {r.headers.get('X-Inference-Ms')})")

    batch = {'batch': [request_body(images[i]) for i in range(args.n)]}
    _, answer = call(session, 'POST', route(args.url, args.model, 'score'), 'batch /score', json=batch, timeout=120)
    probs = np.array(answer['data'])
    if probs.shape != (args.n, 10):
        sys.exit(f'batch /score answered shape {probs.shape}, expected ({args.n}, 10)')
    acc = (probs.argmax(1) == labels[:args.n]).mean()
    print(f'batch /score: {args.n} images in one request, accuracy {acc:.2f}')

    url = route(args.url, args.model, 'decision')
    try:
        r = session.post(url, json={'image': 'not base64!'}, timeout=30)
        error = r.json().get('error')
    except (requests.RequestException, ValueError, AttributeError) as e:
        sys.exit(f'bad request: no JSON answer from {url}: {e}')
    if r.status_code != 400 or not isinstance(error, str):
        sys.exit(f'a bad request answered {r.status_code} {r.text[:100]}')
    print(f'bad request: {r.status_code} {error}')


if __name__ == '__main__':
    main()
