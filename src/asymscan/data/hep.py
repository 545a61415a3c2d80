"""Kinematic helpers for dilepton events: invariant and collinear masses, angles, transverse mass.

All functions are vectorized numpy functions of array-likes (they broadcast) and return float
arrays (0-d for scalar inputs). Leptons are treated as massless; angles are in radians, momenta in any one unit (GeV).
They are the HEP helpers of the expression language (:mod:`asymscan.data.expressions`), and can
be called from Python directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ("delta_phi", "delta_r", "m_coll", "m_ll", "mt", "pt_ll")


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def delta_phi(phi1: Any, phi2: Any) -> np.ndarray:
    """Azimuthal difference ``phi1 - phi2`` wrapped to ``[-pi, pi)``.

    Examples
    --------
    >>> round(float(delta_phi(3.0, -3.0)), 6)  # 6 - 2 pi
    -0.283185
    """
    d = _f(phi1) - _f(phi2)
    return np.asarray((d + np.pi) % (2.0 * np.pi) - np.pi)


def delta_r(eta1: Any, phi1: Any, eta2: Any, phi2: Any) -> np.ndarray:
    """Angular distance ``sqrt(delta_eta**2 + delta_phi**2)``, with ``delta_phi`` wrapped.

    Examples
    --------
    >>> round(float(delta_r(0.0, 0.0, 0.3, 0.4)), 6)
    0.5
    """
    return np.asarray(np.hypot(_f(eta1) - _f(eta2), delta_phi(phi1, phi2)))


def m_ll(pt1: Any, eta1: Any, phi1: Any, pt2: Any, eta2: Any, phi2: Any) -> np.ndarray:
    r"""Invariant mass of two massless particles.

    .. math:: m^2 = 2\, p_{T1} p_{T2} \left[\cosh(\eta_1 - \eta_2) - \cos(\phi_1 - \phi_2)\right]

    Examples
    --------
    >>> round(float(m_ll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi)), 6)  # back to back, central
    91.2
    """
    pt1, pt2 = _f(pt1), _f(pt2)
    m2 = 2.0 * pt1 * pt2 * (np.cosh(_f(eta1) - _f(eta2)) - np.cos(_f(phi1) - _f(phi2)))
    return np.asarray(np.sqrt(np.maximum(m2, 0.0)))


def pt_ll(pt1: Any, phi1: Any, pt2: Any, phi2: Any) -> np.ndarray:
    """Transverse momentum of the sum of two particles.

    Examples
    --------
    >>> float(pt_ll(30.0, 0.0, 40.0, np.pi / 2))
    50.0
    """
    pt1, pt2 = _f(pt1), _f(pt2)
    p2 = pt1**2 + pt2**2 + 2.0 * pt1 * pt2 * np.cos(_f(phi1) - _f(phi2))
    return np.asarray(np.sqrt(np.maximum(p2, 0.0)))


def mt(pt: Any, phi: Any, met: Any, met_phi: Any) -> np.ndarray:
    r"""Transverse mass of a (massless) lepton and the missing transverse momentum.

    .. math:: m_T = \sqrt{2\, p_T\, E_T^{miss} \left[1 - \cos(\phi - \phi^{miss})\right]}

    Examples
    --------
    >>> float(mt(40.0, 0.0, 40.0, np.pi))  # back to back: m_T = p_T + MET
    80.0
    """
    m2 = 2.0 * _f(pt) * _f(met) * (1.0 - np.cos(_f(phi) - _f(met_phi)))
    return np.asarray(np.sqrt(np.maximum(m2, 0.0)))


def m_coll(
    pt1: Any,
    eta1: Any,
    phi1: Any,
    pt2: Any,
    eta2: Any,
    phi2: Any,
    met: Any,
    met_phi: Any,
) -> np.ndarray:
    r"""Collinear mass of a lepton and a leptonically decaying tau (lepton 2 is its daughter).

    In the collinear approximation the neutrinos of the tau decay fly along the visible lepton 2,
    and the missing transverse momentum is theirs. The visible fraction of the tau momentum is

    .. math:: x = \frac{p_{T2}}{p_{T2} + p_T^{\nu}}, \qquad
              p_T^{\nu} = \max\left(E_T^{miss} \cos(\phi^{miss} - \phi_2),\ 0\right),

    i.e. the MET projected on lepton 2, clipped so that ``x`` lies in ``(0, 1]`` (MET pointing away
    from lepton 2 means no neutrino momentum along it, ``x = 1``), and

    .. math:: m_{coll} = m_{vis} / \sqrt{x},

    with :math:`m_{vis}` the massless dilepton mass (:func:`m_ll`). Then :math:`m_{coll} \ge m_{vis}`,
    with equality when MET has no component along lepton 2. Events with ``pt2 <= 0`` give NaN.

    Parameters
    ----------
    pt1, eta1, phi1
        The prompt lepton (the one not from the tau).
    pt2, eta2, phi2
        The lepton from the tau decay.
    met, met_phi
        Magnitude and azimuth of the missing transverse momentum.

    References
    ----------
    R. K. Ellis, I. Hinchliffe, M. Soldate and J. J. van der Bij, Nucl. Phys. B 297 (1988) 221,
    the collinear approximation; the same :math:`m_{coll}` is used in the searches for
    lepton-flavour-violating Higgs decays H -> mu tau_e, e tau_mu.

    Examples
    --------
    >>> # no MET along lepton 2: m_coll = m_vis
    >>> round(float(m_coll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi, 10.0, np.pi / 2)), 6)
    91.2
    >>> # MET equal to lepton 2's pT, along it: x = 1/2, m_coll = sqrt(2) m_vis
    >>> round(float(m_coll(45.6, 0.0, 0.0, 45.6, 0.0, np.pi, 45.6, np.pi)), 4)
    128.9763
    """
    pt2 = _f(pt2)
    with np.errstate(divide="ignore", invalid="ignore"):
        m_vis = m_ll(pt1, eta1, phi1, pt2, eta2, phi2)
        p_nu = np.maximum(_f(met) * np.cos(_f(met_phi) - _f(phi2)), 0.0)
        x = np.where(pt2 > 0, pt2 / (pt2 + p_nu), np.nan)
        return np.asarray(m_vis / np.sqrt(x))
