"""Permutation and toy calibration of two-sample statistics."""

from __future__ import annotations

import itertools
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from scipy import stats

from asymscan import DataError
from asymscan.calibrate.empirical import asymptotic_p, permutation_null, toy_null


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a) - np.mean(b))


def test_permutation_p_matches_exhaustive_enumeration():
    a = np.array([3.1, 2.7, 4.0, 3.8])
    b = np.array([2.0, 2.9, 1.5, 2.4, 3.0])
    pooled = np.concatenate([a, b])
    observed = mean_difference(a, b)
    splits = [
        mean_difference(pooled[list(i)], np.delete(pooled, list(i)))
        for i in itertools.combinations(range(9), 4)
    ]
    exact = np.mean(np.array(splits) >= observed - 1e-12)  # over all 126 relabellings
    res = permutation_null(mean_difference, a, b, n_permutations=20000, seed=1)
    assert res.observed == pytest.approx(observed)
    assert res.p_value == pytest.approx(
        exact, abs=4 * np.sqrt(exact * (1 - exact) / 20000) + 1e-4
    )


def test_permutation_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(3)
    p = [
        permutation_null(
            mean_difference,
            rng.exponential(size=30),
            rng.exponential(size=50),
            n_permutations=99,
            seed=i,
        ).p_value
        for i in range(200)
    ]
    counts = np.histogram(p, bins=[0, 0.25, 0.5, 0.75, 1.0])[0]
    assert stats.chisquare(counts).pvalue > 0.001


def test_executor_gives_identical_null():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=40), rng.normal(0.3, 1, size=60)
    local = permutation_null(mean_difference, a, b, n_permutations=50, seed=9)
    with ProcessPoolExecutor(2) as pool:
        pooled = permutation_null(
            mean_difference, a, b, n_permutations=50, seed=9, executor=pool
        )
    np.testing.assert_array_equal(local.null, pooled.null)


def _null_generator(rng: np.random.Generator):
    return rng.normal(size=25), rng.normal(size=25)


def test_toys_and_asymptotics_agree_for_a_gaussian_statistic():
    # The mean difference of two N(0,1) samples of 25 is N(0, 2/25): toys reproduce its tail.
    observed = 2.0 * np.sqrt(2 / 25)
    res = toy_null(mean_difference, _null_generator, observed, n_toys=4000, seed=2)
    assert res.p_value == pytest.approx(stats.norm.sf(2.0), abs=0.01)
    p, z = asymptotic_p(21.03, 12)  # chi2_12 95% quantile
    assert float(p) == pytest.approx(0.05, abs=1e-3)
    assert float(z) == pytest.approx(1.645, abs=0.01)


def test_bad_input():
    with pytest.raises(DataError, match="need events"):
        permutation_null(mean_difference, np.array([]), np.ones(3))
    with pytest.raises(DataError, match="event shapes"):
        permutation_null(mean_difference, np.ones((3, 2)), np.ones((3, 1)))
    with pytest.raises(DataError, match="n_toys"):
        toy_null(mean_difference, _null_generator, 0.0, n_toys=0)
