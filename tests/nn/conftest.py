"""Shared set-up of the neural-test tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread():
    # tiny problems: intra-op threads only add overhead (and stall badly on a busy machine)
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
