"""Tests of the kinematic helpers against hand-computed values and explicit 4-vectors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asymscan.data.hep import delta_phi, delta_r, m_coll, m_ll, mt, pt_ll

RNG = np.random.default_rng(2024)
N = 1000


def four_vector(pt, eta, phi):
    """(E, px, py, pz) of a massless particle."""
    pt, eta, phi = np.broadcast_arrays(*(np.asarray(v, float) for v in (pt, eta, phi)))
    return np.stack(
        [pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)]
    )


def mass(p):
    return np.sqrt(np.maximum(p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2, 0.0))


def leptons(n=N):
    return (
        RNG.uniform(5, 200, n),
        RNG.uniform(-2.5, 2.5, n),
        RNG.uniform(-np.pi, np.pi, n),
        RNG.uniform(5, 200, n),
        RNG.uniform(-2.5, 2.5, n),
        RNG.uniform(-np.pi, np.pi, n),
    )


# --------------------------------------------------------------------------------------------
# hand-computed values


def test_hand_values():
    assert m_ll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi) == pytest.approx(91.2)
    # same direction: zero mass; rapidity gap only: m^2 = 2 pt^2 (cosh 2 - 1)
    assert m_ll(50.0, 1.0, 0.3, 20.0, 1.0, 0.3) == pytest.approx(0.0, abs=1e-6)
    assert m_ll(10.0, 1.0, 0.0, 10.0, -1.0, 0.0) == pytest.approx(
        10 * np.sqrt(2 * (np.cosh(2) - 1))
    )
    assert pt_ll(30.0, 0.0, 40.0, np.pi / 2) == pytest.approx(50.0)
    assert pt_ll(30.0, 1.0, 30.0, 1.0 + np.pi) == pytest.approx(0.0, abs=1e-6)
    assert mt(40.0, 0.0, 40.0, np.pi) == pytest.approx(80.0)
    assert mt(40.0, 0.5, 40.0, 0.5) == pytest.approx(0.0)
    assert mt(30.0, 0.0, 40.0, np.pi / 2) == pytest.approx(np.sqrt(2 * 30 * 40))
    assert delta_r(0.0, 0.0, 0.3, 0.4) == pytest.approx(0.5)
    assert delta_r(1.0, 3.0, 1.0, -3.0) == pytest.approx(2 * np.pi - 6)


def test_delta_phi_wraps_into_minus_pi_pi():
    assert delta_phi(3.0, -3.0) == pytest.approx(6 - 2 * np.pi)
    assert delta_phi(-3.0, 3.0) == pytest.approx(2 * np.pi - 6)
    assert delta_phi(0.5, 0.2) == pytest.approx(0.3)
    assert delta_phi(10 * np.pi + 0.1, 0.0) == pytest.approx(0.1)
    assert delta_phi(np.pi, 0.0) == pytest.approx(-np.pi)  # the boundary goes to -pi
    d = delta_phi(RNG.uniform(-20, 20, N), RNG.uniform(-20, 20, N))
    assert np.all((d >= -np.pi) & (d < np.pi))


@settings(max_examples=200, deadline=None)
@given(st.floats(-50, 50), st.floats(-50, 50))
def test_delta_phi_is_the_angle_between_directions(phi1, phi2):
    d = float(delta_phi(phi1, phi2))
    assert -np.pi <= d <= np.pi
    assert np.cos(d) == pytest.approx(np.cos(phi1 - phi2), abs=1e-9)
    assert np.sin(d) == pytest.approx(np.sin(phi1 - phi2), abs=1e-9)


def test_m_coll_hand_values():
    # MET perpendicular to lepton 2, or opposite to it: no neutrino along it, x = 1
    assert m_coll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi, 10.0, np.pi / 2) == pytest.approx(
        91.2
    )
    assert m_coll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi, 500.0, 0.0) == pytest.approx(91.2)
    # MET = pt2 along lepton 2: x = 1/2
    assert m_coll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi, 45.6, np.pi) == pytest.approx(
        91.2 * np.sqrt(2)
    )
    # MET at 60 degrees from lepton 2: projection met/2; x = 30 / (30 + 30) = 1/2
    assert m_coll(
        30.0, 0.0, 0.0, 30.0, 0.0, np.pi, 60.0, np.pi + np.pi / 3
    ) == pytest.approx(60.0 * np.sqrt(2))


def test_m_coll_degenerate_lepton_gives_nan_without_warnings():
    out = m_coll([50.0, 50.0], 0.0, 0.0, [0.0, 20.0], 0.0, 1.0, 30.0, 1.0)
    assert np.isnan(out[0])
    assert np.isfinite(out[1])


# --------------------------------------------------------------------------------------------
# against explicit 4-vectors


def test_m_ll_and_pt_ll_against_four_vectors():
    pt1, eta1, phi1, pt2, eta2, phi2 = leptons()
    total = four_vector(pt1, eta1, phi1) + four_vector(pt2, eta2, phi2)
    np.testing.assert_allclose(
        m_ll(pt1, eta1, phi1, pt2, eta2, phi2), mass(total), rtol=1e-9
    )
    np.testing.assert_allclose(
        pt_ll(pt1, phi1, pt2, phi2), np.hypot(total[1], total[2]), rtol=1e-9
    )


def test_mt_against_transverse_four_vectors():
    pt, _, phi, met, _, met_phi = leptons()
    # m_T^2 = (E_T1 + E_T2)^2 - |p_T1 + p_T2|^2 for massless objects
    px = pt * np.cos(phi) + met * np.cos(met_phi)
    py = pt * np.sin(phi) + met * np.sin(met_phi)
    expected = np.sqrt(np.maximum((pt + met) ** 2 - px**2 - py**2, 0.0))
    np.testing.assert_allclose(
        mt(pt, phi, met, met_phi), expected, rtol=1e-7, atol=1e-6
    )


def test_delta_r_against_arctan2():
    _, eta1, phi1, _, eta2, phi2 = leptons()
    dphi = np.arctan2(np.sin(phi1 - phi2), np.cos(phi1 - phi2))
    np.testing.assert_allclose(
        delta_r(eta1, phi1, eta2, phi2), np.hypot(eta1 - eta2, dphi), rtol=1e-12
    )


def test_m_coll_recovers_the_parent_mass_of_a_collinear_tau_decay():
    """A parent decays to a prompt lepton and a (massless) tau; the tau gives lepton 2 a fraction
    x of its momentum and the neutrinos, collinear, the rest, which is all of the MET."""
    pt1, eta1, phi1, pt_tau, eta_tau, phi_tau = leptons()
    x = RNG.uniform(0.05, 1.0, N)
    parent = four_vector(pt1, eta1, phi1) + four_vector(pt_tau, eta_tau, phi_tau)
    out = m_coll(
        pt1, eta1, phi1, x * pt_tau, eta_tau, phi_tau, (1 - x) * pt_tau, phi_tau
    )
    np.testing.assert_allclose(out, mass(parent), rtol=1e-9)


def test_m_coll_uses_only_the_met_projection_on_lepton_2():
    pt1, eta1, phi1, pt_tau, eta_tau, phi_tau = leptons()
    x = RNG.uniform(0.05, 1.0, N)
    # add MET perpendicular to the tau direction: the collinear mass must not change
    nu = (1 - x) * pt_tau
    perp = RNG.uniform(-50, 50, N)
    mx = nu * np.cos(phi_tau) - perp * np.sin(phi_tau)
    my = nu * np.sin(phi_tau) + perp * np.cos(phi_tau)
    met, met_phi = np.hypot(mx, my), np.arctan2(my, mx)
    parent = four_vector(pt1, eta1, phi1) + four_vector(pt_tau, eta_tau, phi_tau)
    out = m_coll(pt1, eta1, phi1, x * pt_tau, eta_tau, phi_tau, met, met_phi)
    np.testing.assert_allclose(out, mass(parent), rtol=1e-9)


def test_m_coll_is_at_least_the_visible_mass():
    pt1, eta1, phi1, pt2, eta2, phi2 = leptons()
    met, met_phi = RNG.uniform(0, 150, N), RNG.uniform(-np.pi, np.pi, N)
    m_vis = m_ll(pt1, eta1, phi1, pt2, eta2, phi2)
    out = m_coll(pt1, eta1, phi1, pt2, eta2, phi2, met, met_phi)
    assert np.all(out >= m_vis * (1 - 1e-12))
    # x in (0, 1]: m_coll / m_vis = 1 / sqrt(x) >= 1, and equals 1 where MET points away
    away = np.cos(met_phi - phi2) <= 0
    np.testing.assert_allclose(out[away], m_vis[away], rtol=1e-12)


def test_helpers_broadcast_and_return_float_arrays():
    out = m_ll(np.array([[10.0], [20.0]]), 0.0, 0.0, np.array([10.0, 30.0]), 0.0, np.pi)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, 2 * np.sqrt(np.outer([10.0, 20.0], [10.0, 30.0])))
    for value in (
        m_ll(1, 0, 0, 1, 0, 3),
        pt_ll(1, 0, 1, 1),
        mt(1, 0, 1, 2),
        delta_phi(1, 2),
        delta_r(0, 1, 0, 2),
        m_coll(1, 0, 0, 1, 0, 3, 1, 3),
    ):
        assert isinstance(value, np.ndarray)
        assert value.dtype == np.float64
