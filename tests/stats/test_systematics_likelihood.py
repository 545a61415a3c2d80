"""q0 of L2 (Eq. 4 of Birman et al. 2022) with Gaussian-constrained nuisances, against scipy.

The reference minimises the full negative log-likelihood over every parameter at once, the
backgrounds b_i, mu and theta, with SLSQP under the linear constraints b_i >= 0 and
b_i + mu S_i + theta . delta_i >= 0 (no asymscan code, no closed-form profiling), from several
starting points, for the fit with mu free and the fit with mu = 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from scipy.special import xlogy

from asymscan import DataError, ShapeError, q0_two_sample, templates

_TINY = 1e-10  # keeps a mean off zero where its count is positive


def _deviance(obs, mean):
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(obs > 0, obs / np.maximum(mean, 1e-300), 1.0)
        return mean - obs + xlogy(obs, ratio)


def reference_fit(b, a, s, shifts, mu=None, *, starts=4, seed=0):
    """min over (b_i, [mu], theta) of -ln L (relative to the saturated model): (value, x)."""
    b, a, s = (np.ravel(x).astype(float) for x in (b, a, s))
    delta = np.asarray(shifts, float).reshape(len(shifts), -1)
    n_bins, n_k = b.size, delta.shape[0]
    free = mu is None
    n_var = n_bins + int(free) + n_k

    def unpack(x):
        return x[:n_bins], (x[n_bins] if free else mu), x[n_bins + int(free) :]

    def fun(x):
        bkg, m, theta = unpack(x)
        mean_b = bkg + m * s + theta @ delta
        value = (_deviance(b, mean_b) + _deviance(a, bkg)).sum() + 0.5 * theta @ theta
        with np.errstate(divide="ignore", invalid="ignore"):
            d_mean = np.where(b > 0, 1 - b / mean_b, 1.0)
            d_bkg = np.where(a > 0, 1 - a / bkg, 1.0)
        grad = [d_mean + d_bkg]
        if free:
            grad.append([d_mean @ s])
        grad.append(delta @ d_mean + theta)
        return value, np.concatenate(grad)

    jac = np.zeros((n_bins, n_var))
    jac[:, :n_bins] = np.eye(n_bins)
    if free:
        jac[:, n_bins] = s
    jac[:, n_bins + int(free) :] = delta.T
    low = np.where(b > 0, _TINY, 0.0) - (0.0 if free else mu * s)
    constraint = optimize.LinearConstraint(jac, low, np.inf)
    lower = np.concatenate(
        [np.where(a > 0, _TINY, 0.0), np.full(n_var - n_bins, -np.inf)]
    )
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        x0 = np.concatenate(
            [
                0.5 * (a + b) + rng.uniform(1.0, 3.0, n_bins),
                rng.normal(0, 1, n_var - n_bins),
            ]
        )
        if free:
            x0[n_bins] = 0.0
        bkg, m, theta = unpack(x0)
        x0[:n_bins] = np.maximum(bkg, 1.0 - m * s - theta @ delta)  # a feasible start
        res = optimize.minimize(
            fun,
            x0,
            jac=True,
            method="SLSQP",
            bounds=optimize.Bounds(lower, np.inf),
            constraints=[constraint],
            options={"ftol": 1e-15, "maxiter": 3000},
        )
        if best is None or res.fun < best.fun:
            best = res
    return float(best.fun), best.x


def reference_q0(b, a, s, shifts, **kwargs):
    """(signed q0, mu_hat, theta_hat, theta_hat at mu = 0) by the full fits."""
    f_free, x_free = reference_fit(b, a, s, shifts, **kwargs)
    f_null, x_null = reference_fit(b, a, s, shifts, mu=0.0, **kwargs)
    n = np.size(b)
    mu = x_free[n]
    q0 = np.sign(mu) * max(2.0 * (f_null - f_free), 0.0)
    return q0, mu, x_free[n + 1 :], x_null[n:]


def random_case(seed, *, lam, n_bins, n_k, zeros):
    """Counts, a signal, and shifts of either sign; ``zeros``: empty bins in A, B or both."""
    rng = np.random.default_rng([seed, n_k, n_bins])
    t = lam * rng.uniform(0.3, 2.0, n_bins)
    s = rng.uniform(0.0, 1.0, n_bins) * (rng.random(n_bins) < 0.75)
    s[rng.integers(n_bins)] = 0.8
    a = rng.poisson(t).astype(float)
    b = rng.poisson(np.maximum(t + rng.uniform(-2.0, 10.0) * s, 0.0)).astype(float)
    shifts = rng.normal(0.0, 0.2 * np.sqrt(lam) + 1.0, (n_k, n_bins))
    if zeros:
        a[0] = 0.0
        b[1] = 0.0
        a[2] = b[2] = 0.0  # empty in both: the profiled likelihood has a kink there
        shifts[:, 2] = -np.abs(shifts[:, 2]) - 0.5
    return b, a, s, shifts


CASES = [
    {"lam": 20.0, "n_bins": 6, "n_k": 1, "zeros": False},
    {"lam": 20.0, "n_bins": 8, "n_k": 2, "zeros": False},
    {"lam": 3.0, "n_bins": 10, "n_k": 1, "zeros": True},
    {"lam": 3.0, "n_bins": 7, "n_k": 2, "zeros": True},
    {"lam": 0.8, "n_bins": 9, "n_k": 2, "zeros": True},
    {"lam": 300.0, "n_bins": 5, "n_k": 2, "zeros": False},
    {"lam": 50.0, "n_bins": 6, "n_k": 2, "zeros": True},
]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_matches_a_full_likelihood_fit(case, seed):
    b, a, s, shifts = random_case(seed, **case)
    res = q0_two_sample(b, a, s, shifts=shifts)
    q_ref, mu_ref, theta_ref, theta0_ref = reference_q0(b, a, s, shifts, seed=seed)
    # the empty-in-both bins are rounded by 1e-9 in log L: q0 moves by a few 1e-9 at most
    np.testing.assert_allclose(res.q0, q_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.mu_hat, mu_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.theta, theta_ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(res.theta_null, theta0_ref, rtol=1e-4, atol=1e-4)
    assert res.theta.shape == res.theta_null.shape == (case["n_k"],)


def test_optimum_on_the_kink_of_bins_empty_in_both_samples():
    """Bins 1 and 3 are empty in A and B: each adds -|u_i| to log L. Both fits end where one
    of them has u_i = 0 (mu != 0 in the free fit), which smooth Newton steps alone miss."""
    b = np.array([16.0, 0.0, 27.0, 0.0, 39.0, 27.0, 18.0])
    a = np.array([23.0, 0.0, 24.0, 0.0, 31.0, 45.0, 18.0])
    s = np.array([0.2, 0.7, 0.0, 0.08, 0.0, 0.4, 0.0])
    shifts = np.array([[0.03, 2.3, 1.45, 0.83, -0.65, -2.4, -4.4]])
    res = q0_two_sample(b, a, s, shifts=shifts)
    q_ref, mu_ref, theta_ref, theta0_ref = reference_q0(b, a, s, shifts)
    np.testing.assert_allclose(res.q0, q_ref, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(res.mu_hat, mu_ref, rtol=1e-5)
    np.testing.assert_allclose(res.theta, theta_ref, rtol=1e-5)
    np.testing.assert_allclose(res.theta_null, theta0_ref, atol=1e-8)
    assert float(res.mu_hat) < -0.5
    u = res.mu_hat * s + res.theta @ shifts
    assert abs(u[1]) < 1e-8  # on the kink
    assert float(q0_two_sample(b, a, s).q0) == 0.0  # without the nuisance: mu_hat = 0


def test_the_reference_tells_the_nuisances_apart():
    """Ignoring the shifts, or dropping their constraint, gives a q0 the reference rejects."""
    b, a, s, shifts = random_case(3, lam=20.0, n_bins=8, n_k=2, zeros=False)
    q_ref = reference_q0(b, a, s, shifts)[0]
    assert not np.isclose(float(q0_two_sample(b, a, s).q0), q_ref, rtol=1e-3)
    assert not np.isclose(
        float(q0_two_sample(b, a, s, shifts=shifts / 2).q0), q_ref, rtol=1e-3
    )


def test_batched_shifts_match_row_by_row():
    rng = np.random.default_rng(17)
    shape, n = (3, 3), 4
    t = rng.uniform(4.0, 30.0, shape)
    s = templates.rectangle(shape, 2)
    a = rng.poisson(t, (n, *shape)).astype(float)
    b = rng.poisson(t + 5 * s, (n, *shape)).astype(float)
    b[1, 0, 0] = a[1, 0, 0] = 0.0
    shifts = rng.normal(0.0, 2.0, (2, n, *shape))  # per toy
    res = q0_two_sample(b, a, s, shifts=shifts, ndim=2)
    assert res.q0.shape == res.mu_hat.shape == (n,)
    assert res.theta.shape == res.theta_null.shape == (n, 2)
    for i in range(n):
        one = q0_two_sample(b[i], a[i], s, shifts=shifts[:, i])
        np.testing.assert_allclose(res.q0[i], one.q0, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.theta[i], one.theta, rtol=1e-7, atol=1e-9)
    q_ref = reference_q0(b[2], a[2], s, shifts[:, 2])[0]
    np.testing.assert_allclose(res.q0[2], q_ref, rtol=1e-5, atol=1e-7)
    # one set of shifts for every toy
    fixed = q0_two_sample(b, a, s, shifts=shifts[:, 0], ndim=2)
    for i in range(n):
        one = q0_two_sample(b[i], a[i], s, shifts=shifts[:, 0])
        np.testing.assert_allclose(fixed.q0[i], one.q0, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zero_shifts_reproduce_the_plain_statistic(seed):
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.5, 8.0, (4, 5))
    s = rng.uniform(0.0, 1.0, (4, 5)) * (rng.random((4, 5)) < 0.7)
    s[0, 0] = 0.5
    b = rng.poisson(t + 3 * s, (6, 4, 5)).astype(float)
    a = rng.poisson(t, (6, 4, 5)).astype(float)
    b[:, 1, 1] = a[:, 1, 1] = 0.0  # empty in both: mu's kink at 0 handled exactly
    plain = q0_two_sample(b, a, s, ndim=2)
    zero = q0_two_sample(b, a, s, shifts=np.zeros((2, 4, 5)), ndim=2)
    np.testing.assert_allclose(zero.q0, plain.q0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(zero.mu_hat, plain.mu_hat, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(zero.theta, 0.0)
    # K = 0 and None take the same code path: bit for bit
    empty = q0_two_sample(b, a, s, shifts=np.zeros((0, 4, 5)), ndim=2)
    np.testing.assert_array_equal(empty.q0, plain.q0)
    np.testing.assert_array_equal(empty.mu_hat, plain.mu_hat)
    assert empty.theta.shape == plain.theta.shape == (6, 0)


def test_a_shift_aligned_with_the_signal_absorbs_it(flat_setup):
    """The flat set-up of Sec. 4 (q0^L2 gives Z = 3.53): a nuisance moving B like the signal
    can explain the excess, so q0 falls as its size grows, and the nuisance takes it up."""
    b, a, s, mu = flat_setup.b, flat_setup.a, flat_setup.s, flat_setup.mu
    z = [float(q0_two_sample(b, a, s).z)]
    absorbed = []
    for size in (0.1, 0.3, 1.0, 3.0):
        res = q0_two_sample(b, a, s, shifts=size * mu * s[None])
        z.append(float(res.z))
        absorbed.append(size * float(res.theta_null[0]))  # in units of the signal
    assert z[0] == pytest.approx(3.53, abs=0.01)
    assert np.all(np.diff(z) < 0)
    assert z[-1] < 1.2
    # the background-only fit pulls the nuisance up to the excess, more as it costs less
    assert np.all(np.diff(absorbed) > 0)
    assert 0.9 < absorbed[-1] < 1.0
    # a shift elsewhere (away from the signal) changes nothing
    away = np.zeros((1, 28, 28))
    away[0, :3, :3] = 500.0
    res = q0_two_sample(b, a, s, shifts=away)
    assert float(res.z) == pytest.approx(z[0], rel=1e-9)
    np.testing.assert_allclose(res.theta, 0.0, atol=1e-9)


def test_bad_shifts_raise():
    b = np.full((3, 4), 9.0)
    s = templates.rectangle((3, 4), 2)
    with pytest.raises(ShapeError, match=r"shifts has shape \(3, 4\), but must be"):
        q0_two_sample(b, b, s, shifts=np.ones((3, 4)))
    with pytest.raises(ShapeError, match="do not match the bin shape"):
        q0_two_sample(b, b, s, shifts=np.ones((2, 4, 3)))
    with pytest.raises(ShapeError, match="do not broadcast"):
        q0_two_sample(np.ones((2, 3, 4)), b, s, shifts=np.ones((1, 5, 3, 4)), ndim=2)
    with pytest.raises(ShapeError, match="do not broadcast"):
        q0_two_sample(np.ones((2, 3, 4)), b, s, shifts=np.ones((0, 5, 3, 4)), ndim=2)
    bad = np.ones((1, 3, 4))
    bad[0, 2, 1] = np.nan
    with pytest.raises(DataError, match=r"shifts has 1 non-finite.*\(0, 2, 1\)"):
        q0_two_sample(b, b, s, shifts=bad)
