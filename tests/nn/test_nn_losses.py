"""Losses and the network family of Bressler et al.: Eqs. (11), (12), (22)-(24), (31)-(34)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from asymscan.nn.losses import (
    delta_loss,
    delta_statistic,
    from_sigma_delta,
    nplm_loss,
    pointwise_loss,
    symmetrized_loss,
    to_sigma_delta,
)
from asymscan.nn.models import Network

D = torch.float64


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=D)


def test_symmetrized_is_sum_of_two_nplm_losses_with_pooled_reference():
    f_a, f_b, g_a, g_b = (_rand(3, n, seed=s) for s, n in enumerate((7, 11, 7, 11)))
    w_a = _rand(3, 7, seed=5).abs()
    w_b = _rand(3, 11, seed=6).abs()
    loss_a, loss_b = symmetrized_loss(f_a, f_b, g_a, g_b, w_a=w_a, w_b=w_b)
    n_a, n_b = w_a.sum(-1), w_b.sum(-1)
    n = n_a + n_b
    w_pool = torch.cat([w_a, w_b], -1)
    ref_f = torch.cat([f_a, f_b], -1)
    ref_g = torch.cat([g_a, g_b], -1)
    exp_a = nplm_loss(f_a, ref_f, w_data=w_a, w_ref=w_pool, n_expected=n_a)
    exp_b = nplm_loss(g_b, ref_g, w_data=w_b, w_ref=w_pool, n_expected=n_b)
    torch.testing.assert_close(loss_a, exp_a, rtol=1e-13, atol=1e-12)
    torch.testing.assert_close(loss_b, exp_b, rtol=1e-13, atol=1e-12)
    # and the corrected Eq. (22) of papers/ERRATA.md written out
    eq22 = (
        (
            (n_a[:, None] * w_pool * torch.expm1(ref_f)).sum(-1)
            + (n_b[:, None] * w_pool * torch.expm1(ref_g)).sum(-1)
        )
        / n
        - (w_a * f_a).sum(-1)
        - (w_b * g_b).sum(-1)
    )
    torch.testing.assert_close(loss_a + loss_b, eq22, rtol=1e-13, atol=1e-12)
    # the pooled reference weights are N_A/N and N_B/N per event
    explicit_a = (n_a / n)[:, None] * w_pool * torch.expm1(ref_f)
    torch.testing.assert_close(loss_a, explicit_a.sum(-1) - (w_a * f_a).sum(-1))


def test_losses_zero_at_f_equal_g_equal_zero():
    z_a, z_b = torch.zeros(2, 5, dtype=D), torch.zeros(2, 9, dtype=D)
    loss_a, loss_b = symmetrized_loss(z_a, z_b, z_a, z_b)
    assert torch.all(loss_a == 0)
    assert torch.all(loss_b == 0)
    assert torch.all(nplm_loss(z_a, z_b) == 0)


def test_symmetrized_bounded_where_nplm_diverges():
    # a point x* in A and absent from B: f(x*) = c, f = 0 elsewhere
    n_a, n_b = 5, 8
    cs = torch.tensor([0.0, 5.0, 50.0, 500.0], dtype=D)
    f_a = torch.zeros(4, n_a, dtype=D)
    f_a[:, 0] = cs  # event 0 of A is x*
    f_b = torch.zeros(4, n_b, dtype=D)
    nplm = nplm_loss(f_a, f_b)  # x* not in the reference: loss = -c
    torch.testing.assert_close(nplm, -cs)
    loss_a, _ = symmetrized_loss(f_a, f_b, f_a, f_b)
    # N_A/N (e^c - 1) - c, bounded below with minimum at c = log(N/N_A)
    c_star = math.log((n_a + n_b) / n_a)
    bound = n_a / (n_a + n_b) * math.expm1(c_star) - c_star
    assert torch.all(loss_a >= bound - 1e-12)
    assert loss_a[-1] > 1e100


def test_pointwise_loss_minimum_and_bad_kind():
    u = torch.tensor([0.5, 2.0], dtype=D)
    v = torch.tensor([1.0, 3.0], dtype=D)
    f_opt = torch.log(v / u)
    best = pointwise_loss("poisson", f_opt, u, v)
    for eps in (1e-3, -1e-3):
        assert pointwise_loss("poisson", f_opt + eps, u, v) > best
    d_opt = 0.5 * torch.log(u / v)  # sigma(2 delta) = u / (u + v)
    best = pointwise_loss("logistic", d_opt, u, v)
    for eps in (1e-3, -1e-3):
        assert pointwise_loss("logistic", d_opt + eps, u, v) > best
    with pytest.raises(ValueError, match="kind"):
        pointwise_loss("gauss", f_opt, u, v)


def test_delta_statistic_eq34():
    d_a, d_b = _rand(6, seed=1), _rand(4, seed=2)
    w_a, w_b = _rand(6, seed=3).abs(), _rand(4, seed=4).abs()
    n_a, n_b = w_a.sum(), w_b.sum()
    n = n_a + n_b
    eq34 = (
        2 * (w_a * torch.log(n * torch.sigmoid(2 * d_a) / n_a)).sum()
        + 2 * (w_b * torch.log(n * (1 - torch.sigmoid(2 * d_b)) / n_b)).sum()
    )
    torch.testing.assert_close(delta_statistic(d_a, d_b, w_a=w_a, w_b=w_b), eq34)
    # zero at the null's constant delta, sigma(2 delta) = N_A / N
    c = 0.5 * math.log(float(n_a / n_b))
    t0 = delta_statistic(
        torch.full((6,), c, dtype=D), torch.full((4,), c, dtype=D), w_a=w_a, w_b=w_b
    )
    assert abs(float(t0)) < 1e-12
    ce = delta_loss(d_a, d_b, w_a=w_a, w_b=w_b)
    assert float(ce) > 0


def test_sigma_delta_round_trip():
    f, g = _rand(10, seed=7), _rand(10, seed=8)
    sigma, delta = to_sigma_delta(f, g, 30.0, 70.0)
    f2, g2 = from_sigma_delta(sigma, delta, 30.0, 70.0)
    torch.testing.assert_close(f2, f)
    torch.testing.assert_close(g2, g)
    # Eqs. (31)-(32): N_A(x) + N_B(x) = 2 e^Sigma cosh(delta) N(x), with N_A(x) = N_A/N e^f N(x)
    lhs = 0.3 * torch.exp(f) + 0.7 * torch.exp(g)
    torch.testing.assert_close(lhs, 2 * torch.exp(sigma) * torch.cosh(delta))


def test_network_eq12_and_shapes():
    net = Network(1)
    assert net.n_params == 13
    theta = _rand(2, 13, seed=3)
    x = _rand(5, 1, seed=4)
    out = net(theta, x)
    assert out.shape == (2, 5)
    w, b, a, c = theta[:, :4], theta[:, 4:8], theta[:, 8:12], theta[:, 12]
    manual = (
        a[:, None, :] * torch.sigmoid(w[:, None, :] * x[None] + b[:, None, :])
    ).sum(-1)
    torch.testing.assert_close(out, manual + c[:, None])
    # per-problem events and a single parameter vector
    torch.testing.assert_close(net(theta, x.expand(2, 5, 1)), out)
    torch.testing.assert_close(net(theta[1], x), out[1])


def test_network_nd_and_deeper():
    net = Network(3, (5, 2))
    assert net.n_params == 3 * 5 + 5 + 5 * 2 + 2 + 2 + 1
    theta = net.init(4, generator=torch.Generator().manual_seed(0), bias_scale=1.0)
    out = net(theta, _rand(4, 6, 3, seed=1))
    assert out.shape == (4, 6)
    assert int(net.weight_mask().sum()) == 15 + 10 + 2


def test_network_bad_config_and_shapes():
    from asymscan.errors import ConfigError, ShapeError

    with pytest.raises(ConfigError, match="d must"):
        Network(0)
    with pytest.raises(ConfigError, match="hidden"):
        Network(1, (0,))
    net = Network(2)
    with pytest.raises(ShapeError, match="observables"):
        net(torch.zeros(1, net.n_params, dtype=D), torch.zeros(3, 1, dtype=D))
    with pytest.raises(ShapeError, match="entries"):
        net(torch.zeros(1, 5, dtype=D), torch.zeros(3, 2, dtype=D))


def test_zero_weight_padding_drops_out():
    net = Network(1)
    theta = _rand(1, 13, seed=2)
    x = _rand(1, 8, 1, seed=3)
    u, v = _rand(1, 8, seed=4).abs(), _rand(1, 8, seed=5).abs()
    xp = torch.cat([x, torch.full((1, 3, 1), 7.0, dtype=D)], 1)
    up = torch.cat([u, torch.zeros(1, 3, dtype=D)], 1)
    vp = torch.cat([v, torch.zeros(1, 3, dtype=D)], 1)
    for kind in ("poisson", "logistic"):
        torch.testing.assert_close(
            pointwise_loss(kind, net(theta, xp), up, vp),
            pointwise_loss(kind, net(theta, x), u, v),
        )
