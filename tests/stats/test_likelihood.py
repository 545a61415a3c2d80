"""Tests of the profile-likelihood statistics q0^L1, q0^L2 and the signal injection (Eqs. 3-11).

Truth comes from three places: the closed-form flat-template numbers of Sec. 4 (and
papers/ERRATA.md), Eqs. (10)-(11) written out as printed, and an independent numerical
maximisation of the full likelihoods (scipy; no asymscan code is used in the reference).
"""

from __future__ import annotations

import hist
import numpy as np
import pytest
from scipy import optimize
from scipy.special import xlogy

import asymscan
from asymscan import DataError, ShapeError, templates
from asymscan.calibrate import poisson_toys
from asymscan.stats import (
    asimov_q0,
    inject_strength,
    q0_known_background,
    q0_two_sample,
)

# --------------------------------------------------------------------------------------------
# Independent reference: maximise the full likelihoods numerically.
#
# -2 ln L is written as twice the Poisson deviance, sum(m - n + n ln(n/m)), which is >= 0 and
# vanishes for the saturated model; it avoids the large, cancelling ln(n!) and n ln m terms.
# L2 (Eq. 4): every background b_i and mu are free, with b_i >= 0 and b_i + mu S_i >= 0; the
# b_i are fitted by L-BFGS-B at each mu and mu by a bounded scalar minimiser over a bracket that
# provably contains the optimum (at the optimum sum(m) + sum(b) = sum(A) + sum(B), from the
# stationarity of the likelihood under a common rescaling of all means, so
# |mu| sum(S) = |sum(m) - sum(b)| <= sum(A) + sum(B)). mu is then polished with a root finder
# on the slope of the profile (envelope theorem), and kept only if it lowers the deviance.
# --------------------------------------------------------------------------------------------

_TINY = 1e-9  # keeps a mean off zero where its count is positive (the deviance is +inf there)


def _deviance(obs: np.ndarray, mean: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return mean - obs + xlogy(obs, np.where(obs > 0, obs / mean, 1.0))


def _fit_background(mu: float, a: np.ndarray, b: np.ndarray, s: np.ndarray):
    """min over b of the L2 deviance at fixed mu: returns (deviance, b_hat).

    A bound-constrained truncated-Newton fit (TNC) of all b_i together, then a few projected
    Newton steps on the same objective to reach machine precision (the fit stops on a flat
    function value, about sqrt(eps) away from the optimum in b).
    """
    lower = np.maximum(
        np.where(a > 0, _TINY, 0.0), -mu * s + np.where(b > 0, _TINY, 0.0)
    )

    def fun(bkg):
        m = bkg + mu * s
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.where(b > 0, 1.0 - b / m, 1.0) + np.where(
                a > 0, 1.0 - a / bkg, 1.0
            )
        return (_deviance(b, m) + _deviance(a, bkg)).sum(), grad

    x0 = np.maximum(0.5 * (a + b), lower + 1.0)
    res = optimize.minimize(
        fun,
        x0,
        jac=True,
        method="TNC",
        bounds=optimize.Bounds(lower, np.inf),
        options={"ftol": 0.0, "xtol": 0.0, "gtol": 1e-12, "maxfun": 10_000},
    )
    bkg = res.x
    for _ in range(4):
        m = bkg + mu * s
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.where(b > 0, 1.0 - b / m, 1.0) + np.where(
                a > 0, 1.0 - a / bkg, 1.0
            )
            hess = np.where(b > 0, b / m**2, 0.0) + np.where(a > 0, a / bkg**2, 0.0)
            step = np.where(hess > 0, grad / hess, np.inf)
        bkg = np.maximum(bkg - step, lower)
    value, _ = fun(bkg)
    if value > res.fun + 1e-12 * (
        1.0 + abs(res.fun)
    ):  # the polish must not make things worse
        value, bkg = float(res.fun), res.x
    return float(value), bkg


def _slope_two_sample(mu: float, a: np.ndarray, b: np.ndarray, s: np.ndarray) -> float:
    """d/dmu of the profiled L2 deviance (envelope theorem, the active bound taken into account)."""
    _, bkg = _fit_background(mu, a, b, s)
    m = bkg + mu * s
    m_at_zero = (b == 0) & (mu < 0) & (m <= 1e-12 * bkg)
    with np.errstate(divide="ignore", invalid="ignore"):
        free = np.where(b > 0, s * (1.0 - b / m), s)  # d/dmu at fixed b
        bound = np.where(a > 0, -s * (1.0 - a / bkg), -s)  # d/dmu at fixed m = 0
    return float(np.where(m_at_zero, bound, free).sum())


def _minimise(profile, slope, lo: float, hi: float) -> tuple[float, float]:
    res = optimize.minimize_scalar(
        profile,
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-9, "maxiter": 5000},
    )
    best_mu, best = float(res.x), float(res.fun)
    # Polish on the slope: widen a bracket around the estimate until the slope changes sign.
    width = 1e-7 * (abs(best_mu) + 1.0)
    while width < hi - lo:
        x0, x1 = max(lo, best_mu - width), min(hi, best_mu + width)
        g0, g1 = slope(x0), slope(x1)
        if g0 < 0 < g1:
            root = optimize.brentq(slope, x0, x1, xtol=1e-14, rtol=1e-15, maxiter=500)
            value = profile(root)
            if value <= best + 1e-12 * (1.0 + best):  # a sanity check of the slope
                best_mu, best = root, min(value, best)
            break
        if (g0 >= 0 and x0 == lo) or (g1 <= 0 and x1 == hi):
            break  # the optimum is on the boundary of the allowed range
        width *= 4.0
    return best_mu, best


def _signed(d0: float, dmin: float, mu: float) -> float:
    return float(np.sign(mu) * max(2.0 * (d0 - dmin), 0.0))


def reference_two_sample(b, a, s) -> tuple[float, float]:
    """(signed q0, mu_hat) of L2 by direct numerical maximisation."""
    b, a, s = (np.asarray(x, dtype=float).ravel() for x in (b, a, s))
    span = (a.sum() + b.sum()) / s.sum() + 1.0

    def profile(mu):
        return _fit_background(mu, a, b, s)[0]

    def slope(mu):
        return _slope_two_sample(mu, a, b, s)

    mu, dmin = _minimise(profile, slope, -span, span)
    assert -span < mu < span
    return _signed(profile(0.0), dmin, mu), mu


def reference_known_background(b, t, s) -> tuple[float, float]:
    """(signed q0, mu_hat) of L1 by direct numerical maximisation over mu."""
    b, t, s = (np.asarray(x, dtype=float).ravel() for x in (b, t, s))
    pos = s > 0
    # T + mu S >= 0 everywhere (strictly where B > 0); beyond sum(B)/sum(S) the slope is > 0.
    lo = float(np.max(-(t[pos] - np.where(b[pos] > 0, _TINY, 0.0)) / s[pos]))
    hi = 2.0 * (b.sum() + 1.0) / s.sum()

    def profile(mu):
        return float(_deviance(b, t + mu * s).sum())

    def slope(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.where(b > 0, s * (1.0 - b / (t + mu * s)), s).sum())

    mu, dmin = _minimise(profile, slope, lo, hi)
    return _signed(profile(0.0), dmin, mu), mu


# Random inputs: (regime, seed). Counts small and large, zero bins, signal-free bins,
# B in excess and in deficit, unnormalised signals, 1-D and 2-D bins.
REGIMES = {
    "sparse": {"shape": (9,), "lam": 0.7, "inject": 0.0},
    "small-counts": {"shape": (8,), "lam": 3.0, "inject": 1.5},
    "null-2d": {"shape": (3, 4), "lam": 25.0, "inject": 0.0},
    "moderate-2d": {"shape": (3, 4), "lam": 25.0, "inject": 4.0},
    "large": {"shape": (6,), "lam": 2000.0, "inject": 30.0},
    "deficit": {"shape": (7,), "lam": 10.0, "inject": -3.0},
}


def _random_case(regime: str, seed: int):
    cfg = REGIMES[regime]
    rng = np.random.default_rng([seed, len(regime)])
    shape = cfg["shape"]
    t = cfg["lam"] * rng.uniform(0.3, 2.0, shape)
    s = rng.uniform(0.0, 3.0, shape) * (rng.random(shape) < 0.75)
    s.flat[rng.integers(s.size)] = rng.uniform(0.5, 3.0)  # at least one signal bin
    a = rng.poisson(t).astype(float)
    b = rng.poisson(t).astype(float)
    if cfg["inject"] > 0:
        b += rng.poisson(cfg["inject"] * s)
    elif cfg["inject"] < 0:
        a += rng.poisson(-cfg["inject"] * s)
    if (
        regime == "sparse"
    ):  # empty bins in A and B together, inside the signal region too
        both = rng.random(shape) < 0.3
        a[both] = b[both] = 0.0
    return b, a, t, s


CASES = [(r, seed) for r in REGIMES for seed in (0, 1, 2)]


def _assert_matches(result, q_ref: float, mu_ref: float) -> None:
    np.testing.assert_allclose(result.q0, q_ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(result.mu_hat, mu_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        result.z, np.sign(q_ref) * np.sqrt(abs(q_ref)), rtol=1e-6, atol=1e-5
    )


@pytest.mark.parametrize(("regime", "seed"), CASES)
def test_two_sample_matches_direct_maximisation(regime, seed):
    b, a, _, s = _random_case(regime, seed)
    q_ref, mu_ref = reference_two_sample(b, a, s)
    _assert_matches(q0_two_sample(b, a, s), q_ref, mu_ref)


@pytest.mark.parametrize(("regime", "seed"), CASES)
def test_known_background_matches_direct_maximisation(regime, seed):
    b, _, t, s = _random_case(regime, seed)
    if regime == "sparse":  # a background template that vanishes where the signal does
        t = np.where(s > 0, t, 0.0)
        b = np.where((s > 0) | (t > 0), b, 0.0)
    q_ref, mu_ref = reference_known_background(b, t, s)
    _assert_matches(q0_known_background(b, t, s), q_ref, mu_ref)


def test_reference_catches_a_wrong_statistic():
    """The reference is sharp enough to tell q0^L2 from q0^L1 on the same data."""
    b, a, _, s = _random_case("moderate-2d", 0)
    q_ref, _ = reference_two_sample(b, a, s)
    assert not np.isclose(float(q0_known_background(b, a, s).q0), q_ref, rtol=1e-3)


def test_batched_two_sample_matches_reference_row_by_row():
    rng = np.random.default_rng(11)
    t = rng.uniform(2.0, 15.0, (3, 3))
    s = templates.rectangle((3, 3), 2, start=(0, 1))
    b = rng.poisson(t, size=(4, 3, 3)).astype(float) + rng.poisson(
        6 * s, size=(4, 3, 3)
    )
    a = rng.poisson(t, size=(4, 3, 3)).astype(float)
    b[1, 0, 1] = a[1, 0, 1] = 0.0
    result = q0_two_sample(b, a, s, ndim=2)
    assert result.q0.shape == result.z.shape == result.mu_hat.shape == (4,)
    for i in range(4):
        q_ref, mu_ref = reference_two_sample(b[i], a[i], s)
        np.testing.assert_allclose(result.q0[i], q_ref, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(result.mu_hat[i], mu_ref, rtol=1e-5, atol=1e-5)


def test_batched_two_sample_broadcasts_reference_and_signal():
    """One reference A against a batch of B, and a batch of signal shapes against one pair."""
    rng = np.random.default_rng(5)
    a = rng.poisson(8.0, 6).astype(float)
    bs = rng.poisson(8.0, (3, 6)).astype(float)
    sig = rng.uniform(0.0, 1.0, (3, 6))
    sig[1, :3] = 0.0
    res_b = q0_two_sample(bs, a, sig[0])
    res_s = q0_two_sample(bs[0], a, sig)
    for i in range(3):
        q_ref, mu_ref = reference_two_sample(bs[i], a, sig[0])
        np.testing.assert_allclose(res_b.q0[i], q_ref, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(res_b.mu_hat[i], mu_ref, rtol=1e-5, atol=1e-5)
        q_ref, mu_ref = reference_two_sample(bs[0], a, sig[i])
        np.testing.assert_allclose(res_s.q0[i], q_ref, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(res_s.mu_hat[i], mu_ref, rtol=1e-5, atol=1e-5)


def test_batched_known_background_matches_reference_row_by_row():
    rng = np.random.default_rng(3)
    t = rng.uniform(1.0, 30.0, 5)
    s = np.array([0.0, 0.2, 0.5, 0.3, 0.0])
    b = rng.poisson(t, size=(2, 3, 5)).astype(float)
    b[0, 1, 1:4] = (
        0.0  # no entries at all under the signal: mu_hat on the boundary T + mu S = 0
    )
    result = q0_known_background(b, t, s)
    assert result.q0.shape == (2, 3)
    for idx in np.ndindex(2, 3):
        q_ref, mu_ref = reference_known_background(b[idx], t, s)
        np.testing.assert_allclose(result.q0[idx], q_ref, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(result.mu_hat[idx], mu_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        result.mu_hat[0, 1], -np.min(t[1:4] / s[1:4]), rtol=1e-12
    )


def test_known_background_with_a_template_per_toy():
    """Batched background templates and signal shapes, one per batch entry."""
    rng = np.random.default_rng(21)
    t = rng.uniform(3.0, 40.0, (3, 5))
    s = rng.uniform(0.0, 1.0, (3, 5))
    s[2, :2] = 0.0
    b = rng.poisson(t).astype(float) + rng.poisson(4 * s)
    res = q0_known_background(b, t, s, ndim=1)
    assert res.q0.shape == (3,)
    for i in range(3):
        q_ref, mu_ref = reference_known_background(b[i], t[i], s[i])
        np.testing.assert_allclose(res.q0[i], q_ref, rtol=1e-6, atol=1e-10)
        np.testing.assert_allclose(res.mu_hat[i], mu_ref, rtol=1e-5, atol=1e-5)


def test_histogram_inputs_give_the_same_q0():
    rng = np.random.default_rng(22)
    b_counts = rng.poisson(9.0, (4, 3)).astype(float)
    a_counts = rng.poisson(9.0, (4, 3)).astype(float)
    s = templates.rectangle((4, 3), (2, 2))

    def as_hist(values):
        h = hist.Hist.new.Reg(4, 0, 4).Reg(3, 0, 3).Double()
        h[...] = values
        return h

    from_hist = q0_two_sample(as_hist(b_counts), as_hist(a_counts), as_hist(s))
    from_arrays = q0_two_sample(b_counts, a_counts, s)
    assert float(from_hist.q0) == pytest.approx(float(from_arrays.q0), rel=1e-14)
    t = np.full((4, 3), 9.0)
    assert float(
        q0_known_background(as_hist(b_counts), as_hist(t), s).q0
    ) == pytest.approx(float(q0_known_background(b_counts, t, s).q0), rel=1e-14)


# --------------------------------------------------------------------------------------------
# Closed form of Sec. 4 (flat 1e4 background, flat 6x6 signal) and Eqs. (10)-(11).
# --------------------------------------------------------------------------------------------


def test_flat_closed_form_known_background_gives_injected_five_sigma(flat_setup):
    res = q0_known_background(flat_setup.b, flat_setup.t, flat_setup.s)
    assert float(res.z) == pytest.approx(5.00, abs=0.01)
    assert float(res.mu_hat) == pytest.approx(flat_setup.mu, rel=1e-9)


def test_flat_closed_form_two_sample_gives_3_53(flat_setup):
    res = q0_two_sample(flat_setup.b, flat_setup.a, flat_setup.s)
    assert float(res.z) == pytest.approx(3.53, abs=0.01)
    assert float(res.mu_hat) == pytest.approx(flat_setup.mu, rel=1e-9)


def test_flat_injection_strength_matches_hand_calculation(flat_setup):
    """36 bins of 1e4 with mu/36 each: 2*36*((T + x) ln(1 + x/T) - x) = 25 with x = mu/36."""
    x = optimize.brentq(
        lambda x: 72 * ((1e4 + x) * np.log1p(x / 1e4) - x) - 25.0, 1.0, 1e4
    )
    assert flat_setup.mu == pytest.approx(36 * x, rel=1e-10)


def test_l2_injection_gives_five_sigma_of_q0_two_sample(flat_setup):
    mu2 = float(inject_strength(flat_setup.t, flat_setup.s, 5.0, method="L2"))
    assert mu2 > flat_setup.mu  # the two-sample test needs more signal for the same Z
    res = q0_two_sample(flat_setup.t + mu2 * flat_setup.s, flat_setup.t, flat_setup.s)
    assert float(res.z) == pytest.approx(5.0, abs=1e-6)


def _eq10(t, s, mu):
    """Left side of Eq. (10) of Birman et al. 2022 with B -> T (Asimov), as printed."""
    return 2 * (-mu + np.sum((t + mu * s) * np.log(1 + mu * s / t)))


def _eq11(t, s, mu):
    """Left side of Eq. (11), as printed (B -> T)."""
    return 2 * np.sum(
        (t + mu * s) * np.log(1 + mu * s / (2 * t + mu * s))
        - t * np.log(1 + mu * s / (2 * t))
    )


@pytest.mark.parametrize("mu", [0.5, 40.0, 3000.0])
def test_asimov_q0_is_left_side_of_eqs_10_and_11(mu):
    rng = np.random.default_rng(2)
    t = rng.uniform(20.0, 500.0, (5, 4))
    s = templates.normalise(rng.uniform(0.0, 1.0, (5, 4)))
    assert float(asimov_q0(t, s, mu, method="L1")) == pytest.approx(
        _eq10(t, s, mu), rel=1e-10
    )
    assert float(asimov_q0(t, s, mu, method="L2")) == pytest.approx(
        _eq11(t, s, mu), rel=1e-10
    )


def test_asimov_q0_equals_q0_of_the_statistics_on_asimov_data(flat_setup):
    t, s, mu = flat_setup.t, flat_setup.s, flat_setup.mu
    assert float(asimov_q0(t, s, mu)) == pytest.approx(25.0, rel=1e-9)
    assert float(asimov_q0(t, s, mu, method="L1")) == pytest.approx(
        float(q0_known_background(t + mu * s, t, s).q0), rel=1e-9
    )
    assert float(asimov_q0(t, s, mu, method="L2")) == pytest.approx(
        float(q0_two_sample(t + mu * s, t, s).q0), rel=1e-9
    )
    # A non-flat background and signal, and an array of strengths.
    rng = np.random.default_rng(8)
    t2 = rng.uniform(25.0, 400.0, (6, 7))
    s2 = templates.gaussian((6, 7), sigma=1.5)
    mus = np.array([1.0, 25.0, 300.0])
    q1 = asimov_q0(t2, s2, mus, method="L1")
    q2 = asimov_q0(t2, s2, mus, method="L2")
    assert q1.shape == q2.shape == (3,)
    batch_b = t2 + mus[:, None, None] * s2
    np.testing.assert_allclose(
        q0_known_background(batch_b, t2, s2, ndim=2).q0, q1, rtol=1e-9
    )
    res2 = q0_two_sample(batch_b, t2, s2, ndim=2)
    np.testing.assert_allclose(res2.q0, q2, rtol=1e-9)
    np.testing.assert_allclose(res2.mu_hat, mus, rtol=1e-9)


def test_inject_strength_inverts_asimov_q0_for_arrays_of_z():
    t = templates.flat((10, 10), 100.0)
    s = templates.gaussian((10, 10), sigma=1.2)
    z = np.array([[0.5, 2.0], [3.0, 7.0]])
    for method in ("L1", "L2"):
        mu = inject_strength(t, s, z, method=method)
        assert mu.shape == z.shape
        assert np.all(np.diff(mu.ravel()) > 0)  # more signal for more significance
        np.testing.assert_allclose(asimov_q0(t, s, mu, method=method), z**2, rtol=1e-9)
    # Estimating the background from A (L2) costs sensitivity: less than z at the L1 strength.
    mu1 = inject_strength(t, s, 3.0, method="L1")
    assert float(asimov_q0(t, s, mu1, method="L2")) < 9.0


# --------------------------------------------------------------------------------------------
# Properties and the null distribution.
# --------------------------------------------------------------------------------------------


def test_two_sample_is_antisymmetric_under_swapping_the_samples():
    """L2 maps to itself under A <-> B, mu -> -mu, b -> b + mu S: q0 and mu_hat flip sign."""
    rng = np.random.default_rng(4)
    a = rng.poisson(12.0, (50, 8)).astype(float)
    b = rng.poisson(12.0, (50, 8)).astype(float)
    s = rng.uniform(0.0, 1.0, 8)
    fwd, rev = q0_two_sample(b, a, s), q0_two_sample(a, b, s)
    np.testing.assert_allclose(rev.q0, -fwd.q0, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rev.mu_hat, -fwd.mu_hat, rtol=1e-9, atol=1e-9)


def test_q0_is_zero_when_samples_agree_and_signed_otherwise():
    a = np.array([5.0, 9.0, 0.0, 3.0])
    s = np.array([0.1, 0.4, 0.2, 0.3])
    same = q0_two_sample(a, a, s)
    assert float(same.q0) == pytest.approx(0.0, abs=1e-12)
    assert float(same.mu_hat) == pytest.approx(0.0, abs=1e-9)
    up = q0_two_sample(a + 10 * s, a, s)
    down = q0_two_sample(a, a + 10 * s, s)
    assert float(up.q0) > 0
    assert float(up.mu_hat) > 0
    assert float(down.q0) < 0
    assert float(down.mu_hat) < 0
    # z = sign(q0) sqrt(|q0|), Eq. (8) with the sign of Eq. (6)
    assert float(down.z) == pytest.approx(-np.sqrt(-float(down.q0)), rel=1e-12)


def test_empty_signal_region_gives_zero():
    s = np.array([0.0, 0.5, 0.5])
    res = q0_two_sample(np.array([4.0, 0.0, 0.0]), np.array([7.0, 0.0, 0.0]), s)
    assert float(res.q0) == 0.0
    assert float(res.mu_hat) == 0.0


def test_signal_free_bins_do_not_change_q0():
    rng = np.random.default_rng(9)
    a = rng.poisson(20.0, 5).astype(float)
    b = rng.poisson(20.0, 5).astype(float) + np.array([0, 3, 7, 2, 0])
    s = np.array([0.0, 0.3, 0.5, 0.2, 0.0])
    full = q0_two_sample(b, a, s)
    core = q0_two_sample(b[1:4], a[1:4], s[1:4])
    assert float(full.q0) == pytest.approx(float(core.q0), rel=1e-12)


N_TOYS = 20_000
# Tolerances for n toys: 4 standard errors of the mean (1/sqrt n) and of the standard deviation
# (sqrt(1/(2n)) for a near-normal variable). The extra allowance on the spread covers the
# O(1/N) deviation of the asymptotic (Wilks) variance of the signed sqrt(q0) for ~900 entries
# under the signal (Bartlett-type correction ~ 1/N ~ 1e-3, plus the 1/(4n) bias of the sample
# standard deviation): 0.005.
_MEAN_TOL = 4 / np.sqrt(N_TOYS)
_STD_TOL = 4 * np.sqrt(1 / (2 * N_TOYS)) + 0.005


@pytest.mark.parametrize("statistic", ["two_sample", "known_background"])
def test_signed_z_is_standard_normal_under_the_null(statistic):
    t = templates.flat((10, 10), 100.0)
    s = templates.rectangle((10, 10), 3)
    toys = poisson_toys(t, n=N_TOYS, rng=20220508)
    if statistic == "two_sample":
        z = q0_two_sample(toys.b, toys.a, s, ndim=2).z
    else:
        z = q0_known_background(toys.b, t, s, ndim=2).z
    assert z.shape == (N_TOYS,)
    assert abs(z.mean()) < _MEAN_TOL
    assert abs(z.std(ddof=1) - 1.0) < _STD_TOL
    # both signs occur (the statistic is signed, Eq. 6), in about equal numbers
    assert abs((z > 0).mean() - 0.5) < 4 * 0.5 / np.sqrt(N_TOYS)


# --------------------------------------------------------------------------------------------
# Bad input.
# --------------------------------------------------------------------------------------------


def test_errors_are_value_errors():
    assert issubclass(DataError, ValueError)
    assert issubclass(ShapeError, ValueError)
    assert issubclass(ShapeError, asymscan.AsymscanError)


@pytest.mark.parametrize("func", [q0_two_sample, q0_known_background])
def test_bad_inputs_raise(func):
    good = np.full(4, 10.0)
    s = np.array([0.0, 0.5, 0.5, 0.0])
    with pytest.raises(ShapeError, match="bin shapes differ"):
        func(good, np.full(5, 10.0), np.full(4, 0.25))
    with pytest.raises(DataError, match="negative count"):
        func(np.array([1.0, -2.0, 3.0, 4.0]), good, s)
    with pytest.raises(DataError, match=r"non-finite.*NaN or inf"):
        func(np.array([1.0, np.nan, 3.0, 4.0]), good, s)
    with pytest.raises(DataError, match="non-finite"):
        func(good, np.array([1.0, np.inf, 3.0, 4.0]), s)
    with pytest.raises(DataError, match="no positive entry"):
        func(good, good, np.zeros(4))
    with pytest.raises(DataError, match="negative entries"):
        func(good, good, np.array([0.5, -0.1, 0.6, 0.0]))
    with pytest.raises(DataError, match="non-finite"):
        func(good, good, np.array([0.5, np.nan, 0.6, 0.0]))
    with pytest.raises(DataError, match="empty"):
        func(np.array([]), np.array([]), np.array([1.0]))
    with pytest.raises(ShapeError, match="ndim=2 must be between"):
        func(good, good, s, ndim=2)


def test_known_background_zero_under_signal_raises():
    with pytest.raises(DataError, match="background template t is zero"):
        q0_known_background(
            np.array([3.0, 4.0]), np.array([5.0, 0.0]), np.array([0.5, 0.5])
        )
    with pytest.raises(DataError, match="both t and s are zero"):
        q0_known_background(
            np.array([3.0, 4.0]), np.array([5.0, 0.0]), np.array([1.0, 0.0])
        )
    with pytest.raises(DataError, match="background template t is zero"):
        asimov_q0(np.array([5.0, 0.0]), np.array([0.5, 0.5]), 1.0)
    with pytest.raises(DataError, match="background template t is zero"):
        inject_strength(np.array([5.0, 0.0]), np.array([0.5, 0.5]), 2.0)


def test_inject_strength_bad_input_raises():
    t, s = templates.flat(4, 50.0), templates.rectangle(4, 2)
    with pytest.raises(DataError, match="z must be > 0"):
        inject_strength(t, s, 0.0)
    with pytest.raises(DataError, match="z must be > 0"):
        inject_strength(t, s, [2.0, -1.0])
    with pytest.raises(DataError, match="non-finite"):
        inject_strength(t, s, np.nan)
    with pytest.raises(DataError, match="method must be 'L1' or 'L2'"):
        inject_strength(t, s, 3.0, method="L3")
    with pytest.raises(DataError, match="different numbers of bins"):
        inject_strength(t, templates.rectangle(5, 2), 3.0)
    with pytest.raises(DataError, match="method must be 'L1' or 'L2'"):
        asimov_q0(t, s, 10.0, method="l2")
