"""Convolution variants (卷积的变体): pointwise, grouped, separable, dilated, transposed, deformable.

Each module writes one variant from its formula and is checked against ``torch.nn.functional`` or
``torch.nn`` where torch has it.
"""

from cvlib.nn.conv import pointwise, grouped, separable, dilated, transposed, deformable

__all__ = ["pointwise", "grouped", "separable", "dilated", "transposed", "deformable"]
