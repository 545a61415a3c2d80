"""Many tests fitted together: equal to one at a time, padding-invariant, batched calibration."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymscan.calibrate import permutation_null, toy_null
from asymscan.errors import ConfigError, ShapeError
from asymscan.nn import (
    FitOptions,
    PooledStatistic,
    delta_test,
    pooled_tests,
    symmetrized_test,
)
from asymscan.nn import fit as F
from asymscan.nn.models import Network

D = torch.float64


def _pairs(n_pairs, seed=0, base=60):
    rng = np.random.default_rng(seed)
    return [
        (rng.exponential(size=base + 7 * k), rng.exponential(size=base + 3 * k) * 1.1)
        for k in range(n_pairs)
    ]


@pytest.mark.parametrize("method", ["symmetrized", "delta"])
def test_batch_equals_one_at_a_time(method):
    # unequal sizes: the batch pads with zero-weight events, which must not change anything
    pairs = _pairs(4, seed=3)
    opts = {"n_starts": 3, "max_iter": 60, "rng": 5}
    batched = pooled_tests(method, pairs, batch_size=3, options=FitOptions(**opts))
    single = symmetrized_test if method == "symmetrized" else delta_test
    for (xa, xb), res in zip(pairs, batched, strict=True):
        alone = single(xa, xb, **opts)
        assert res.t == pytest.approx(alone.t, abs=1e-8)
        assert res.parts == pytest.approx(alone.parts, abs=1e-8)
        assert res.n_a == len(xa)
        assert res.n_b == len(xb)
        x = np.linspace(0, 3, 7)
        for name, f in alone.functions.items():
            np.testing.assert_allclose(res.functions[name](x), f(x), atol=1e-6)


def test_binned_batch_equals_one_at_a_time():
    pairs = _pairs(3, seed=4, base=300)
    opts = FitOptions(n_starts=2, max_iter=40, bins=16, rng=1)
    batched = pooled_tests("symmetrized", pairs, batch_size=3, options=opts)
    for (xa, xb), res in zip(pairs, batched, strict=True):
        alone = symmetrized_test(xa, xb, n_starts=2, max_iter=40, bins=16, rng=1)
        assert res.t == pytest.approx(alone.t, abs=1e-8)


def test_bin_events_ignores_zero_weight_padding():
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(1, 500, 1)), dtype=D)
    u = torch.full((1, 500), 0.5, dtype=D)
    v = torch.tensor(rng.integers(0, 2, (1, 500)), dtype=D)
    padded_x = torch.cat([x, torch.full((1, 80, 1), 40.0, dtype=D)], dim=1)
    padded_u = torch.cat([u, torch.zeros(1, 80, dtype=D)], dim=1)
    padded_v = torch.cat([v, torch.zeros(1, 80, dtype=D)], dim=1)
    for a, b in zip(
        F.bin_events(x, u, v, 32),
        F.bin_events(padded_x, padded_u, padded_v, 32),
        strict=True,
    ):
        torch.testing.assert_close(a, b)


def test_prune_keeps_the_best_starts_only():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.normal(size=(80, 1)), dtype=D)
    u = torch.full((2, 80), 0.5, dtype=D)
    v = torch.tensor(rng.integers(0, 2, (2, 80)), dtype=D)
    history = []
    net = Network(1)
    F.fit_newton(
        net,
        x,
        u,
        v,
        n_starts=6,
        prune=(3, 2),
        max_iter=12,
        generator=torch.Generator().manual_seed(0),
        callback=lambda it, loss: history.append(loss),
    )
    at_prune, last = history[2], history[-1]
    moved = (last != at_prune).sum(1)
    assert torch.all(moved <= 2)
    kept = at_prune.argsort(1)[:, :2]
    for p in range(2):
        changed = torch.nonzero(last[p] != at_prune[p]).flatten().tolist()
        assert set(changed) <= set(kept[p].tolist())
    # pruned or not, the result is never worse than f = 0
    res = F.fit_newton(net, x, u, v, n_starts=6, prune=(3, 2), max_iter=12)
    assert torch.all(res.loss <= 1e-12)


def test_batched_permutations_equal_unbatched():
    xa, xb = _pairs(1, seed=8)[0]
    stat = PooledStatistic(options=FitOptions(n_starts=2, max_iter=30, rng=0))
    one = permutation_null(stat, xa, xb, n_permutations=5, seed=3)
    many = permutation_null(stat, xa, xb, n_permutations=5, seed=3, batch_size=2)
    np.testing.assert_allclose(many.null, one.null, atol=1e-8)
    assert many.observed == pytest.approx(symmetrized_test(xa, xb, **_opts(stat)).t)
    assert many.p_value == one.p_value


def _opts(stat):
    return {k: getattr(stat.options, k) for k in ("n_starts", "max_iter", "rng")}


def test_batched_toys_equal_unbatched():
    def generator(rng):
        return rng.exponential(size=50), rng.exponential(size=55)

    stat = PooledStatistic(
        "delta", FitOptions(n_starts=2, max_iter=30, rng=0), batch_size=4
    )
    a = toy_null(stat, generator, 3.0, n_toys=6, seed=1, batch_size=3)
    b = toy_null(stat, generator, 3.0, n_toys=6, seed=1)
    np.testing.assert_allclose(a.null, b.null, atol=1e-8)
    assert np.all(a.null >= -1e-9)


def test_bad_batch_options():
    pairs = _pairs(2)
    with pytest.raises(ConfigError, match="method must be"):
        pooled_tests("nplm", pairs)
    with pytest.raises(ConfigError, match="batch_size"):
        pooled_tests("symmetrized", pairs, batch_size=0)
    with pytest.raises(ShapeError, match="weight pairs"):
        pooled_tests("symmetrized", pairs, weights=[(None, None)])
    with pytest.raises(ShapeError, match="observables"):
        pooled_tests(
            "symmetrized",
            [pairs[0], (np.ones((5, 2)), np.zeros((6, 2)))],
            options=FitOptions(n_starts=1, max_iter=3),
        )
    with pytest.raises(ConfigError, match="the fit options are"):
        symmetrized_test(*pairs[0], n_start=3)
