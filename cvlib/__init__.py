"""cvlib: small reference implementations for the computer-vision interview notes.

Each module holds one idea; the notebooks import them:

- :mod:`cvlib.shapes` — output size of convolution and pooling;
- :mod:`cvlib.counts` — neurons, parameters, MACs, FLOPs and connections of a layer;
- :mod:`cvlib.receptive_field` — receptive field, top-down and bottom-up;
- :mod:`cvlib.profiler` — :func:`profile`, a layer table of any ``torch.nn.Module``;
- :mod:`cvlib.models` — the architectures, by name;
- :mod:`cvlib.detection` — IoU, NMS, box coding, RoI pooling and RoI Align, SPP, anchors, VOC AP;
- :mod:`cvlib.backprop` — forward and backward passes of the common layers, in NumPy;
- :mod:`cvlib.initialization`, :mod:`cvlib.normalization`, :mod:`cvlib.dropout`,
  :mod:`cvlib.activations` — initialisers, normalisation layers, dropout, activations and softmax;
- :mod:`cvlib.grouped_conv`, :mod:`cvlib.separable`, :mod:`cvlib.dilated_conv`,
  :mod:`cvlib.transposed_conv`, :mod:`cvlib.deconvolution`, :mod:`cvlib.deformable` — the convolution
  variants;
- :mod:`cvlib.losses`, :mod:`cvlib.optim`, :mod:`cvlib.preprocessing`, :mod:`cvlib.distillation`,
  :mod:`cvlib.annealing` — losses, optimisers, input preprocessing, knowledge distillation, simulated
  annealing;
- :mod:`cvlib.lrn`, :mod:`cvlib.pointwise`, :mod:`cvlib.checks`, :mod:`cvlib.arguments` — small pieces the
  pages and modules share.
"""

from .profiler import Profile, profile, register_macs

__all__ = ["Profile", "profile", "register_macs"]
__version__ = "0.1.0"
