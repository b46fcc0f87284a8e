"""cvlib.scratch.annealing: the Metropolis rule, its stationary distribution, 2-opt, and optima found by other means."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import dual_annealing

from cvlib.scratch.annealing import (acceptance_probability, anneal, geometric_schedule, random_two_opt, tour_length,
                             two_opt, two_opt_delta)


def test_acceptance_rule():
    assert acceptance_probability(-3.0, 2.0) == 1.0 and acceptance_probability(0.0, 0.0) == 1.0
    assert acceptance_probability(1.0, 0.0) == 0.0
    assert acceptance_probability(2.0, 4.0) == pytest.approx(math.exp(-0.5))
    probs = [acceptance_probability(1.0, t) for t in (0.1, 0.5, 1, 5, 50)]
    assert probs == sorted(probs) and probs[-1] > 0.98


def test_geometric_schedule():
    t = geometric_schedule(10.0, 0.5, 4)
    np.testing.assert_allclose(t, [10, 5, 2.5, 1.25])


def test_two_opt_delta_matches_recomputed_length():
    rng = np.random.default_rng(0)
    coords = rng.random((12, 2))
    tour = list(rng.permutation(12))
    for i, j in itertools.combinations(range(12), 2):
        new = two_opt(tour, i, j)
        assert sorted(new) == list(range(12))
        assert two_opt_delta(coords, tour, i, j) == pytest.approx(tour_length(coords, new) - tour_length(coords, tour), abs=1e-12)


def test_fixed_temperature_samples_boltzmann():
    """Metropolis with a symmetric proposal: state frequencies → exp(−E/T) / Z."""
    energies = np.array([0.0, 0.5, 1.0, 1.5, 3.0])
    temperature = 0.8
    n = len(energies)

    def propose(s, rng):
        t = int(rng.integers(n - 1))
        t += t >= s  # uniform over the other states: symmetric
        return t, float(energies[t] - energies[s])

    steps = 200_000
    trace = anneal(0, 0.0, propose, [temperature] * steps, np.random.default_rng(1))
    visited = np.array(trace.energies)
    freq = np.array([(visited == e).mean() for e in energies])
    boltzmann = np.exp(-energies / temperature)
    boltzmann /= boltzmann.sum()
    np.testing.assert_allclose(freq, boltzmann, atol=0.01)


def test_small_tsp_reaches_the_brute_force_optimum():
    rng = np.random.default_rng(3)
    coords = rng.random((8, 2))
    best = min(tour_length(coords, (0, *p)) for p in itertools.permutations(range(1, 8)))
    tour = list(range(8))
    for seed in range(3):
        trace = anneal(tour, tour_length(coords, tour), random_two_opt(coords), geometric_schedule(1.0, 0.995, 3000),
                       np.random.default_rng(seed))
        assert trace.best_energy == pytest.approx(best, abs=1e-9)
        assert trace.best_energy == pytest.approx(tour_length(coords, trace.best), abs=1e-9)


def test_continuous_minimum_agrees_with_scipy_dual_annealing():
    f = lambda x: float(x**2 + 10 * np.sin(3 * x) + 10)
    ref = dual_annealing(lambda v: f(v[0]), bounds=[(-10, 10)], seed=0)

    def propose(x, rng):
        y = float(np.clip(x + rng.normal(0, 0.5), -10, 10))
        return y, f(y) - f(x)

    trace = anneal(8.0, f(8.0), propose, geometric_schedule(20.0, 0.999, 8000), np.random.default_rng(0))
    assert abs(trace.best - ref.x[0]) < 0.05 and trace.best_energy == pytest.approx(ref.fun, abs=0.02)


def test_bad_inputs():
    with pytest.raises(ValueError, match="temperature"):
        acceptance_probability(1.0, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        geometric_schedule(1.0, 1.5, 3)
    with pytest.raises(ValueError, match="t0"):
        geometric_schedule(0.0, 0.9, 3)
    with pytest.raises(ValueError, match="steps"):
        geometric_schedule(1.0, 0.9, 0)
    coords = np.zeros((4, 2))
    with pytest.raises(ValueError, match="exactly once"):
        tour_length(coords, [0, 1, 1, 2])
    with pytest.raises(ValueError, match="coords"):
        tour_length(np.zeros((4, 3)), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="i < j"):
        two_opt_delta(coords, [0, 1, 2, 3], 2, 2)
