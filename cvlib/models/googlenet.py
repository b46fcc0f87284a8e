"""GoogLeNet / Inception v1 (Szegedy et al., 2015): the Inception block and the 22-layer network.

An Inception block runs four branches on the same input and concatenates their outputs along the
channels (``C_out = #1×1 + #3×3 + #5×5 + pool proj``):

1. a 1×1 convolution;
2. a 1×1 "reduce" convolution, then a 3×3 convolution (padding 1);
3. a 1×1 "reduce" convolution, then a 5×5 convolution (padding 2);
4. a 3×3 max pooling with stride 1 (padding 1), then a 1×1 "pool proj" convolution.

Every convolution is followed by a ReLU. The numbers of filters of the nine blocks are the paper's
Table 1, kept as data in :data:`INCEPTION_CONFIG`. The stem follows the paper's Figure 3: conv 7×7/2,
max pool 3×3/2, LRN, conv 1×1 (reduce), conv 3×3, LRN, max pool 3×3/2. Pooling rounds up
(``ceil_mode=True``) as Caffe did, which gives the paper's 112 → 56 → 28 → 14 → 7. The head is a 7×7
average pooling, dropout 40 % and one linear layer. Two auxiliary classifiers, on the outputs of 4a
and 4d, exist only when ``aux_logits=True`` and run only in training mode.

Layers are named after the notes' lines (``conv1``, ``pool1``, ``conv2_reduce``, ``inception3a``,
``inception3a.branch3.conv_5x5``, ``fc``), so a row of :func:`cvlib.profile` matches a line of the notes.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_bool, check_choice, check_int, check_positive_int, check_probability, check_real
from cvlib.analysis.tracing import layer_depth
from cvlib.nn.lrn import LocalResponseNorm
from cvlib.models.registry import register_model

__all__ = [
    "InceptionSpec",
    "INCEPTION_CONFIG",
    "POOL_AFTER",
    "Inception",
    "NaiveInception",
    "AuxClassifier",
    "GoogLeNet",
    "GoogLeNetOutputs",
    "googlenet",
    "googlenet_loss",
]


class InceptionSpec(NamedTuple):
    """One row of the paper's Table 1: the number of filters of each convolution of a block."""

    n1x1: int
    n3x3_reduce: int
    n3x3: int
    n5x5_reduce: int
    n5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        """Channels of the concatenated output: ``#1×1 + #3×3 + #5×5 + pool proj``."""
        return self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj


# Table 1 of Szegedy et al. (2015): #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
INCEPTION_CONFIG: dict[str, InceptionSpec] = {
    "3a": InceptionSpec(64, 96, 128, 16, 32, 32),
    "3b": InceptionSpec(128, 128, 192, 32, 96, 64),
    "4a": InceptionSpec(192, 96, 208, 16, 48, 64),
    "4b": InceptionSpec(160, 112, 224, 24, 64, 64),
    "4c": InceptionSpec(128, 128, 256, 24, 64, 64),
    "4d": InceptionSpec(112, 144, 288, 32, 64, 64),
    "4e": InceptionSpec(256, 160, 320, 32, 128, 128),
    "5a": InceptionSpec(256, 160, 320, 32, 128, 128),
    "5b": InceptionSpec(384, 192, 384, 48, 128, 128),
}

# A 3×3/2 max pooling follows these blocks (pool3 after 3b, pool4 after 4e).
POOL_AFTER: dict[str, str] = {"3b": "pool3", "4e": "pool4"}


def _caffe_lrn() -> LocalResponseNorm:
    """LRN as in the Caffe GoogLeNet (local_size 5, alpha 1e-4, beta 0.75, k 1).

    Caffe divides alpha by the window size n, the paper's formula (:mod:`cvlib.nn.lrn`) does not, so the
    same layer is ``alpha = 1e-4 / 5`` here.
    """
    return LocalResponseNorm(n=5, alpha=1e-4 / 5, beta=0.75, k=1.0)


class Inception(nn.Module):
    """The Inception block with dimension reduction (the paper's Figure 2(b)).

    ``branch3_kernel`` is the large kernel of the third branch: 5 in the paper; torchvision's GoogLeNet
    uses 3 there (set ``branch3_kernel=3`` to reproduce that variant's shapes and counts).
    """

    def __init__(self, in_channels: int, spec: InceptionSpec, branch3_kernel: int = 5) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        for field, value in spec._asdict().items():
            check_positive_int(field, value)
        # 5: the paper; 3: torchvision's GoogLeNet
        branch3_kernel = check_choice("branch3_kernel", check_int("branch3_kernel", branch3_kernel), (5, 3))
        self.in_channels, self.spec = in_channels, spec
        k = branch3_kernel
        self.branch1 = nn.Sequential(OrderedDict([
            ("conv_1x1", nn.Conv2d(in_channels, spec.n1x1, 1)), ("relu_1x1", nn.ReLU(inplace=True)),
        ]))
        self.branch2 = nn.Sequential(OrderedDict([
            ("conv_3x3_reduce", nn.Conv2d(in_channels, spec.n3x3_reduce, 1)),
            ("relu_3x3_reduce", nn.ReLU(inplace=True)),
            ("conv_3x3", nn.Conv2d(spec.n3x3_reduce, spec.n3x3, 3, padding=1)),
            ("relu_3x3", nn.ReLU(inplace=True)),
        ]))
        self.branch3 = nn.Sequential(OrderedDict([
            ("conv_5x5_reduce", nn.Conv2d(in_channels, spec.n5x5_reduce, 1)),
            ("relu_5x5_reduce", nn.ReLU(inplace=True)),
            ("conv_5x5", nn.Conv2d(spec.n5x5_reduce, spec.n5x5, k, padding=k // 2)),
            ("relu_5x5", nn.ReLU(inplace=True)),
        ]))
        self.branch4 = nn.Sequential(OrderedDict([
            ("pool", nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)),
            ("pool_proj", nn.Conv2d(in_channels, spec.pool_proj, 1)),
            ("relu_pool_proj", nn.ReLU(inplace=True)),
        ]))

    @property
    def out_channels(self) -> int:
        return self.spec.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class NaiveInception(nn.Module):
    """The naive Inception block (the paper's Figure 2(a)): 1×1, 3×3 and 5×5 convolutions and a 3×3
    max pooling side by side on the input, concatenated — no 1×1 reductions.

    The pooling branch keeps all ``C_in`` channels, so ``C_out = n1x1 + n3x3 + n5x5 + C_in``.
    """

    def __init__(self, in_channels: int, n1x1: int, n3x3: int, n5x5: int) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        n1x1, n3x3, n5x5 = (check_positive_int(n, v) for n, v in (("n1x1", n1x1), ("n3x3", n3x3), ("n5x5", n5x5)))
        self.conv_1x1 = nn.Conv2d(in_channels, n1x1, 1)
        self.conv_3x3 = nn.Conv2d(in_channels, n3x3, 3, padding=1)
        self.conv_5x5 = nn.Conv2d(in_channels, n5x5, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.out_channels = n1x1 + n3x3 + n5x5 + in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.relu(self.conv_1x1(x)), F.relu(self.conv_3x3(x)), F.relu(self.conv_5x5(x)),
                          self.pool(x)], dim=1)


class AuxClassifier(nn.Module):
    """An auxiliary classifier (section 5 of the paper) on a 14×14 map.

    Average pooling 5×5/3 (14×14 → 4×4), 1×1 convolution with 128 filters + ReLU, fully connected
    layer with 1024 units + ReLU, dropout 70 %, linear layer to the classes (softmax in the loss).
    """

    def __init__(self, in_channels: int, num_classes: int = 1000, dropout: float = 0.7) -> None:
        super().__init__()
        in_channels = check_positive_int("in_channels", in_channels)
        num_classes = check_positive_int("num_classes", num_classes)
        dropout = check_probability("dropout", dropout, allow_one=False)
        self.avgpool = nn.AvgPool2d(5, stride=3, ceil_mode=True)
        self.conv = nn.Conv2d(in_channels, 128, 1)
        self.relu_conv = nn.ReLU(inplace=True)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.relu_fc1 = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu_conv(self.conv(self.avgpool(x)))
        return self.fc2(self.dropout(self.relu_fc1(self.fc1(self.flatten(x)))))


class GoogLeNetOutputs(NamedTuple):
    """What a GoogLeNet with auxiliary classifiers returns in training mode."""

    logits: torch.Tensor
    aux1: torch.Tensor
    aux2: torch.Tensor


class GoogLeNet(nn.Module):
    """GoogLeNet for 224×224×3 inputs, as in the paper's Table 1 and Figure 3.

    In training mode with ``aux_logits=True`` the forward pass returns :class:`GoogLeNetOutputs`
    ``(logits, aux1, aux2)``; otherwise (evaluation, or no auxiliary classifiers) only the logits. The
    auxiliary branches are skipped by a plain ``if self.training``, which ``torch.fx`` resolves when it
    traces, so :func:`cvlib.profile` (which runs in eval mode) sees the inference network only.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, dropout: float = 0.4,
                 aux_dropout: float = 0.7, branch3_kernel: int = 5) -> None:
        super().__init__()
        num_classes = check_positive_int("num_classes", num_classes)
        dropout = check_probability("dropout", dropout, allow_one=False)
        aux_dropout = check_probability("aux_dropout", aux_dropout, allow_one=False)
        aux_logits = check_bool("aux_logits", aux_logits)
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.norm1 = _caffe_lrn()
        self.conv2_reduce = nn.Conv2d(64, 64, 1)
        self.relu2_reduce = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(64, 192, 3, padding=1)
        self.relu2 = nn.ReLU(inplace=True)
        self.norm2 = _caffe_lrn()
        self.pool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        c_in = 192
        for name, spec in INCEPTION_CONFIG.items():
            self.add_module(f"inception{name}", Inception(c_in, spec, branch3_kernel))
            c_in = spec.out_channels
            if name in POOL_AFTER:
                self.add_module(POOL_AFTER[name], nn.MaxPool2d(3, stride=2, ceil_mode=True))
        self.avgpool = nn.AvgPool2d(7, stride=1)
        self.dropout = nn.Dropout(dropout)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c_in, num_classes)
        self.aux1: AuxClassifier | None = None
        self.aux2: AuxClassifier | None = None
        if aux_logits:
            self.aux1 = AuxClassifier(INCEPTION_CONFIG["4a"].out_channels, num_classes, aux_dropout)
            self.aux2 = AuxClassifier(INCEPTION_CONFIG["4d"].out_channels, num_classes, aux_dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor | GoogLeNetOutputs:
        x = self.norm1(self.pool1(self.relu1(self.conv1(x))))
        x = self.relu2_reduce(self.conv2_reduce(x))
        x = self.pool2(self.norm2(self.relu2(self.conv2(x))))
        x = self.pool3(self.inception3b(self.inception3a(x)))
        x = self.inception4a(x)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.pool4(self.inception4e(x))
        x = self.inception5b(self.inception5a(x))
        logits = self.fc(self.flatten(self.dropout(self.avgpool(x))))
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux1, aux2)
        return logits


# The paper prints no total parameter count (Table 1 gives one per module, weights only, in K = 1024;
# its text says "12× fewer parameters" than AlexNet). torchvision's googlenet is another network (see the
# docstring): no library count.
@register_model("googlenet", paper="szegedy2015going", input_size=224,
                paper_macs=1_500_000_000, macs_rtol=0.05 / 1.5, source="§1",
                macs_differ="a design budget: the network of Table 1 does 1,582,671,872 multiply-adds (1.58 G); "
                            "Table 1's ops column sums to 1,502 M because it lists conv1 at 34 M, where a "
                            "7×7 convolution from 3 to 64 maps on 112×112 does 118 M")
def googlenet(num_classes: int = 1000, aux_logits: bool = False, branch3_kernel: int = 5) -> GoogLeNet:
    """GoogLeNet (Inception v1) as in the paper: 6,998,552 parameters without the auxiliary classifiers.

    ``aux_logits=True`` adds the two training-time classifiers on 4a and 4d. Where others differ from
    the paper: the notes list the same layers (with shape slips, see the notebook) and no LRN;
    torchvision's ``googlenet`` uses a 3×3 convolution in the "5×5" branch (``branch3_kernel=3``),
    BatchNorm instead of LRN and biases, a 2×2 ``maxpool4``, dropout 0.2 and adaptive pooling.
    """
    return GoogLeNet(num_classes=num_classes, aux_logits=aux_logits, branch3_kernel=branch3_kernel)


def googlenet_loss(outputs: torch.Tensor | tuple[torch.Tensor, ...], target: torch.Tensor,
                   aux_weight: float = 0.3) -> torch.Tensor:
    """The training loss: ``CE(main) + aux_weight · (CE(aux1) + CE(aux2))``, or ``CE(main)`` alone.

    ``outputs`` is what :class:`GoogLeNet` returns: a tensor of logits, or ``(logits, aux1, aux2)``.
    The paper weights the auxiliary losses by 0.3.
    """
    aux_weight = check_real("aux_weight", aux_weight, 0)
    if isinstance(outputs, torch.Tensor):
        return F.cross_entropy(outputs, target)
    if len(outputs) != 3:
        raise ValueError(f"outputs must be logits or (logits, aux1, aux2), got a tuple of {len(outputs)}")
    main, aux1, aux2 = outputs
    return F.cross_entropy(main, target) + aux_weight * (F.cross_entropy(aux1, target)
                                                         + F.cross_entropy(aux2, target))
