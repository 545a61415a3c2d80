"""The exponential toy model of Sec. III A, Z_id (Eq. 30) and the ideal symmetrized score."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from asymscan import ConfigError, DataError
from asymscan.toymodel import (
    ideal_significance,
    ideal_symmetrized_score,
    sample_exponential,
    signal_pdf,
)


def test_pdfs_are_normalised_and_match_the_equations():
    x = np.linspace(0.0, 10.0, 7)
    np.testing.assert_allclose(signal_pdf("S2", x), 0.5 * x**2 * np.exp(-x), rtol=1e-12)
    np.testing.assert_allclose(
        signal_pdf("S3", x),
        np.exp(-((x - 1.6) ** 2) / (2 * 0.16**2)) / (np.sqrt(2 * np.pi) * 0.16),
    )
    for name in ("S1", "S2", "S3"):
        total = integrate.quad(
            lambda v, n=name: signal_pdf(n, v), 0, np.inf, points=None, limit=200
        )[0]
        assert total == pytest.approx(1.0, abs=1e-6)


def test_ideal_significance_small_signal_limits():
    # q0 -> N_s^2 * integral(S^2 / b0) / N_b for N_s << N_b; for S2 the integral is 24/4 = 6,
    # for a Gaussian (mu, sigma) it is exp(mu + sigma^2/4) / (2 sqrt(pi) sigma).
    n_b = 1e5
    assert ideal_significance(n_b, 5.0, "S2") == pytest.approx(
        5.0 * np.sqrt(6.0 / n_b), rel=2e-3
    )
    gauss = np.exp(1.6 + 0.16**2 / 4) / (2 * np.sqrt(np.pi) * 0.16)
    assert ideal_significance(n_b, 5.0, "S3") == pytest.approx(
        5.0 * np.sqrt(gauss / n_b), rel=2e-3
    )


def test_ideal_significance_against_a_fine_grid():
    x = np.linspace(0.0, 40.0, 2_000_001)
    nb, ns = 2e4 * np.exp(-x), 60.0 * signal_pdf("S1", x)
    q0 = 2 * (-60.0 + integrate.trapezoid((nb + ns) * np.log1p(ns / nb), x))
    assert ideal_significance(2e4, 60.0, "S1") == pytest.approx(np.sqrt(q0), rel=1e-6)


def test_ideal_symmetrized_score_limits():
    assert ideal_symmetrized_score(1e4, 1e4, 0.0, "S3") == pytest.approx(0.0, abs=1e-9)
    # N_B >> N_A: t -> 2 [ integral (b + s) log(1 + s/b) - N_A log(N_A / N_b) ] (normalisation free).
    n_b, n_s = 1e4, 80.0
    s = stats.norm(1.6, 0.16)
    bulk = integrate.quad(
        lambda v: (
            (n_b * np.exp(-v) + n_s * s.pdf(v))
            * np.log1p(n_s * s.pdf(v) / (n_b * np.exp(-v)))
        ),
        0,
        12,
        points=[1.6],
        limit=200,
        epsrel=1e-10,
    )[0]
    limit = 2 * (bulk - (n_b + n_s) * np.log((n_b + n_s) / n_b))
    assert ideal_symmetrized_score(n_b, 1e4 * n_b, n_s, "S3") == pytest.approx(
        limit, rel=1e-3
    )
    # With equal backgrounds the symmetrized test loses sensitivity against the ideal q0.
    assert ideal_symmetrized_score(n_b, n_b, n_s, "S3") < limit


def test_sampler_sizes_and_shapes():
    rng = np.random.default_rng(4)
    sizes = np.array(
        [
            sample_exponential(200, 300, signal="S2", n_signal=50, rng=rng).a.shape[0]
            for _ in range(400)
        ]
    )
    assert sizes.mean() == pytest.approx(250, abs=4 * np.sqrt(250 / 400))
    assert sizes.var() == pytest.approx(250, rel=0.25)  # Poisson: variance = mean
    toy = sample_exponential(1e4, 1e4, signal="S2", n_signal=5000, rng=1)
    assert toy.a.shape[1] == 1
    assert toy.b.shape[1] == 1
    assert stats.kstest(toy.b[:, 0], "expon").pvalue > 1e-3
    mix = lambda v: (
        (1e4 * stats.expon.cdf(v) + toy.n_signal * stats.gamma(3).cdf(v))
        / (1e4 + toy.n_signal)
    )
    assert stats.kstest(toy.a[:, 0], mix).pvalue > 1e-3


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown signal"):
        ideal_significance(10, 1, "S4")
    with pytest.raises(ConfigError, match="needs a signal"):
        sample_exponential(10, 10, n_signal=3)
    with pytest.raises(DataError, match="positive"):
        sample_exponential(0, 10)
    with pytest.raises(DataError):
        ideal_symmetrized_score(-1, 10, 1, "S1")
