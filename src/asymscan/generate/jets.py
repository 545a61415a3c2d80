"""Jets of the detector emulation: anti-kt clustering (FastJet), smearing and b-tagging.

FastJet is imported when jets are first clustered; it prints its banner from C++ on first use,
which is sent to /dev/null.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .._optional import require
from .events import (
    Particles,
    delta_r2,
    hadron_flavour,
    kinematics,
    same_event_pairs,
)

__all__ = ("Jets", "btag_probability", "cluster_jets", "jet_truth_flavour")

_banner_shown = False


@dataclass(frozen=True)
class Jets:
    """Reconstructed jets, flat: the event of each jet, its measured pT, eta, phi, b-tag."""

    event: np.ndarray
    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    btag: np.ndarray


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null for the duration."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def cluster_jets(
    event: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    pz: np.ndarray,
    e: np.ndarray,
    n_events: int,
    r: float = 0.4,
    pt_min: float = 20.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Anti-kt jets of radius ``r`` (FastJet, E-scheme recombination), all events at once.

    Parameters
    ----------
    event
        Sorted event index of each input particle, in ``[0, n_events)``.
    px, py, pz, e
        The particles' four-momenta.
    n_events
        Number of events.
    r, pt_min
        Jet radius and the smallest jet pT returned.

    Returns
    -------
    jet_event : ndarray of int
        Event of each jet.
    p4 : ndarray, shape (n_jets, 4)
        (px, py, pz, E) of each jet.

    References
    ----------
    M. Cacciari, G. P. Salam, G. Soyez, JHEP 04 (2008) 063 (anti-kt); Eur. Phys. J. C 72
    (2012) 1896 (FastJet).
    """
    global _banner_shown
    if n_events == 0 or len(event) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 4))
    fastjet = require("fastjet")
    ak = require("awkward")
    counts = np.bincount(np.asarray(event, dtype=np.int64), minlength=n_events)
    records = ak.zip(
        {
            "px": np.asarray(px, dtype=float),
            "py": np.asarray(py, dtype=float),
            "pz": np.asarray(pz, dtype=float),
            "E": np.asarray(e, dtype=float),
        }
    )
    events = ak.unflatten(records, counts)
    jetdef = fastjet.JetDefinition(fastjet.antikt_algorithm, r)
    if _banner_shown:
        jets = fastjet.ClusterSequence(events, jetdef).inclusive_jets(min_pt=pt_min)
    else:
        with _quiet_stdout():
            jets = fastjet.ClusterSequence(events, jetdef).inclusive_jets(min_pt=pt_min)
        _banner_shown = True
    n_jets = ak.to_numpy(ak.num(jets)).astype(np.int64)
    flat = ak.flatten(jets)
    p4 = np.stack(
        [ak.to_numpy(flat[k]).astype(float) for k in ("px", "py", "pz", "E")], axis=1
    ).reshape(-1, 4)
    return np.repeat(np.arange(n_events), n_jets), p4


def jet_truth_flavour(
    jet_event: np.ndarray,
    jet_eta: np.ndarray,
    jet_phi: np.ndarray,
    hadrons: Particles,
    n_events: int,
    dr: float = 0.3,
    hadron_pt_min: float = 5.0,
) -> np.ndarray:
    """5 for jets within ``dr`` of a b hadron, 4 for those near a c hadron only, else 0.

    Parameters
    ----------
    jet_event, jet_eta, jet_phi
        The jets.
    hadrons
        Heavy-flavour hadrons of the same events (any status); ``hadrons.event`` indexes the
        same events as ``jet_event``.
    n_events
        Number of events.
    dr, hadron_pt_min
        Matching distance and the smallest hadron pT considered.
    """
    hpt, heta, hphi = kinematics(hadrons.px, hadrons.py, hadrons.pz)
    hflav = hadron_flavour(hadrons.pid)
    use = (hpt > hadron_pt_min) & (hflav > 0)
    order = np.argsort(hadrons.event[use], kind="stable")
    h_event = hadrons.event[use][order]
    heta, hphi, hflav = heta[use][order], hphi[use][order], hflav[use][order]
    ij, ih = same_event_pairs(jet_event, h_event, n_events)
    close = delta_r2(
        np.asarray(jet_eta)[ij], np.asarray(jet_phi)[ij], heta[ih], hphi[ih]
    )
    close = close < dr**2
    flavour = np.zeros(len(jet_event), dtype=np.int64)
    np.maximum.at(flavour, ij[close], hflav[ih[close]])
    return flavour


def btag_probability(
    flavour: np.ndarray, b_eff: float, c_mistag: float, light_mistag: float
) -> np.ndarray:
    """Tagging probability of jets of truth flavour 5 (b), 4 (c) or 0 (light)."""
    flavour = np.asarray(flavour)
    return np.select([flavour == 5, flavour == 4], [b_eff, c_mistag], light_mistag)
