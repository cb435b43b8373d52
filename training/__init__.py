"""Training, export and evaluation pipeline for the playground's Fashion-MNIST classifiers.

Runs with Debian's PyTorch 1.13 (`/usr/bin/python3 -m training ...`) and with a pip-installed 2.x;
uses CUDA when one is present.
"""
