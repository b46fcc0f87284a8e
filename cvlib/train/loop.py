"""The one training loop of the book: :func:`fit`, :func:`evaluate` and :func:`accuracy`.

Every page that trains a network calls :func:`fit` instead of writing its own loop::

    history = fit(model, (x_train, y_train), epochs=20, optimizer="adam", lr=1e-3, batch_size=50,
                  eval_data={"test": (x_test, y_test)})
    history["test_accuracy"][-1], evaluate(model, (x_test, y_test)).loss

What one epoch of :func:`fit` computes: the training examples are put in a random order (a
``torch.Generator`` seeded with ``seed``; ``shuffle=False`` keeps their order), cut into mini-batches of
``batch_size`` (``None``: the whole set, full-batch gradient descent; ``drop_last=True`` leaves out an
incomplete last batch) and, per batch::

    output = model(augment(x, generator) if augment else x)
    loss(output, *targets).backward();  optimizer.step();  schedule.step()

with the gradients zeroed before each backward pass. The run is deterministic on the CPU: the same seed,
model and data give bit-identical weights (the model's own initialisation is the caller's, seeded before
the model is built). Random draws inside the forward pass (``torch.nn.Dropout``) use the global generator,
which :func:`fit` seeds with ``seed`` inside ``torch.random.fork_rng``: the caller's global random state is
the same after the call as before it.

Data are tuples of tensors that share their first dimension: ``(inputs, targets)``, or
``(inputs, targets, more, ...)`` for a loss of several targets (a teacher's logits), which is then called
as ``loss(output, targets, more, ...)``. Accuracy is measured against the first target, when it holds class
indices.

A progress bar goes to ``stderr`` only when ``stderr`` is a terminal and the run has lasted more than two
seconds (``progress=None``, the default); in a notebook or a test nothing is printed, so the bar never
enters a compared output.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cvlib._validate import check_bool, check_choice, check_int, check_positive_int, check_real, check_tensor

__all__ = ["OPTIMIZERS", "Evaluation", "Step", "History", "accuracy", "evaluate", "fit"]

#: The optimisers :func:`fit` builds by name (from ``torch.optim``); any ready ``torch.optim.Optimizer``
#: is accepted too.
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
}

Data = Sequence[torch.Tensor]
Loss = Callable[..., torch.Tensor]


class Evaluation(NamedTuple):
    """What :func:`evaluate` measures on a data set."""

    loss: float      #: the loss over the whole set (the loss function's own reduction, a mean for the defaults)
    accuracy: float  #: the fraction of examples whose predicted class is the target; NaN without class targets


@dataclass(frozen=True)
class Step:
    """What the ``on_step`` callback of :func:`fit` sees after each optimiser step."""

    epoch: int                       #: the epoch the step belongs to, from 1
    step: int                        #: steps taken so far, this one included (from 1)
    loss: float                      #: the mini-batch loss computed before the update
    output: torch.Tensor             #: the model's output for the batch (detached), before the update
    targets: tuple[torch.Tensor, ...]  #: the batch's targets
    model: nn.Module                 #: the model, in training mode


@dataclass
class History:
    """The record of one :func:`fit` run, one entry per recorded epoch.

    ``epoch[i]`` is the epoch (from 1) of record ``i``; ``loss[i]`` the mean mini-batch loss over that
    epoch's steps, each batch weighted by its size, as computed during training (training mode, before each
    update); ``accuracy[i]`` the fraction of that epoch's training examples whose output picked the target
    class, measured the same way (NaN without class targets). ``metrics`` holds the evaluations
    (``"<name>_loss"``, ``"<name>_accuracy"`` for every set of ``eval_data``) and the values of the
    ``metrics`` callables, measured after the epoch in eval mode. ``history[name]`` is any of these
    columns as a NumPy array.
    """

    epoch: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0          #: optimiser steps taken
    stopped: bool = False   #: ``True`` if ``on_step`` ended the run early
    seconds: float = 0.0    #: wall-clock time of the run

    def __len__(self) -> int:
        return len(self.epoch)

    def keys(self) -> list[str]:
        return ["epoch", "loss", "accuracy", *self.metrics]

    def __getitem__(self, name: str) -> np.ndarray:
        if name in ("epoch", "loss", "accuracy"):
            return np.asarray(getattr(self, name))
        if name not in self.metrics:
            raise KeyError(f"no column {name!r} in this history; it has {', '.join(self.keys())}")
        return np.asarray(self.metrics[name])


def _as_tensor(name: str, value: Any) -> torch.Tensor:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return check_tensor(name, value)


def accuracy(scores: torch.Tensor | np.ndarray, targets: torch.Tensor | np.ndarray, *,
             largest: bool = True) -> float:
    """The fraction of rows of ``scores`` (``N × C``) whose largest entry is at the index ``targets[n]``.

    ``largest=False`` takes the smallest entry instead (outputs that are penalties, like LeNet-5's RBF
    units). Ties go to the lowest index, as ``argmax`` breaks them. Tensors or NumPy arrays; ``targets``
    are ``N`` integers in ``[0, C)``.
    """
    s = _as_tensor("scores", scores)
    t = _as_tensor("targets", targets)
    check_tensor("scores", s, "N C")
    check_tensor("targets", t, "N")
    check_bool("largest", largest)
    if len(s) != len(t):
        raise ValueError(f"scores and targets must have the same number of rows, got {len(s)} and {len(t)}")
    if len(s) == 0:
        raise ValueError("accuracy of an empty set is undefined: scores has 0 rows")
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise ValueError(f"targets must hold integer class indices, got dtype {t.dtype}")
    if int(t.min()) < 0 or int(t.max()) >= s.shape[1]:
        raise ValueError(f"targets must be class indices in [0, {s.shape[1]}), got values from "
                         f"{int(t.min())} to {int(t.max())}")
    pred = s.argmax(1) if largest else s.argmin(1)
    return (pred == t.to(pred.device)).double().mean().item()


def _is_class_target(output: torch.Tensor, target: torch.Tensor) -> bool:
    return (output.dim() == 2 and target.dim() == 1 and len(target) == len(output)
            and not target.is_floating_point() and target.dtype != torch.bool)


def _check_data(name: str, data: Any) -> tuple[torch.Tensor, ...]:
    if isinstance(data, torch.Tensor) or not isinstance(data, Sequence) or len(data) < 2:
        raise ValueError(f"{name} must be a tuple (inputs, targets, ...) of at least two tensors, "
                         f"got {type(data).__name__}")
    tensors = tuple(check_tensor(f"{name}[{i}]", t) for i, t in enumerate(data))
    n = len(tensors[0]) if tensors[0].dim() else 0
    if n == 0 or any(t.dim() == 0 or len(t) != n for t in tensors):
        raise ValueError(f"{name} must hold tensors with the same, non-zero first dimension, got shapes "
                         f"{[tuple(t.shape) for t in tensors]}")
    return tensors


def _check_callable(name: str, value: Any, allow_none: bool = True) -> Any:
    if (value is None and not allow_none) or (value is not None and not callable(value)):
        raise ValueError(f"{name} must be a function{' or None' if allow_none else ''}, got {value!r}")
    return value


@torch.no_grad()
def _evaluate(model: nn.Module, tensors: tuple[torch.Tensor, ...], loss: Loss, batch_size: int | None,
              largest: bool) -> Evaluation:
    n = len(tensors[0])
    size = n if batch_size is None else batch_size
    total, correct, counted = 0.0, 0, True
    for start in range(0, n, size):
        part = [t[start:start + size] for t in tensors]
        out = model(part[0])
        total += float(loss(out, *part[1:])) * len(part[0])
        if counted and _is_class_target(out, part[1]):
            pred = out.argmax(1) if largest else out.argmin(1)
            correct += int((pred == part[1]).sum())
        else:
            counted = False
    return Evaluation(total / n, correct / n if counted else math.nan)


def evaluate(model: nn.Module, data: Data, *, loss: Loss = F.cross_entropy, batch_size: int | None = None,
             largest: bool = True) -> Evaluation:
    """The loss and the accuracy of ``model`` on ``data = (inputs, targets, ...)``, without gradients.

    The model runs in eval mode (dropout off, batch norm on its running statistics) and is put back in the
    mode it was in. ``loss(output, targets, ...)`` is averaged over batches of ``batch_size`` (``None``: one
    pass over the whole set) weighted by their size, which for a mean-reduced loss is the loss of the whole
    set. ``accuracy`` is :func:`accuracy` of the outputs against the first target (``largest=False``: the
    smallest output is the prediction), NaN when that target does not hold class indices.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = _check_data("data", data)
    _check_callable("loss", loss, allow_none=False)
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    check_bool("largest", largest)
    was_training = model.training
    model.eval()
    try:
        return _evaluate(model, tensors, loss, batch_size, largest)
    finally:
        model.train(was_training)


class _Progress:
    """A one-line progress bar on stderr, for terminals only (see the module docstring)."""

    def __init__(self, enabled: bool | None, total: int) -> None:
        self.auto = enabled is None
        self.enabled = bool(enabled) if enabled is not None else bool(getattr(sys.stderr, "isatty", bool)())
        self.total, self.start, self.last, self.shown = total, time.perf_counter(), 0.0, False

    def update(self, step: int, epoch: int, epochs: int | None, loss: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if (self.auto and now - self.start < 2.0) or now - self.last < 0.2:
            return
        self.last, self.shown = now, True
        frac = min(step / self.total, 1.0) if self.total else 0.0
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        sys.stderr.write(f"\rfit: epoch {epoch}/{epochs if epochs is not None else '?'} [{bar}] "
                         f"step {step}/{self.total}  loss {loss:.4g}  {now - self.start:.0f} s ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _make_optimizer(model: nn.Module, optimizer: Any, lr: float | None, momentum: float,
                    weight_decay: float) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        if lr is not None or momentum or weight_decay:
            raise ValueError("lr, momentum and weight_decay configure an optimizer given by name; "
                             "a ready torch.optim.Optimizer carries its own")
        return optimizer
    if not isinstance(optimizer, str):
        raise ValueError(f"optimizer must be one of {', '.join(map(repr, OPTIMIZERS))} or a "
                         f"torch.optim.Optimizer, got {optimizer!r}")
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if lr is None:
        raise ValueError(f"lr must be given with optimizer={optimizer!r}")
    lr = check_real("lr", lr, 0.0, low_open=True)
    momentum = check_real("momentum", momentum, 0.0, 1.0, high_open=True)
    weight_decay = check_real("weight_decay", weight_decay, 0.0)
    kwargs: dict[str, float] = {"lr": lr}
    if momentum:
        if optimizer not in ("sgd", "rmsprop"):
            raise ValueError(f"momentum applies to 'sgd' and 'rmsprop', not to {optimizer!r}")
        kwargs["momentum"] = momentum
    if weight_decay:
        kwargs["weight_decay"] = weight_decay
    return OPTIMIZERS[optimizer](model.parameters(), **kwargs)


def fit(model: nn.Module, train_data: Data, *, epochs: int | None, optimizer: str | torch.optim.Optimizer = "adam",
        lr: float | None = None, momentum: float = 0.0, weight_decay: float = 0.0, loss: Loss = F.cross_entropy,
        batch_size: int | None = None, shuffle: bool = True, drop_last: bool = False, seed: int = 0,
        augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
        schedule: Callable[[torch.optim.Optimizer, int], Any] | None = None,
        eval_data: Mapping[str, Data] | None = None, eval_every: int = 1,
        metrics: Mapping[str, Callable[[nn.Module], float]] | None = None, largest: bool = True,
        on_step: Callable[[Step], bool | None] | None = None, max_steps: int | None = None,
        progress: bool | None = None) -> History:
    """Train ``model`` in place on ``train_data = (inputs, targets, ...)`` by mini-batch gradient descent.

    One epoch is one pass over the data in a seeded random order (see the module docstring for the exact
    step). Arguments:

    - ``epochs`` passes (``None``: as many as ``max_steps`` needs); ``max_steps`` caps the number of
      optimiser steps over the whole run.
    - ``optimizer``: a name of :data:`OPTIMIZERS` built on ``model.parameters()`` with ``lr`` (required),
      ``momentum`` (``"sgd"``, ``"rmsprop"``) and ``weight_decay``; or a ready ``torch.optim.Optimizer``,
      whose state carries over from earlier runs.
    - ``loss(output, targets, ...)``, by default ``F.cross_entropy``.
    - ``batch_size`` (``None``: the whole set in one step), ``shuffle``, ``drop_last`` as above;
      ``seed`` seeds the order, ``augment`` and the global generator during the run.
    - ``augment(inputs, generator)`` transforms every training batch (random shifts, crops), drawing from
      the same seeded generator.
    - ``schedule(optimizer, total_steps)`` returns a learning-rate scheduler, stepped after every step.
    - ``eval_data``: named sets evaluated with :func:`evaluate` (same ``loss`` and ``largest``) after every
      ``eval_every``-th epoch and after the last; ``metrics``: named functions of the model, measured at
      the same time under ``torch.no_grad()`` in eval mode.
    - ``on_step(step)`` is called after every optimiser step with a :class:`Step`; returning ``True`` ends
      the run at once.
    - ``progress``: ``True`` always shows the bar on stderr, ``False`` never, ``None`` on terminals only.

    An epoch is recorded in the returned :class:`History` only when it completes (every ``eval_every``-th
    and the last); one cut short by ``max_steps`` or ``on_step`` is not. The model is left in eval mode.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    tensors = _check_data("train_data", train_data)
    if epochs is None and max_steps is None:
        raise ValueError("epochs must be a positive integer (or None together with max_steps), got None")
    if epochs is not None:
        epochs = check_positive_int("epochs", epochs)
    if max_steps is not None:
        max_steps = check_positive_int("max_steps", max_steps)
    n = len(tensors[0])
    if batch_size is not None:
        batch_size = check_positive_int("batch_size", batch_size)
    size = n if batch_size is None else batch_size
    shuffle, drop_last, largest = (check_bool("shuffle", shuffle), check_bool("drop_last", drop_last),
                                   check_bool("largest", largest))
    seed = check_int("seed", seed, 0)
    eval_every = check_positive_int("eval_every", eval_every)
    _check_callable("loss", loss, allow_none=False)
    for name, fn in (("augment", augment), ("schedule", schedule), ("on_step", on_step)):
        _check_callable(name, fn)
    if progress is not None:
        check_bool("progress", progress)
    evals = {}
    if eval_data is not None:
        if not isinstance(eval_data, Mapping):
            raise ValueError("eval_data must be a mapping of names to data sets, e.g. {'test': (x, y)}, "
                             f"got {type(eval_data).__name__}")
        evals = {name: _check_data(f"eval_data[{name!r}]", d) for name, d in eval_data.items()}
    metric_fns = {}
    if metrics is not None:
        if not isinstance(metrics, Mapping):
            raise ValueError(f"metrics must be a mapping of names to functions of the model, got {metrics!r}")
        metric_fns = {name: _check_callable(f"metrics[{name!r}]", fn, allow_none=False)
                      for name, fn in metrics.items()}
    steps_per_epoch = n // size if drop_last else math.ceil(n / size)
    if steps_per_epoch == 0:
        raise ValueError(f"drop_last=True with batch_size={batch_size} > {n} examples leaves no batch")
    total = epochs * steps_per_epoch if epochs is not None else max_steps
    if max_steps is not None:
        total = min(total, max_steps)
    opt = _make_optimizer(model, optimizer, lr, momentum, weight_decay)
    scheduler = schedule(opt, total) if schedule is not None else None

    history = History()
    names = [f"{name}_{what}" for name in evals for what in ("loss", "accuracy")] + list(metric_fns)
    history.metrics = {name: [] for name in names}
    if len(set(names)) != len(names) or set(names) & {"epoch", "loss", "accuracy"}:
        raise ValueError(f"the names of eval_data and metrics give clashing columns: {names}")
    bar = _Progress(progress, total)
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(seed)
    x_all, targets_all = tensors[0], tensors[1:]
    epoch = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            while (epochs is None or epoch < epochs) and history.steps < total and not history.stopped:
                epoch += 1
                model.train()
                order = torch.randperm(n, generator=generator) if shuffle else None
                loss_sum, correct, seen, counted = 0.0, 0, 0, True
                complete = True
                for b in range(steps_per_epoch):
                    if history.steps >= total:
                        complete = False
                        break
                    if order is None and size == n:
                        x, targets = x_all, targets_all
                    else:
                        idx = order[b * size:(b + 1) * size] if order is not None else slice(b * size, (b + 1) * size)
                        x, targets = x_all[idx], tuple(t[idx] for t in targets_all)
                    if augment is not None:
                        x = augment(x, generator)
                    output = model(x)
                    value = loss(output, *targets)
                    opt.zero_grad()
                    value.backward()
                    opt.step()
                    if scheduler is not None:
                        scheduler.step()
                    history.steps += 1
                    batch_loss = value.item()
                    loss_sum += batch_loss * len(x)
                    seen += len(x)
                    if counted and _is_class_target(output, targets[0]):
                        with torch.no_grad():
                            pred = output.argmax(1) if largest else output.argmin(1)
                            correct += int((pred == targets[0]).sum())
                    else:
                        counted = False
                    bar.update(history.steps, epoch, epochs, batch_loss)
                    if on_step is not None and on_step(Step(epoch, history.steps, batch_loss, output.detach(),
                                                            targets, model)):
                        history.stopped, complete = True, False
                        break
                if not complete:
                    break
                last = (epochs is not None and epoch == epochs) or history.steps >= total
                if epoch % eval_every and not last:
                    continue
                history.epoch.append(epoch)
                history.loss.append(loss_sum / seen)
                history.accuracy.append(correct / seen if counted else math.nan)
                model.eval()
                for name, data in evals.items():
                    result = _evaluate(model, data, loss, None, largest)
                    history.metrics[f"{name}_loss"].append(result.loss)
                    history.metrics[f"{name}_accuracy"].append(result.accuracy)
                with torch.no_grad():
                    for name, fn in metric_fns.items():
                        history.metrics[name].append(float(fn(model)))
        finally:
            bar.close()
            model.eval()
    history.seconds = time.perf_counter() - start
    return history
