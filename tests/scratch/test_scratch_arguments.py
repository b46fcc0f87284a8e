"""The from-scratch modules reject impossible arguments with a ValueError naming them (issue 21)."""

import math

import numpy as np
import pytest

from cvlib.scratch.annealing import acceptance_probability, geometric_schedule, two_opt_delta
from cvlib.scratch.backprop import MaxPool2d, Sequential, col2im, im2col, sgd_step, Linear

X = np.zeros((1, 1, 4, 4))


@pytest.mark.parametrize("call,match", [
    (lambda: acceptance_probability(1.0, "1"), "temperature must be a real number >= 0.0"),
    (lambda: acceptance_probability(1.0, math.nan), "temperature must be a real number"),
    (lambda: acceptance_probability("1", 1.0), "delta must be a real number"),
    (lambda: acceptance_probability(math.nan, 1.0), "delta must be a real number"),
    (lambda: geometric_schedule(math.inf, 0.9, 3), r"t0 \(the initial temperature\) must be a real number > 0.0"),
    (lambda: geometric_schedule(1.0, 0.0, 3), r"alpha \(the cooling factor\) must be a real number in \(0.0, 1.0\]"),
    (lambda: geometric_schedule(1.0, True, 3), "alpha"),
    (lambda: geometric_schedule(1.0, 0.9, 2.0), "steps must be an integer >= 1, got 2.0"),
    (lambda: two_opt_delta(np.zeros((4, 2)), [0, 1, 2, 3], 0.5, 2), "i must be an integer >= 0"),
    (lambda: two_opt_delta(np.zeros((4, 2)), [0, 1, 2, 3], 0, "2"), "j must be an integer"),
    (lambda: im2col(X, (3, 0)), r"kernel\[1\] must be an integer >= 1, got 0"),
    (lambda: im2col(X, 2.5), "kernel must be an integer or a pair"),
    (lambda: im2col(X, 3, stride=1.5), "stride must be an integer >= 1"),
    (lambda: im2col(X, 3, padding=True), "padding must be an integer"),
    (lambda: im2col(X, 3, pad_value="0"), "pad_value must be a real number"),
    (lambda: col2im(np.zeros((4, 9)), (1, 1, 4, 4), 3, stride=0), "stride must be an integer >= 1"),
    (lambda: col2im(np.zeros((4, 9)), (1, 1, 4), 3), "shape must be a sequence of 4 integers"),
    (lambda: col2im(np.zeros((4, 9)), (1, 1, 4, 4.0), 3), r"shape\[3\] must be an integer >= 1"),
    (lambda: col2im([[0.0]], (1, 1, 4, 4), 3), "cols must be a numpy.ndarray"),
    (lambda: MaxPool2d(2, stride=1.5), "stride must be an integer >= 1"),
    (lambda: sgd_step(Sequential(Linear(np.zeros((2, 2)))), math.nan), "lr must be a real number > 0.0"),
    (lambda: sgd_step(Sequential(Linear(np.zeros((2, 2)))), True), "lr must be a real number"),
])
def test_bad_arguments_name_themselves(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_numpy_scalars_and_inf_temperature():
    assert acceptance_probability(np.float64(1.0), np.float32(0.0)) == 0.0
    assert acceptance_probability(1.0, math.inf) == 1.0                      # infinitely hot: always accept
    assert acceptance_probability(-math.inf, 0.0) == 1.0
    assert geometric_schedule(np.float64(2.0), np.float32(0.5), np.int64(3)).tolist() == [2.0, 1.0, 0.5]
    cols = im2col(np.arange(16.0).reshape(1, 1, 4, 4), (np.int64(2), 2), stride=np.int64(2))
    assert cols.shape == (4, 4)
    back = col2im(cols, (1, 1, 4, 4), (2, 2), stride=2)
    assert np.array_equal(back, np.arange(16.0).reshape(1, 1, 4, 4))
