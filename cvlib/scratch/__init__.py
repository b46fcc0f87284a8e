"""Algorithms written in NumPy from first principles: the forward and backward passes of the common
layers (:mod:`.backprop`) and simulated annealing (:mod:`.annealing`).

What belongs here: code whose lesson is the algorithm itself, run without autograd. It may use
:mod:`cvlib.analysis` and :mod:`cvlib.nn` (the softmax and cross-entropy it checks its gradients of).
"""

from cvlib.scratch import backprop, annealing

__all__ = ["backprop", "annealing"]
