"""Batches of generated events as flat numpy arrays, and the kinematics used on them.

A batch holds one entry per particle with the index of its event (sorted), so that per-event
operations are ``bincount`` reductions and same-event pairings (:func:`same_event_pairs`),
with no Python loop over events or particles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.hep import delta_phi

__all__ = (
    "EventBatch",
    "Particles",
    "delta_phi",
    "delta_r2",
    "hadron_flavour",
    "is_hadron",
    "kinematics",
    "same_event_pairs",
)


@dataclass(frozen=True)
class Particles:
    """Flat arrays, one entry per particle, of a batch of events; ``event`` is sorted.

    ``from_hadron`` (final-state particles only) tells whether the particle's mother is a
    hadron; it decides which photons may dress a lepton.
    """

    event: np.ndarray
    pid: np.ndarray
    px: np.ndarray
    py: np.ndarray
    pz: np.ndarray
    e: np.ndarray
    from_hadron: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.event)

    def take(self, index: np.ndarray) -> Particles:
        """The particles at ``index`` (a boolean mask or sorted integer indices)."""
        fh = None if self.from_hadron is None else self.from_hadron[index]
        return Particles(
            self.event[index],
            self.pid[index],
            self.px[index],
            self.py[index],
            self.pz[index],
            self.e[index],
            fh,
        )


@dataclass(frozen=True)
class EventBatch:
    """A batch of generated events: final-state particles and heavy-flavour hadrons."""

    n_events: int
    final: Particles
    heavy: Particles


def kinematics(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pT, pseudorapidity and azimuth of momenta (eta is +-inf-safe: finite for pT = 0)."""
    px, py, pz = (np.asarray(v, dtype=float) for v in (px, py, pz))
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-12))
    return pt, eta, np.arctan2(py, px)


def is_hadron(pid: np.ndarray) -> np.ndarray:
    """Whether PDG ids are hadrons (mesons, baryons and their excitations)."""
    aid = np.abs(np.asarray(pid))
    return (aid % 10000 >= 100) & (aid < 1_000_000)


def hadron_flavour(pid: np.ndarray) -> np.ndarray:
    """5 for hadrons with a b quark, 4 for those with a c quark (and no b), else 0."""
    aid = np.abs(np.asarray(pid)) % 10000
    q2, q3 = (aid // 100) % 10, (aid // 1000) % 10
    had = is_hadron(pid)
    b = had & ((q2 == 5) | (q3 == 5))
    c = had & ~b & ((q2 == 4) | (q3 == 4))
    return np.where(b, 5, np.where(c, 4, 0))


def same_event_pairs(
    event_a: np.ndarray, event_b: np.ndarray, n_events: int
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (i, j) of every pair with ``event_a[i] == event_b[j]``; ``event_b`` sorted.

    The pairs come grouped by i, in increasing j within a group.
    """
    event_a = np.asarray(event_a, dtype=np.int64)
    offsets = np.searchsorted(np.asarray(event_b), np.arange(n_events + 1))
    start = offsets[event_a]
    count = offsets[event_a + 1] - start
    i = np.repeat(np.arange(len(event_a)), count)
    first = np.repeat(np.cumsum(count) - count, count)
    j = np.arange(int(count.sum())) - first + np.repeat(start, count)
    return i, j


def delta_r2(
    eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray
) -> np.ndarray:
    """Squared angular distance Delta eta^2 + Delta phi^2."""
    return (np.asarray(eta1) - eta2) ** 2 + delta_phi(phi1, phi2) ** 2
