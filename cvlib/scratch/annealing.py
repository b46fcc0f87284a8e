"""Simulated annealing (模拟退火): a random walk that accepts uphill moves less often as it cools.

At temperature ``T`` a proposed move that changes the energy by ``ΔE`` is accepted with the Metropolis
probability::

    P(accept) = 1                 if ΔE ≤ 0
              = exp(−ΔE / T)      if ΔE > 0

At a fixed ``T`` this chain (with a symmetric proposal) has the Boltzmann distribution
``π(s) ∝ exp(−E(s) / T)`` as its stationary distribution; lowering ``T`` concentrates it on low-energy
states. The *cooling schedule* lowers ``T`` step by step — here geometrically, ``T_k = T_0 · α^k``.

The travelling-salesman helpers use the 2-opt move: reverse the segment ``tour[i..j]``; only two edges
change, so ``ΔE`` costs O(1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np

from cvlib._validate import check_int, check_positive_int, check_real

__all__ = ["acceptance_probability", "geometric_schedule", "Trace", "anneal", "tour_length",
           "two_opt_delta", "two_opt", "random_two_opt"]

S = TypeVar("S")


def acceptance_probability(delta: float, temperature: float) -> float:
    """Metropolis rule: ``1`` if ``delta ≤ 0``, else ``exp(−delta / temperature)``; ``T = 0`` accepts
    only non-increasing moves. ``ValueError`` for a negative temperature."""
    temperature = check_real("temperature", temperature, 0.0, allow_inf=True)
    delta = check_real("delta", delta, allow_inf=True)
    if delta <= 0:
        return 1.0
    if temperature == 0:
        return 0.0
    return math.exp(-delta / temperature)


def geometric_schedule(t0: float, alpha: float, steps: int) -> np.ndarray:
    """``T_k = t0 · alpha^k`` for ``k = 0 … steps − 1``; ``t0 > 0``, ``0 < alpha ≤ 1``."""
    t0 = check_real("t0 (the initial temperature)", t0, 0.0, low_open=True)
    alpha = check_real("alpha (the cooling factor)", alpha, 0.0, 1.0, low_open=True)
    steps = check_positive_int("steps", steps)
    return t0 * alpha ** np.arange(steps)


@dataclass
class Trace(Generic[S]):
    """What :func:`anneal` saw: the energy and temperature at every step, and which moves it accepted."""

    best: S
    best_energy: float
    energies: list[float] = field(default_factory=list)
    temperatures: list[float] = field(default_factory=list)
    accepted: list[bool] = field(default_factory=list)
    uphill: list[bool] = field(default_factory=list)


def anneal(state: S, energy: float, propose: Callable[[S, np.random.Generator], tuple[S, float]],
           schedule: Sequence[float], rng: np.random.Generator) -> Trace[S]:
    """Run simulated annealing from ``state`` (whose energy is ``energy``).

    ``propose(state, rng)`` returns a neighbour and its energy change ``ΔE`` without modifying
    ``state``. At step ``k`` the move is accepted with :func:`acceptance_probability` ``(ΔE, T_k)``.
    Returns the best state seen and the trace.
    """
    trace: Trace[S] = Trace(best=state, best_energy=energy)
    for t in schedule:
        candidate, delta = propose(state, rng)
        ok = delta <= 0 or rng.random() < acceptance_probability(delta, float(t))
        if ok:
            state, energy = candidate, energy + delta
            if energy < trace.best_energy:
                trace.best, trace.best_energy = state, energy
        trace.energies.append(energy)
        trace.temperatures.append(float(t))
        trace.accepted.append(bool(ok))
        trace.uphill.append(bool(delta > 0))
    return trace


# ----------------------------------------------------------------------------- travelling salesman


def _check_tour(coords: np.ndarray, tour: Sequence[int]) -> None:
    if coords.ndim != 2 or coords.shape[1] != 2:
        raise ValueError(f"coords must be an (n, 2) array, got shape {coords.shape}")
    if sorted(tour) != list(range(len(coords))):
        raise ValueError(f"tour must visit each of the {len(coords)} cities exactly once")


def tour_length(coords: np.ndarray, tour: Sequence[int]) -> float:
    """Length of the closed tour ``tour[0] → tour[1] → … → tour[-1] → tour[0]`` (Euclidean)."""
    coords = np.asarray(coords, dtype=float)
    _check_tour(coords, tour)
    p = coords[np.asarray(tour)]
    return float(np.linalg.norm(p - np.roll(p, -1, axis=0), axis=1).sum())


def two_opt_delta(coords: np.ndarray, tour: Sequence[int], i: int, j: int) -> float:
    """Change of :func:`tour_length` when ``tour[i..j]`` is reversed (``0 ≤ i < j < n``).

    Edges ``(a, b) = (tour[i−1], tour[i])`` and ``(c, d) = (tour[j], tour[j+1])`` become ``(a, c)`` and
    ``(b, d)``: ``ΔE = |ac| + |bd| − |ab| − |cd|``. Reversing the whole tour (``i = 0, j = n − 1``)
    changes nothing.
    """
    n = len(tour)
    i, j = check_int("i", i, 0), check_int("j", j, 0)
    if not 0 <= i < j < n:
        raise ValueError(f"need 0 <= i < j < n = {n}, got i = {i}, j = {j}")
    if i == 0 and j == n - 1:
        return 0.0
    a, b, c, d = (coords[tour[(i - 1) % n]], coords[tour[i]], coords[tour[j]], coords[tour[(j + 1) % n]])
    dist = lambda u, v: math.hypot(u[0] - v[0], u[1] - v[1])
    return dist(a, c) + dist(b, d) - dist(a, b) - dist(c, d)


def two_opt(tour: Sequence[int], i: int, j: int) -> list[int]:
    """The tour with ``tour[i..j]`` reversed."""
    tour = list(tour)
    return tour[:i] + tour[i:j + 1][::-1] + tour[j + 1:]


def random_two_opt(coords: np.ndarray) -> Callable[[list[int], np.random.Generator], tuple[list[int], float]]:
    """A proposal for :func:`anneal`: a uniformly random 2-opt move and its ``ΔE``."""
    coords = np.asarray(coords, dtype=float)

    def propose(tour: list[int], rng: np.random.Generator) -> tuple[list[int], float]:
        n = len(tour)
        i, j = int(rng.integers(n)), int(rng.integers(n - 1))
        j += j >= i  # a second, different position, uniformly
        i, j = min(i, j), max(i, j)
        return two_opt(tour, i, j), two_opt_delta(coords, tour, i, j)

    return propose
