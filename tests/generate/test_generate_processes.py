"""The pool definitions: names, groups, PYTHIA settings and forced tau decays."""

from __future__ import annotations

import pytest

from asymscan.errors import ConfigError
from asymscan.generate.processes import (
    BACKGROUNDS,
    PROCESSES,
    SIGNALS,
    Process,
    pythia_settings,
    resolve_processes,
)


def test_pools_of_the_issue():
    assert set(BACKGROUNDS) == {
        "ttbar",
        "ww",
        "dy_tautau",
        "ggh_ww",
        "vbfh_ww",
        "ggh_tautau",
        "vbfh_tautau",
    }
    assert set(SIGNALS) == {"ggh_taumu", "vbfh_taumu", "ggh_taue", "vbfh_taue"}
    assert all(PROCESSES[n].kind == "signal" for n in SIGNALS)


def test_resolve_groups_names_and_order():
    assert [p.name for p in resolve_processes("sm")] == list(BACKGROUNDS)
    assert [p.name for p in resolve_processes("all")] == list(PROCESSES)
    got = resolve_processes("ww, ggh_taumu,ww")
    assert [p.name for p in got] == ["ww", "ggh_taumu"]
    custom = Process("mine", "test", "background", ("Top:gg2ttbar = on",))
    assert resolve_processes([custom, "signal"])[0] is custom
    with pytest.raises(ConfigError, match="unknown process 'zz'"):
        resolve_processes("ww,zz")
    with pytest.raises(ConfigError, match="no process"):
        resolve_processes(" , ")


def test_settings_carry_the_seed_and_the_forced_decays():
    s = pythia_settings(PROCESSES["ttbar"], 1234)
    assert "Beams:eCM = 13000." in s
    assert "Random:seed = 1234" in s
    assert "24:onIfAny = 11 13 15" in s
    with pytest.raises(ConfigError, match="seed"):
        pythia_settings(PROCESSES["ttbar"], -1)


def test_tau_decay_tables():
    assert PROCESSES["ttbar"].tau_configurations == ()
    dy = PROCESSES["dy_tautau"].tau_configurations
    assert len(dy) == 2
    assert "15:onPosIfAny = 11" in dy[0]
    assert "15:onNegIfAny = 11" in dy[1]
    sig = PROCESSES["ggh_taumu"].tau_configurations
    assert sig == (("15:onMode = off", "15:onIfAny = 11"),)
    assert "25:onIfMatch = 13 15" in PROCESSES["ggh_taumu"].settings
    assert "15:onIfAny = 13" in pythia_settings(PROCESSES["vbfh_taue"], 1)


def test_process_validation():
    with pytest.raises(ConfigError, match="kind"):
        Process("x", "x", "signl", ())
    with pytest.raises(ConfigError, match="together"):
        Process("x", "x", "background", (), forced_taus=1)
    with pytest.raises(ConfigError, match="emu_tau_pairs"):
        Process("x", "x", "background", (), 1, (11,), emu_tau_pairs=True)
