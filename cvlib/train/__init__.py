"""Training: losses with their gradients, optimisers and schedules, knowledge distillation, and the one
``fit`` / ``evaluate`` / ``accuracy`` every page that trains a network uses.

What belongs here: what turns a model and data into trained weights. It may use :mod:`cvlib.nn` and
:mod:`cvlib.analysis`; never a model family or a detector (detection losses live in
:mod:`cvlib.detection.losses` and build on :func:`cvlib.train.losses.smooth_l1_loss`).
"""

from cvlib.train import losses, optim, distillation, loop
from cvlib.train.loop import History, evaluate, accuracy, fit

__all__ = ["losses", "optim", "distillation", "loop", "History", "evaluate", "accuracy", "fit"]
