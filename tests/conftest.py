"""Shared fixtures: the closed-form flat-template set-up of Sec. 4 of Birman et al. 2022,
and torch on one thread."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import asymscan
from asymscan import templates


def pytest_configure(config: pytest.Config) -> None:
    # When a Hypothesis test fails, its pytest plugin writes a patch with libcst, whose import
    # emits a DeprecationWarning (mypy_extensions.TypedDict) inside a pytest hook; with
    # filterwarnings = error that turns the report of the failure into an INTERNALERROR.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning",
    )


@pytest.fixture
def one_thread():
    """Torch on one thread: small fits only lose to intra-op threads (and stall when busy)."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@dataclass(frozen=True)
class FlatSetup:
    """Flat 28x28 background of 1e4 per bin, flat 6x6 signal centred, 5 sigma of q0^L1 injected."""

    t: np.ndarray
    s: np.ndarray
    mu: float
    a: np.ndarray  # Asimov reference sample, A = T
    b: np.ndarray  # Asimov tested sample, B = T + mu S
    signal_window: tuple[slice, slice]


@pytest.fixture(scope="session")
def flat_setup() -> FlatSetup:
    t = templates.flat((28, 28), 1e4)
    s = templates.rectangle((28, 28), 6)
    mu = float(asymscan.inject_strength(t, s, 5.0, method="L1"))
    window = (slice(11, 17), slice(11, 17))  # (28 - 6) // 2 = 11
    return FlatSetup(t=t, s=s, mu=mu, a=t.copy(), b=t + mu * s, signal_window=window)
