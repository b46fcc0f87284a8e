"""Output size of convolution and pooling layers (输入输出尺寸计算).

The notes' formula, per spatial axis, with the padding of each side given separately::

    out = (in - k + p_before + p_after) / s + 1

The division is rounded down (``floor``) for convolution and for PyTorch's pooling by default, and up
(``ceil``) for Caffe's pooling and for ``ceil_mode=True``. With dilation ``d`` the kernel covers
``k_eff = d * (k - 1) + 1`` input pixels. TensorFlow's ``'same'`` and ``'valid'`` padding are defined by
the output size instead: ``ceil(in / s)`` and ``ceil((in - k_eff + 1) / s)``.
"""

from __future__ import annotations

from typing import Literal

from cvlib._validate import check_bool, check_choice, check_int, check_pair

__all__ = [
    "effective_kernel",
    "conv_output_size",
    "tf_padding",
    "tf_output_size",
]


_TF_PADDINGS = ("same", "valid")


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Extent of a dilated kernel: ``k_eff = d * (k - 1) + 1``."""
    kernel = check_int("kernel", kernel, 1)
    dilation = check_int("dilation", dilation, 1)
    return dilation * (kernel - 1) + 1


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Output length along one axis of a convolution or pooling window.

    ``out = floor_or_ceil((size + p_before + p_after - k_eff) / stride) + 1`` with
    ``k_eff = dilation * (kernel - 1) + 1``.

    ``padding`` is either one number (the same on both sides) or ``(before, after)``, the notes'
    asymmetric ``padding_l, padding_r``. With ``ceil_mode=True`` the division rounds up, as Caffe's
    pooling does, and a last window that would start in the right-hand padding only is dropped — as
    PyTorch always does, and Caffe does when the pooling has padding.

    Every size is an integer (Python or NumPy, not ``bool``). Raises ``ValueError``, naming the argument,
    for a non-integer or non-positive size, kernel, stride or dilation, a negative or malformed padding,
    a ``ceil_mode`` that is not ``True``/``False``, or a kernel larger than the padded input.
    """
    size = check_int("size", size, 1)
    stride = check_int("stride", stride, 1)
    before, after = check_pair("padding", padding, 0, parts=("before", "after"))
    ceil_mode = check_bool("ceil_mode", ceil_mode)
    kernel, dilation = check_int("kernel", kernel, 1), check_int("dilation", dilation, 1)
    k_eff = effective_kernel(kernel, dilation)
    padded = size + before + after
    if k_eff > padded:
        raise ValueError(
            f"kernel extent {k_eff} (kernel={kernel}, dilation={dilation}) is larger than the padded "
            f"input {padded} (size={size}, padding={before}+{after}); it must be <= the padded input"
        )
    span = padded - k_eff
    if ceil_mode:
        out = -(-span // stride) + 1
        # The last window must start inside the input or the left padding.
        if (out - 1) * stride >= size + before:
            out -= 1
    else:
        out = span // stride + 1
    return out


def tf_output_size(size: int, kernel: int, stride: int = 1, padding: Literal["same", "valid"] = "same",
                   dilation: int = 1) -> int:
    """TensorFlow's output length: ``ceil(size / s)`` for ``'same'``, ``ceil((size - k_eff + 1) / s)``
    for ``'valid'``."""
    size = check_int("size", size, 1)
    stride = check_int("stride", stride, 1)
    k_eff = effective_kernel(kernel, dilation)
    if check_choice("padding", padding, _TF_PADDINGS) == "same":
        return -(-size // stride)
    if k_eff > size:
        raise ValueError(f"'valid' padding needs kernel extent {k_eff} <= input size {size}")
    return -(-(size - k_eff + 1) // stride)


def tf_padding(size: int, kernel: int, stride: int = 1, padding: Literal["same", "valid"] = "same",
               dilation: int = 1) -> tuple[int, int]:
    """Padding ``(before, after)`` that TensorFlow adds along one axis.

    For ``'same'``: ``total = max((out - 1) * s + k_eff - size, 0)``, ``before = total // 2`` and
    ``after = total - before``, so an odd total puts the extra pixel after (right/bottom). ``'valid'``
    pads nothing.
    """
    out = tf_output_size(size, kernel, stride, padding, dilation)
    if padding == "valid":
        return (0, 0)
    total = max((out - 1) * int(stride) + effective_kernel(kernel, dilation) - int(size), 0)
    return (total // 2, total - total // 2)
