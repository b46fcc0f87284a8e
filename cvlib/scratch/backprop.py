"""Backpropagation (反向传播) by hand: NumPy layers with a forward and a backward pass.

Every layer follows one pattern. ``forward(x)`` computes the output and caches what the backward pass
needs; ``backward(grad_out)`` receives the upstream gradient ``dL/dY`` (same shape as the output),
stores the gradients of the layer's parameters in ``grads`` and returns ``dL/dX``: the *local* gradient
of the layer times the *upstream* gradient, i.e. the chain rule ``dL/dX = (dY/dX)ᵀ dL/dY`` applied
without ever forming the Jacobian ``dY/dX``. Shapes follow PyTorch: images are ``(N, C, H, W)``.

Formulas (``dY`` is the upstream gradient, ``N`` the batch size)::

    Linear      Y = X W + b                 dW = Xᵀ dY,  db = Σ_n dY_n,  dX = dY Wᵀ
    Conv2d      Y = im2col(X) Wᵀ + b        dW = dYᵀ im2col(X),  db = Σ dY,  dX = col2im(dY W)
    MaxPool2d   Y = max over each window    dX[argmax of window] += dY   (zero elsewhere)
    AvgPool2d   Y = mean over each window   dX[every cell of window] += dY / k²
    ReLU        Y = max(0, X)               dX = dY ⊙ [X > 0]
    Sigmoid     Y = σ(X)                    dX = dY ⊙ Y (1 − Y)
    SoftmaxCrossEntropy  L = −(1/N) Σ_n log p_n,y_n,  p = softmax(Z)    dZ = (p − y) / N
    SquaredError         E = ½ Σ (Y − D)²                              dY = Y − D

For the convolution, ``im2col`` lays every receptive-field window of the padded input out as one row of
a matrix ``(N·H_out·W_out, C_in·k_h·k_w)`` and ``W`` is the kernel reshaped to ``(C_out, C_in·k_h·k_w)``,
so the forward pass and both gradients are matrix products; ``col2im`` is the adjoint of ``im2col``: it
adds every row back onto the window it came from (overlapping windows add up) and drops the padding.

Softmax and cross-entropy reuse :mod:`cvlib.nn.activations` (on zero-copy tensor views of the arrays).
:func:`torch_function` wraps any layer as a ``torch.autograd.Function`` whose backward pass is the
NumPy one, so that ``torch.autograd.gradcheck`` can test it against finite differences.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

import numpy as np
import torch

from cvlib.nn import activations
from cvlib._validate import check_int, check_int_sequence, check_pair, check_real
from cvlib.analysis.shapes import conv_output_size

__all__ = [
    "Layer", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "Sigmoid", "Flatten",
    "SoftmaxCrossEntropy", "SquaredError", "Sequential", "im2col", "col2im", "sgd_step", "torch_function",
]


# ---------------------------------------------------------------------------------------------- checks

def _check_array(x: object, ndim: int, name: str = "x") -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a numpy.ndarray, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be a floating-point array, got dtype {x.dtype}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    return x


def _output_hw(h: int, w: int, kernel: tuple[int, int], stride: int, padding: int) -> tuple[int, int]:
    """``out = floor((in + 2p − k) / s) + 1`` per axis (:func:`cvlib.analysis.shapes.conv_output_size`)."""
    return (conv_output_size(h, kernel[0], stride, padding), conv_output_size(w, kernel[1], stride, padding))


# ---------------------------------------------------------------------------------- im2col / col2im

def im2col(x: np.ndarray, kernel: tuple[int, int], stride: int = 1, padding: int = 0,
           pad_value: float = 0.0) -> np.ndarray:
    """Unfold ``x`` ``(N, C, H, W)`` into ``(N·H_out·W_out, C·k_h·k_w)``: row ``(n, i, j)`` holds the
    window whose top-left corner is at ``(i·s − p, j·s − p)``, in the order ``(c, u, v)`` of the kernel
    ``W[:, c, u, v]``. The padding is filled with ``pad_value`` (``−inf`` for max pooling)."""
    x = _check_array(x, 4)
    kh, kw = check_pair("kernel", kernel, 1)
    stride, padding = check_int("stride", stride, 1), check_int("padding", padding, 0)
    pad_value = check_real("pad_value", pad_value, allow_inf=True)
    n, c, h, w = x.shape
    ho, wo = _output_hw(h, w, (kh, kw), stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=pad_value)
    cols = np.empty((n, c, kh, kw, ho, wo), dtype=x.dtype)
    for u in range(kh):  # one strided slice per kernel offset: k_h·k_w copies, not N·H_out·W_out
        for v in range(kw):
            cols[:, :, u, v] = xp[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * ho * wo, c * kh * kw)


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], kernel: tuple[int, int], stride: int = 1,
           padding: int = 0) -> np.ndarray:
    """The adjoint of :func:`im2col`: add each row of ``cols`` back onto its window of an array of
    ``shape`` ``(N, C, H, W)`` (overlapping windows add up) and crop the padding away."""
    if not isinstance(cols, np.ndarray):
        raise ValueError(f"cols must be a numpy.ndarray, got {type(cols).__name__}")
    n, c, h, w = check_int_sequence("shape", shape, 1, length=4)
    kh, kw = check_pair("kernel", kernel, 1)
    stride, padding = check_int("stride", stride, 1), check_int("padding", padding, 0)
    ho, wo = _output_hw(h, w, (kh, kw), stride, padding)
    if cols.shape != (n * ho * wo, c * kh * kw):
        raise ValueError(f"cols must have shape {(n * ho * wo, c * kh * kw)} for input {tuple(shape)}, "
                         f"kernel {kernel}, stride {stride}, padding {padding}; got {cols.shape}")
    cols = cols.reshape(n, ho, wo, c, kh, kw).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for u in range(kh):
        for v in range(kw):
            xp[:, :, u:u + stride * ho:stride, v:v + stride * wo:stride] += cols[:, :, u, v]
    return xp[:, :, padding:padding + h, padding:padding + w]


# ---------------------------------------------------------------------------------------------- layers

class Layer(ABC):
    """Base class: ``params`` and ``grads`` map names to arrays of the same shape; every layer defines
    ``forward`` (caching what its backward needs) and ``backward`` (returning dL/d input)."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._cache: tuple | None = None

    @abstractmethod
    def forward(self, x: np.ndarray) -> np.ndarray:
        """The layer's output; stores in ``self._cache`` what :meth:`backward` needs."""

    @abstractmethod
    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """``dL/dx`` from ``dL/dy``; fills ``self.grads`` for the layer's parameters."""

    def _cached(self) -> tuple:
        if self._cache is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        return self._cache

    @staticmethod
    def _check_grad(grad_out: object, shape: tuple[int, ...]) -> np.ndarray:
        if not isinstance(grad_out, np.ndarray) or grad_out.shape != shape:
            got = grad_out.shape if isinstance(grad_out, np.ndarray) else type(grad_out).__name__
            raise ValueError(f"grad_out must be an array of the output's shape {shape}, got {got}")
        return grad_out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)


class Linear(Layer):
    """Fully connected layer ``Y = X W + b`` with ``W`` of shape ``(in, out)`` (PyTorch's ``weight`` is
    ``Wᵀ``). Backward: ``dW = Xᵀ dY``, ``db = Σ_n dY_n``, ``dX = dY Wᵀ``."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None = None) -> None:
        super().__init__()
        weight = _check_array(weight, 2, "weight")
        if bias is not None and (_check_array(bias, 1, "bias").shape[0] != weight.shape[1]):
            raise ValueError(f"bias must have {weight.shape[1]} entries (weight is {weight.shape}), "
                             f"got {bias.shape[0]}")
        self.params["W"] = weight
        if bias is not None:
            self.params["b"] = bias

    @classmethod
    def init(cls, n_in: int, n_out: int, rng: np.random.Generator, bias: bool = True) -> "Linear":
        """PyTorch's default initialisation, ``U(−1/√n_in, 1/√n_in)`` for weights and bias."""
        bound = 1.0 / np.sqrt(check_int("n_in", n_in, 1))
        w = rng.uniform(-bound, bound, (n_in, check_int("n_out", n_out, 1)))
        return cls(w, rng.uniform(-bound, bound, n_out) if bias else None)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _check_array(x, 2)
        if x.shape[1] != self.params["W"].shape[0]:
            raise ValueError(f"x must have {self.params['W'].shape[0]} features, got shape {x.shape}")
        self._cache = (x,)
        y = x @ self.params["W"]
        return y + self.params["b"] if "b" in self.params else y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (x,) = self._cached()
        dy = self._check_grad(grad_out, (x.shape[0], self.params["W"].shape[1]))
        self.grads["W"] = x.T @ dy
        if "b" in self.params:
            self.grads["b"] = dy.sum(axis=0)
        return dy @ self.params["W"].T


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as every library computes it) as one matrix product.

    ``weight`` is ``(C_out, C_in, k_h, k_w)`` as in PyTorch. With ``X_col = im2col(X)`` of shape
    ``(N·H_out·W_out, C_in·k_h·k_w)`` and ``W_mat = weight`` reshaped to ``(C_out, C_in·k_h·k_w)``::

        Y_mat = X_col W_matᵀ + b          (then reshaped to (N, C_out, H_out, W_out))
        dW_mat = dY_matᵀ X_col,  db = Σ dY,  dX = col2im(dY_mat W_mat)
    """

    def __init__(self, weight: np.ndarray, bias: np.ndarray | None = None, stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        weight = _check_array(weight, 4, "weight")
        if bias is not None and _check_array(bias, 1, "bias").shape[0] != weight.shape[0]:
            raise ValueError(f"bias must have {weight.shape[0]} entries (one per output channel), "
                             f"got {bias.shape[0]}")
        self.stride = check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        self.params["W"] = weight
        if bias is not None:
            self.params["b"] = bias

    @classmethod
    def init(cls, c_in: int, c_out: int, kernel: int, rng: np.random.Generator, stride: int = 1,
             padding: int = 0, bias: bool = True) -> "Conv2d":
        """PyTorch's default initialisation, ``U(−1/√fan_in, 1/√fan_in)``, ``fan_in = C_in·k²``."""
        fan_in = check_int("c_in", c_in, 1) * check_int("kernel", kernel, 1) ** 2
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (check_int("c_out", c_out, 1), c_in, kernel, kernel))
        return cls(w, rng.uniform(-bound, bound, c_out) if bias else None, stride, padding)

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _check_array(x, 4)
        w = self.params["W"]
        c_out, c_in, kh, kw = w.shape
        if x.shape[1] != c_in:
            raise ValueError(f"x must have {c_in} channels (weight is {w.shape}), got shape {x.shape}")
        n, _, h, wd = x.shape
        ho, wo = _output_hw(h, wd, (kh, kw), self.stride, self.padding)
        cols = im2col(x, (kh, kw), self.stride, self.padding)
        y = cols @ w.reshape(c_out, -1).T
        if "b" in self.params:
            y = y + self.params["b"]
        self._cache = (x.shape, cols)
        return y.reshape(n, ho, wo, c_out).transpose(0, 3, 1, 2)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape, cols = self._cached()
        w = self.params["W"]
        c_out, _, kh, kw = w.shape
        ho, wo = _output_hw(shape[2], shape[3], (kh, kw), self.stride, self.padding)
        dy = self._check_grad(grad_out, (shape[0], c_out, ho, wo))
        dy_mat = dy.transpose(0, 2, 3, 1).reshape(-1, c_out)  # (N·H_out·W_out, C_out)
        self.grads["W"] = (dy_mat.T @ cols).reshape(w.shape)
        if "b" in self.params:
            self.grads["b"] = dy_mat.sum(axis=0)
        return col2im(dy_mat @ w.reshape(c_out, -1), shape, (kh, kw), self.stride, self.padding)


class _Pool2d(Layer):
    def __init__(self, kernel: int, stride: int | None = None, padding: int = 0) -> None:
        super().__init__()
        self.kernel = check_int("kernel", kernel, 1)
        self.stride = self.kernel if stride is None else check_int("stride", stride, 1)
        self.padding = check_int("padding", padding, 0)
        if self.padding > self.kernel // 2:
            raise ValueError(f"padding must be at most kernel // 2 = {self.kernel // 2} (as in PyTorch), "
                             f"got {self.padding}")

    def _windows(self, x: np.ndarray, pad_value: float) -> tuple[np.ndarray, tuple[int, int]]:
        """Each channel's windows as rows: ``(N·C·H_out·W_out, k²)``."""
        x = _check_array(x, 4)
        n, c, h, w = x.shape
        hw = _output_hw(h, w, (self.kernel, self.kernel), self.stride, self.padding)
        cols = im2col(x.reshape(n * c, 1, h, w), (self.kernel, self.kernel), self.stride, self.padding,
                      pad_value)
        return cols, hw

    def _unpool(self, dcols: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        n, c, h, w = shape
        k = (self.kernel, self.kernel)
        return col2im(dcols, (n * c, 1, h, w), k, self.stride, self.padding).reshape(shape)


class MaxPool2d(_Pool2d):
    """Max pooling: ``Y = max`` over each ``k×k`` window (padding counts as ``−inf``). Backward: the
    whole upstream gradient of a window goes to its arg max (the first one on a tie), nothing to the
    other cells; an input that is the maximum of several overlapping windows receives the sum."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        cols, (ho, wo) = self._windows(x, -np.inf)
        arg = cols.argmax(axis=1)
        self._cache = (x.shape, arg)
        return cols[np.arange(len(arg)), arg].reshape(x.shape[0], x.shape[1], ho, wo)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        shape, arg = self._cached()
        ho, wo = _output_hw(shape[2], shape[3], (self.kernel, self.kernel), self.stride, self.padding)
        dy = self._check_grad(grad_out, (shape[0], shape[1], ho, wo))
        dcols = np.zeros((len(arg), self.kernel ** 2), dtype=dy.dtype)
        dcols[np.arange(len(arg)), arg] = dy.reshape(-1)
        return self._unpool(dcols, shape)


class AvgPool2d(_Pool2d):
    """Average pooling: ``Y = (1/k²) Σ`` over each ``k×k`` window, zero padding counted in the mean
    (PyTorch's default ``count_include_pad=True``). Backward: every cell of a window receives
    ``dY / k²``; overlapping windows add up."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        cols, (ho, wo) = self._windows(x, 0.0)
        self._cache = (x.shape,)
        return cols.mean(axis=1).reshape(x.shape[0], x.shape[1], ho, wo)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (shape,) = self._cached()
        ho, wo = _output_hw(shape[2], shape[3], (self.kernel, self.kernel), self.stride, self.padding)
        dy = self._check_grad(grad_out, (shape[0], shape[1], ho, wo))
        dcols = np.repeat(dy.reshape(-1, 1) / self.kernel ** 2, self.kernel ** 2, axis=1)
        return self._unpool(dcols, shape)


class ReLU(Layer):
    """``Y = max(0, X)``; ``dX = dY ⊙ [X > 0]`` (0 at ``X = 0``, as autograd)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"x must be a floating-point numpy.ndarray, got {type(x).__name__}")
        self._cache = (x > 0,)
        return np.where(x > 0, x, 0.0).astype(x.dtype, copy=False)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (mask,) = self._cached()
        return self._check_grad(grad_out, mask.shape) * mask


class Sigmoid(Layer):
    """``Y = σ(X) = 1 / (1 + e^(−X))`` (:func:`cvlib.nn.activations.sigmoid`); ``dX = dY ⊙ Y (1 − Y)``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(f"x must be a floating-point numpy.ndarray, got {type(x).__name__}")
        y = activations.sigmoid(torch.from_numpy(x)).numpy()
        self._cache = (y,)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (y,) = self._cached()
        return self._check_grad(grad_out, y.shape) * y * (1.0 - y)


class Flatten(Layer):
    """``(N, C, H, W) → (N, C·H·W)``; the backward pass reshapes the gradient back."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not isinstance(x, np.ndarray) or x.ndim < 2:
            raise ValueError(f"x must be an array with a batch dimension, got {getattr(x, 'shape', x)!r}")
        self._cache = (x.shape,)
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        (shape,) = self._cached()
        return self._check_grad(grad_out, (shape[0], int(np.prod(shape[1:])))).reshape(shape)


# ---------------------------------------------------------------------------------------------- losses

class SoftmaxCrossEntropy:
    """Mean softmax cross-entropy of logits ``Z`` ``(N, C)`` and class indices ``y`` ``(N,)``:
    ``L = −(1/N) Σ_n log softmax(Z_n)_(y_n)``; ``dL/dZ = (softmax(Z) − onehot(y)) / N``.

    Both come from :mod:`cvlib.nn.activations` (``cross_entropy``, ``cross_entropy_grad``)."""

    def __init__(self) -> None:
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        logits = _check_array(logits, 2, "logits")
        if not isinstance(target, np.ndarray) or not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"target must be an integer numpy.ndarray of class indices, got "
                             f"{getattr(target, 'dtype', type(target).__name__)}")
        loss = activations.cross_entropy(torch.from_numpy(logits), torch.from_numpy(target))
        self._cache = (logits, target)
        return float(loss)

    def backward(self, grad_out: float = 1.0) -> np.ndarray:
        if self._cache is None:
            raise ValueError("SoftmaxCrossEntropy.backward called before forward")
        logits, target = self._cache
        grad = activations.cross_entropy_grad(torch.from_numpy(logits), torch.from_numpy(target)).numpy()
        return grad * grad_out

    __call__ = forward


class SquaredError:
    """Rumelhart, Hinton & Williams' error ``E = ½ Σ_c Σ_j (y_jc − d_jc)²`` (summed, not averaged);
    ``dE/dy = y − d``."""

    def __init__(self) -> None:
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    def forward(self, y: np.ndarray, d: np.ndarray) -> float:
        if not isinstance(y, np.ndarray) or not isinstance(d, np.ndarray) or y.shape != d.shape:
            raise ValueError(f"y and d must be arrays of the same shape, got "
                             f"{getattr(y, 'shape', type(y).__name__)} and {getattr(d, 'shape', type(d).__name__)}")
        self._cache = (y, d)
        return float(0.5 * ((y - d) ** 2).sum())

    def backward(self, grad_out: float = 1.0) -> np.ndarray:
        if self._cache is None:
            raise ValueError("SquaredError.backward called before forward")
        y, d = self._cache
        return (y - d) * grad_out

    __call__ = forward


# ---------------------------------------------------------------------------------------------- networks

class Sequential(Layer):
    """Layers in a chain: ``forward`` runs them in order, ``backward`` in reverse order, each layer
    turning the upstream gradient into the gradient of its input."""

    def __init__(self, *layers: Layer) -> None:
        super().__init__()
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise ValueError("Sequential takes one or more Layer instances")
        self.layers = list(layers)

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def parameters(self) -> Iterable[tuple[Layer, str]]:
        for layer in self.layers:
            for name in layer.params:
                yield layer, name


def sgd_step(net: Sequential, lr: float) -> None:
    """Plain gradient descent, ``W ← W − lr · dL/dW`` for every parameter (in place)."""
    lr = check_real("lr", lr, 0.0, low_open=True)
    for layer, name in net.parameters():
        layer.params[name] -= lr * layer.grads[name]


# ---------------------------------------------------------------------------------------------- torch

def torch_function(layer: Layer) -> Callable[..., torch.Tensor]:
    """``f(x, *params)`` as a ``torch.autograd.Function``: forward and backward run ``layer``'s NumPy
    code (parameters in the order of ``layer.params``), so ``torch.autograd.gradcheck(f, (x, *params))``
    compares the hand-written backward pass with finite differences."""
    names = list(layer.params)

    class _Bridge(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
            ctx.save_for_backward(x, *params)
            for name, p in zip(names, params):
                layer.params[name] = p.detach().numpy().copy()
            return torch.from_numpy(layer.forward(x.detach().numpy().copy()))

        @staticmethod
        def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
            x, *params = ctx.saved_tensors
            for name, p in zip(names, params):  # re-run forward: the cache may hold a later call
                layer.params[name] = p.detach().numpy().copy()
            layer.forward(x.detach().numpy().copy())
            dx = layer.backward(grad_out.detach().numpy().copy())
            return (torch.from_numpy(dx), *(torch.from_numpy(layer.grads[n]) for n in names))

    def apply(x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
        if len(params) != len(names):
            raise ValueError(f"expected {len(names)} parameter tensors {names}, got {len(params)}")
        return _Bridge.apply(x, *params)

    return apply
