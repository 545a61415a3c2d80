"""Shared set-up of the neural-test tests: every test runs torch on one thread."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    return
