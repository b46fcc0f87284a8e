"""Layers written from scratch, each equal to its ``torch.nn`` twin, and blocks several models share.

What belongs here: activations, normalisation (with LRN), dropout, initialisers, quantisation, and in
:mod:`cvlib.nn.conv` the convolution variants. A module here may use :mod:`cvlib.analysis` (to count
what it builds) but never a model, a training loop or a detector.
"""

from cvlib.nn import activations, blocks, conv, dropout, init, lrn, normalization, quantize

__all__ = ["activations", "blocks", "conv", "dropout", "init", "lrn", "normalization", "quantize"]
