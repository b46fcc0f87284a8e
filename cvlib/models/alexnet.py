"""AlexNet (Krizhevsky, Sutskever & Hinton, 2012): the configuration as a data table, two builders.

Five convolutions and three fully connected layers. Every convolution and the first two FC layers are
followed by ReLU; local response normalisation (:mod:`cvlib.nn.lrn`, ``k=2, n=5, α=1e-4, β=0.75``) follows
``conv1`` and ``conv2``; 3×3 max pooling with stride 2 ("overlapping pooling") follows both normalisations
and ``conv5``; dropout 0.5 follows ``fc6`` and ``fc7``. With a 227×227×3 input the maps are::

    conv1 55×55×96 → pool1 27×27×96 → conv2 27×27×256 → pool2 13×13×256 → conv3 13×13×384
    → conv4 13×13×384 → conv5 13×13×256 → pool5 6×6×256 → 9216 → fc6 4096 → fc7 4096 → fc8 1000

The paper trained the network split over two GPUs: every layer holds half of its kernels on each GPU,
and ``conv2``, ``conv4`` and ``conv5`` only see the maps of their own GPU (``groups=2``), while ``conv3``
and the FC layers see both halves. :func:`alexnet_2gpu` builds that form, :func:`alexnet` the single
tower in which every layer sees all maps of the layer before.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cvlib._validate import check_int, check_positive_int, check_probability
from cvlib.analysis.shapes import conv_output_size
from cvlib.models.registry import register_model
from cvlib.nn.lrn import LocalResponseNorm, local_response_norm

__all__ = ["AlexNet", "ALEXNET_CONVS", "ALEXNET_FCS", "TowerLRN", "alexnet", "alexnet_2gpu", "trunk_sizes"]


class ConvSpec(NamedTuple):
    """One convolution stage of AlexNet and what follows it."""

    name: str
    out_channels: int
    kernel: int
    stride: int
    padding: int
    split: bool  # in the two-GPU net, sees only the maps on its own GPU (groups=2)
    lrn: bool  # followed by local response normalisation
    pool: bool  # followed by 3×3 / 2 max pooling


# Krizhevsky et al. (2012), section 3.5 and Figure 2.
ALEXNET_CONVS: list[ConvSpec] = [
    ConvSpec("conv1", 96, 11, 4, 0, split=False, lrn=True, pool=True),
    ConvSpec("conv2", 256, 5, 1, 2, split=True, lrn=True, pool=True),
    ConvSpec("conv3", 384, 3, 1, 1, split=False, lrn=False, pool=False),
    ConvSpec("conv4", 384, 3, 1, 1, split=True, lrn=False, pool=False),
    ConvSpec("conv5", 256, 3, 1, 1, split=True, lrn=False, pool=True),
]
ALEXNET_FCS: list[tuple[str, int]] = [("fc6", 4096), ("fc7", 4096)]  # then fc8 with num_classes outputs
POOL_KERNEL, POOL_STRIDE = 3, 2


def trunk_sizes(input_size: int = 227) -> list[tuple[str, int]]:
    """Side of the square map after every convolution and pooling for an ``input_size`` input.

    Each step is ``out = floor((in + 2p − k) / s) + 1`` (:func:`cvlib.analysis.shapes.conv_output_size`). The FC
    layers need the last entry (``pool5``) to be 6; :class:`AlexNet` is built for 227, where it is.
    """
    sizes: list[tuple[str, int]] = []
    size = input_size
    for spec in ALEXNET_CONVS:
        size = conv_output_size(size, spec.kernel, spec.stride, spec.padding)
        sizes.append((spec.name, size))
        if spec.pool:
            size = conv_output_size(size, POOL_KERNEL, POOL_STRIDE)
            sizes.append((f"pool{spec.name[-1]}", size))
    return sizes


class TowerLRN(LocalResponseNorm):
    """LRN applied to each of ``towers`` equal slices of the channels separately.

    In the two-GPU net each GPU holds only its own half of the maps and the GPUs exchange nothing
    before ``conv3``, so the sum over ``n`` neighbouring maps stops at the edge of the GPU's half. With
    ``towers=1`` this is :class:`cvlib.nn.lrn.LocalResponseNorm`.
    """

    def __init__(self, towers: int = 2, n: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                 k: float = 2.0) -> None:
        towers = check_positive_int("towers", towers)
        super().__init__(n, alpha, beta, k)
        self.towers = towers

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        if a.dim() != 4 or a.shape[1] % self.towers:
            raise ValueError(f"expected an (N, C, H, W) tensor with C divisible by towers={self.towers}, "
                             f"got shape {tuple(a.shape)}")
        halves = a.chunk(self.towers, dim=1)
        return torch.cat([local_response_norm(h, self.n, self.alpha, self.beta, self.k) for h in halves], 1)

    def extra_repr(self) -> str:
        return f"towers={self.towers}, {super().extra_repr()}"


class AlexNet(nn.Module):
    """AlexNet for a 227×227×3 input, as one tower (``towers=1``) or as the paper's two GPUs (``towers=2``).

    With ``towers=2`` the convolutions marked ``split`` in :data:`ALEXNET_CONVS` have ``groups=2`` and
    the normalisation is done per tower (:class:`TowerLRN`); the layer shapes are the same in both forms.
    """

    input_size = 227
    in_channels = 3

    def __init__(self, towers: int = 1, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        towers = check_int("towers", towers, 1, 2)  # 1: one tower; 2: the paper's two GPUs
        num_classes = check_positive_int("num_classes", num_classes)
        dropout = check_probability("dropout", dropout, allow_one=False)
        self.towers = towers
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = self.in_channels
        for spec in ALEXNET_CONVS:
            i = spec.name[-1]
            groups = towers if spec.split else 1
            layers[spec.name] = nn.Conv2d(c_in, spec.out_channels, spec.kernel, spec.stride, spec.padding,
                                          groups=groups)
            layers[f"relu{i}"] = nn.ReLU(inplace=True)
            if spec.lrn:
                layers[f"norm{i}"] = TowerLRN(towers) if towers > 1 else LocalResponseNorm()
            if spec.pool:
                layers[f"pool{i}"] = nn.MaxPool2d(POOL_KERNEL, POOL_STRIDE)
            c_in = spec.out_channels
        self.features = nn.Sequential(layers)
        side = trunk_sizes(self.input_size)[-1][1]
        head: OrderedDict[str, nn.Module] = OrderedDict([("flatten", nn.Flatten())])
        n_in = c_in * side * side
        for name, width in ALEXNET_FCS:
            i = name[-1]
            head[name] = nn.Linear(n_in, width)
            head[f"relu{i}"] = nn.ReLU(inplace=True)
            head[f"drop{i}"] = nn.Dropout(dropout)
            n_in = width
        head["fc8"] = nn.Linear(n_in, num_classes)
        self.classifier = nn.Sequential(head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# The paper's "60 million parameters" is the two-GPU network's (alexnet_2gpu); it states no figure for
# the single tower. torchvision's alexnet is another network (see the docstring): no library count.
@register_model("alexnet", paper="krizhevsky2012imagenet", input_size=227)
def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as one tower: every layer sees all maps of the layer before (62,378,344 parameters).

    The paper states a 224×224×3 input, but an 11×11 kernel with stride 4 and no padding needs
    ``(in − 11) / 4`` to be an integer: 227 gives 55×55 (as Caffe's reference model crops), 224 does not.
    torchvision's ``alexnet`` is a different network, the one of Krizhevsky's 2014 "One weird trick"
    paper: 64-192-384-256-256 kernels, no LRN, padding 2 in ``conv1`` for a 224 input, an adaptive
    average pooling to 6×6 and dropout before ``fc6`` and ``fc7`` (61,100,840 parameters).
    """
    return AlexNet(towers=1, num_classes=num_classes, dropout=dropout)


@register_model("alexnet_2gpu", paper="krizhevsky2012imagenet", input_size=227,
                paper_params=60_000_000, params_rtol=0.5 / 60, source="abstract, §4",
                params_differ="a round figure in the prose: the network the paper describes has 60,965,224 "
                              "parameters, 61.0 M to the million")
def alexnet_2gpu(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet as trained in the paper, over two GPUs (60,965,224 parameters: the paper's "60 million").

    ``conv2``, ``conv4`` and ``conv5`` have ``groups=2`` (kernels of depth 48, 192 and 192, as in section
    3.5); ``conv3`` and the FC layers see both halves. The normalisation after ``conv1`` and ``conv2`` sums
    over neighbouring maps of the same GPU only; Caffe's reference model, which also uses ``group: 2``,
    normalises across all 96 (256) maps instead.
    """
    return AlexNet(towers=2, num_classes=num_classes, dropout=dropout)
