"""Why :func:`asymscan.samples.emu` never draws an event twice (pure numpy).

A pool is a Poisson sample of mu0 events, each with an e-mu or mu-e label (equal odds). A data
set with mean yield f mu0 is drawn from it, and d = B - A (mu-e minus e-mu) is counted; the
symmetry tests assume Var(d) = E[N] (Poisson). Over pools and draws:

- without replacement (f <= 1), the kept events are a thinned Poisson sample: Var(d) = E[N];
- with replacement, an event drawn k times adds +-k: Var(d) = E[N] (1 + f), 2.6 E[N] at
  f = 1.6 draws per event, so a scan of Standard-Model-only data finds fake asymmetries.
"""

from __future__ import annotations

import numpy as np
import pytest

MU0 = 400.0
TRIALS = 4000


def _var_ratio(f: float, replace: bool, seed: int) -> float:
    gen = np.random.default_rng(seed)
    d = np.empty(TRIALS)
    n_total = 0
    for i in range(TRIALS):
        labels = gen.choice(np.array([-1, 1]), gen.poisson(MU0))  # the pool
        n = int(gen.poisson(f * MU0))
        if replace:
            idx = gen.integers(0, len(labels), n)
        else:
            idx = gen.choice(len(labels), min(n, len(labels)), replace=False)
        d[i] = labels[idx].sum()
        n_total += len(idx)
    return float(d.var(ddof=1) / (n_total / TRIALS))


@pytest.mark.parametrize("f", [0.5, 0.95])
def test_without_replacement_is_poisson(f):
    # the ratio's standard error is about sqrt(2 / TRIALS) = 0.022
    assert _var_ratio(f, replace=False, seed=1) == pytest.approx(1.0, abs=0.1)


def test_with_replacement_is_over_dispersed():
    ratio = _var_ratio(1.6, replace=True, seed=2)
    assert ratio == pytest.approx(2.6, abs=0.2)
    assert ratio > 1.5
