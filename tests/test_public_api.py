"""Pin the public API, so that changes to it are deliberate (as pyhf's test_public_api_repr.py)."""

from __future__ import annotations

import importlib

import pytest

import asymscan

PUBLIC = [
    "AsymscanError",
    "ConfigError",
    "DataError",
    "LowStatisticsWarning",
    "NsigmaResult",
    "Q0Result",
    "ShapeError",
    "WindowScan",
    "__version__",
    "asimov_q0",
    "inject_strength",
    "nsigma",
    "p_from_z",
    "q0_known_background",
    "q0_two_sample",
    "scan_windows",
    "toy_p_value",
    "z_from_p",
]


def test_top_level_all_is_pinned():
    assert sorted(asymscan.__all__) == PUBLIC
    assert len(set(asymscan.__all__)) == len(asymscan.__all__)


def test_every_public_name_exists():
    for name in asymscan.__all__:
        assert hasattr(asymscan, name), name
    assert isinstance(asymscan.__version__, str)
    assert asymscan.__version__


@pytest.mark.parametrize(
    "module",
    [
        "asymscan.errors",
        "asymscan.stats",
        "asymscan.stats.nsigma",
        "asymscan.stats.likelihood",
        "asymscan.stats.windows",
        "asymscan.stats.significance",
        "asymscan.templates",
        "asymscan.calibrate",
        "asymscan.calibrate.toys",
        "asymscan.calibrate.tail",
        "asymscan.checkpoint",
        "asymscan.execution",
        "asymscan.files",
        "asymscan.scan.merge",
        "asymscan.generate.run",
    ],
)
def test_submodule_all_is_a_tuple_of_existing_names(module):
    mod = importlib.import_module(module)
    assert isinstance(mod.__all__, tuple)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_error_hierarchy():
    assert issubclass(asymscan.DataError, asymscan.AsymscanError)
    assert issubclass(asymscan.DataError, ValueError)
    assert issubclass(asymscan.ShapeError, asymscan.DataError)
    assert issubclass(asymscan.ConfigError, asymscan.AsymscanError)
    assert issubclass(asymscan.ConfigError, ValueError)
    assert issubclass(asymscan.LowStatisticsWarning, UserWarning)
