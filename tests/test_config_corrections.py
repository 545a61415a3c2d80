"""Tests of [corrections], the symmetry weights, [[systematics]] and scan.normalize."""

from __future__ import annotations

import copy
import json
import pickle
import tomllib
from pathlib import Path

import correction_maps as maps
import numpy as np
import pytest

from asymscan.config import (
    Config,
    CorrectionsConfig,
    ScanConfig,
    SystematicConfig,
    config_from_dict,
    load_config,
)
from asymscan.data import Corrections
from asymscan.errors import ConfigError

cs = pytest.importorskip("correctionlib.schemav2")

# electron_eff: pt [10, 50, 1000] x abseta [0, 1.5, 2.5]; muon_eff: pt [10, 30, 1000] x
# abseta [0, 1.2, 2.4]; content row-major (pt bin, abseta bin)
MAPS = {
    "electron_eff": (
        [10.0, 50.0, 1000.0],
        [0.0, 1.5, 2.5],
        {
            "nominal": [0.90, 0.80, 0.95, 0.85],
            "up": [0.92, 0.82, 0.97, 0.87],
            "down": [0.88, 0.78, 0.93, 0.83],
        },
    ),
    "muon_eff": (
        [10.0, 30.0, 1000.0],
        [0.0, 1.2, 2.4],
        {
            "nominal": [0.92, 0.88, 0.97, 0.93],
            "up": [0.93, 0.89, 0.98, 0.94],
            "down": [0.91, 0.87, 0.96, 0.92],
        },
    ),
}


def efficiency(name: str):
    pt_edges, eta_edges, values = MAPS[name]
    return maps.efficiency(name, pt_edges, eta_edges, values)


def write_corrections(path: Path, *names: str) -> Path:
    cset = cs.CorrectionSet(
        schema_version=2, corrections=[efficiency(n) for n in names]
    )
    path.write_text(cset.model_dump_json())
    return path


def eff(name: str, pt, eta, level: str = "nominal") -> np.ndarray:
    pt_edges, eta_edges, maps = MAPS[name]
    values = np.array(maps[level]).reshape(2, 2)
    i = np.digitize(pt, pt_edges) - 1
    j = np.digitize(np.abs(eta), eta_edges) - 1
    return values[i, j]


WEIGHT_A = (
    "1 / (correction('electron_eff', lep1_pt, abs(lep1_eta), 'nominal') * "
    "correction('muon_eff', lep2_pt, abs(lep2_eta), 'nominal'))"
)
WEIGHT_B = (
    "1 / (correction('electron_eff', lep2_pt, abs(lep2_eta), 'nominal') * "
    "correction('muon_eff', lep1_pt, abs(lep1_eta), 'nominal'))"
)

EXAMPLE = f"""\
[data]
paths = ["events.parquet"]

[corrections]
files = ["efficiencies.json"]

[symmetry]
name = "e-mu vs mu-e"
a = "lead_flavour == 11"
b = "lead_flavour == 13"
weight_a = "{WEIGHT_A}"
weight_b = "{WEIGHT_B}"

[[systematics]]
name = "electron efficiency"
correction = "electron_eff"
up = "up"
down = "down"

[[observables]]
name = "lep1_pt"
bins = 10
range = [0.0, 200.0]
"""

COLS = {
    "lep1_pt": np.array([20.0, 60.0, 35.0, 120.0]),
    "lep1_eta": np.array([0.3, -2.0, 1.3, -0.1]),
    "lep2_pt": np.array([15.0, 25.0, 70.0, 40.0]),
    "lep2_eta": np.array([-1.7, 0.2, 2.2, 1.4]),
    "lead_flavour": np.array([11, 13, 11, 13]),
}


@pytest.fixture
def folder(tmp_path) -> Path:
    write_corrections(tmp_path / "efficiencies.json", "electron_eff", "muon_eff")
    return tmp_path


@pytest.fixture
def example() -> dict:
    return tomllib.loads(EXAMPLE)


def load(folder: Path, data: dict) -> Config:
    return config_from_dict(data, base_dir=folder, source="scan.toml")


def error_of(folder: Path, data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load(folder, data)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# the example


def test_example_parses_and_weights_equal_the_maps(folder):
    (folder / "scan.toml").write_text(EXAMPLE)
    cfg = load_config(folder / "scan.toml")
    assert cfg.corrections == CorrectionsConfig(files=[folder / "efficiencies.json"])
    assert cfg.systematics == [
        SystematicConfig(
            name="electron efficiency",
            correction="electron_eff",
            up="up",
            down="down",
            nominal="nominal",
        )
    ]
    assert cfg.scan.normalize == "none"
    corrections = cfg.load_corrections()
    assert isinstance(corrections, Corrections)
    assert corrections.names == ("electron_eff", "muon_eff")

    c = COLS
    expected_a = 1 / (
        eff("electron_eff", c["lep1_pt"], c["lep1_eta"])
        * eff("muon_eff", c["lep2_pt"], c["lep2_eta"])
    )
    expected_b = 1 / (
        eff("electron_eff", c["lep2_pt"], c["lep2_eta"])
        * eff("muon_eff", c["lep1_pt"], c["lep1_eta"])
    )
    np.testing.assert_allclose(
        cfg.symmetry.weight_a.evaluate(c, corrections), expected_a, rtol=1e-14
    )
    np.testing.assert_allclose(
        cfg.symmetry.weight_b.evaluate(c, corrections), expected_b, rtol=1e-14
    )
    # the first event written out: electron (20, 0.3) -> 0.90, muon (15, 1.7) -> 0.88
    assert cfg.symmetry.weight_a.evaluate(c, corrections)[0] == pytest.approx(
        1 / (0.90 * 0.88)
    )

    # the systematic: electron_eff's 'nominal' read as 'up', muon_eff untouched
    syst = cfg.systematics[0]
    up = corrections.varied(syst.correction, syst.nominal, syst.up)
    expected_up = 1 / (
        eff("electron_eff", c["lep1_pt"], c["lep1_eta"], "up")
        * eff("muon_eff", c["lep2_pt"], c["lep2_eta"])
    )
    np.testing.assert_allclose(
        cfg.symmetry.weight_a.evaluate(c, up), expected_up, rtol=1e-14
    )


def test_expressions_and_columns_include_the_weights(folder, example):
    cfg = load(folder, example)
    exprs = cfg.expressions()
    assert exprs["symmetry.weight_a"].corrections == {"electron_eff", "muon_eff"}
    assert exprs["symmetry.weight_b"].correction_calls == (
        ("electron_eff", ("nominal",)),
        ("muon_eff", ("nominal",)),
    )
    assert cfg.columns() >= {"lep1_pt", "lep1_eta", "lep2_pt", "lep2_eta"}


def test_round_trip_and_pickle(folder, example):
    cfg = load(folder, example)
    dumped = cfg.model_dump()
    assert dumped["corrections"] == {"files": [str(folder / "efficiencies.json")]}
    assert dumped["symmetry"]["weight_a"] == WEIGHT_A
    assert dumped["systematics"][0]["nominal"] == "nominal"
    assert config_from_dict(json.loads(json.dumps(dumped))) == cfg
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_without_the_new_sections(folder, example):
    del example["corrections"]
    del example["systematics"]
    del example["symmetry"]["weight_a"]
    del example["symmetry"]["weight_b"]
    cfg = load(folder, example)
    assert cfg.corrections is None
    assert cfg.systematics == []
    assert cfg.symmetry.weight_a is None
    assert cfg.load_corrections() is None
    assert "symmetry.weight_a" not in cfg.expressions()


def test_weights_without_corrections(folder, example):
    del example["systematics"]
    example["symmetry"]["weight_a"] = "w_a"
    example["symmetry"]["weight_b"] = "w_b * 2"
    cfg = load(folder, example)
    np.testing.assert_array_equal(
        cfg.symmetry.weight_b.evaluate({"w_b": np.array([1.0, 2.0])}), [2.0, 4.0]
    )


def test_corrections_files_resolve_against_the_folder(folder, example):
    example["corrections"]["files"] = [str(folder / "efficiencies.json")]
    assert load(folder, example).corrections.files == [folder / "efficiencies.json"]
    sub = folder / "sub"
    sub.mkdir()
    example["corrections"]["files"] = ["../efficiencies.json"]
    assert load(sub, example).corrections.files == [sub / ".." / "efficiencies.json"]


@pytest.mark.parametrize("mode", ["none", "total", "selection"])
def test_normalize(folder, example, mode):
    example["scan"] = {"normalize": mode}
    assert load(folder, example).scan.normalize == mode
    assert ScanConfig().normalize == "none"


# --------------------------------------------------------------------------------------------
# errors


def test_correction_without_a_corrections_section(folder, example):
    del example["corrections"]
    del example["systematics"]
    msg = error_of(folder, example)
    assert "(2 problems)" in msg
    assert "symmetry.weight_a: \"1 / (correction('electron_eff'" in msg
    assert (
        "calls correction 'electron_eff', 'muon_eff', but there is no [corrections] "
        "section; add one listing the correctionlib files" in msg
    )
    assert "symmetry.weight_b: " in msg


def test_correction_in_an_observable_without_corrections(folder, example):
    del example["corrections"]
    del example["systematics"]
    del example["symmetry"]["weight_a"]
    del example["symmetry"]["weight_b"]
    example["observables"][0]["expr"] = "correction('electron_eff', lep1_pt, 0.5, 'up')"
    msg = error_of(folder, example)
    assert 'observables[0].expr (name = "lep1_pt"): ' in msg
    assert "there is no [corrections] section" in msg


def test_systematics_without_corrections(folder, example):
    del example["corrections"]
    del example["symmetry"]["weight_a"]
    del example["symmetry"]["weight_b"]
    msg = error_of(folder, example)
    assert (
        "systematics: [[systematics]] vary corrections, but there is no [corrections] "
        "section" in msg
    )


@pytest.mark.parametrize(
    ("given", "missing"), [("weight_a", "weight_b"), ("weight_b", "weight_a")]
)
def test_one_weight_without_the_other(folder, example, given, missing):
    del example["systematics"]
    del example["symmetry"][missing]
    msg = error_of(folder, example)
    assert f"symmetry: {given} without {missing}: give both" in msg
    example["symmetry"][missing] = ""
    assert f"{given} without {missing}" in error_of(folder, example)


def test_weights_must_be_numbers(folder, example):
    example["symmetry"]["weight_b"] = "lep1_pt > 20"
    msg = error_of(folder, example)
    assert "symmetry.weight_b: 'lep1_pt > 20' is a condition, not a weight" in msg


def test_unknown_correction_in_an_expression(folder, example):
    example["symmetry"]["weight_b"] = WEIGHT_B.replace("muon_eff", "muon_ef")
    msg = error_of(folder, example)
    assert (
        "symmetry.weight_b: unknown correction 'muon_ef'; did you mean 'muon_eff'?"
        in msg
    )
    assert "define: electron_eff, muon_eff" in msg


def test_systematic_with_an_unknown_correction(folder, example):
    example["systematics"][0]["correction"] = "electron_efff"
    example["symmetry"]["weight_a"] = WEIGHT_A.replace("electron_eff", "electron_efff")
    msg = error_of(folder, example)
    assert (
        'systematics[0].correction (name = "electron efficiency"): unknown correction '
        "'electron_efff'; did you mean 'electron_eff'?" in msg
    )
    assert "define: electron_eff, muon_eff" in msg


def test_systematic_that_has_no_effect(folder, example):
    example["systematics"][0]["correction"] = "muon_eff"
    example["symmetry"]["weight_a"] = WEIGHT_A.replace(
        "correction('muon_eff', lep2_pt, abs(lep2_eta), 'nominal')", "1"
    )
    example["symmetry"]["weight_b"] = WEIGHT_B.replace(
        "correction('muon_eff', lep1_pt, abs(lep1_eta), 'nominal')", "1"
    )
    # muon_eff used only by an observable: varying it changes no weight
    example["observables"][0]["expr"] = (
        "correction('muon_eff', lep1_pt, 0.5, 'nominal')"
    )
    msg = error_of(folder, example)
    assert (
        'systematics[0].correction (name = "electron efficiency"): correction '
        "'muon_eff' is not called by any weight (data.weight, symmetry.weight_a, "
        "symmetry.weight_b), so varying it has no effect; the weights call: "
        "'electron_eff'" in msg
    )


def test_data_weight_counts_as_a_weight(folder, example):
    del example["symmetry"]["weight_a"]
    del example["symmetry"]["weight_b"]
    example["data"]["weight"] = "correction('electron_eff', lep1_pt, 0.5, 'nominal')"
    cfg = load(folder, example)
    assert "data.weight" in cfg.expressions()


def test_systematic_nominal_must_be_passed(folder, example):
    example["systematics"][0]["nominal"] = "central"
    msg = error_of(folder, example)
    assert (
        'systematics[0].nominal (name = "electron efficiency"): the weights never pass '
        "'central' to correction 'electron_eff' (they pass 'nominal')" in msg
    )


def test_systematic_strings_must_differ(folder, example):
    example["systematics"][0]["up"] = "nominal"
    msg = error_of(folder, example)
    assert "nominal and up are both 'nominal'" in msg


def test_systematic_names_unique_and_keys_checked(folder, example):
    example["systematics"].append(copy.deepcopy(example["systematics"][0]))
    msg = error_of(folder, example)
    assert (
        "systematics: systematic names must be unique; repeated: 'electron efficiency'"
        in msg
    )
    example["systematics"][0]["upp"] = "up"
    msg = error_of(folder, example)
    assert (
        "systematics[0].upp (name = \"electron efficiency\"): unknown key 'upp' in "
        "systematics[0]; did you mean 'up'?" in msg
    )
    assert "(valid keys: name, correction, up, down, nominal)" in msg


def test_missing_correction_file_names_its_key(folder, example):
    example["corrections"]["files"] = ["nope.json"]
    msg = error_of(folder, example)
    assert "corrections.files[0]: cannot read correction file" in msg
    assert "nope.json': No such file or directory" in msg


def test_invalid_correction_file_names_its_key(folder, example):
    (folder / "broken.json").write_text("{")
    example["corrections"]["files"] = ["efficiencies.json", "broken.json"]
    msg = error_of(folder, example)
    assert "corrections.files[1]: correction file" in msg
    assert "broken.json' is not a valid correctionlib file" in msg
    assert "corrections.files[0]" not in msg


def test_a_correction_in_two_files(folder, example):
    write_corrections(folder / "muons.json", "muon_eff")
    example["corrections"]["files"] = ["efficiencies.json", "muons.json"]
    msg = error_of(folder, example)
    assert "corrections.files: correction 'muon_eff' is defined in both" in msg
    assert "efficiencies.json' and" in msg
    assert "muons.json'" in msg


def test_files_can_be_left_unread(folder, example):
    example["corrections"]["files"] = ["nope.json"]
    cfg = config_from_dict(example, base_dir=folder, read_corrections=False)
    assert cfg.corrections.files == [folder / "nope.json"]
    with pytest.raises(ConfigError, match=r"nope\.json"):
        cfg.load_corrections()


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("corrections", "files"), [], "corrections.files"),
        (("corrections", "files"), [""], "files must not contain empty strings"),
        (
            ("corrections", "filez"),
            ["a.json"],
            "unknown key 'filez' in [corrections]; did you mean 'files'?",
        ),
        (
            ("scan", "normalize"),
            "shape",
            "scan.normalize: Input should be 'none', 'total' or 'selection'",
        ),
        (("systematics", 0, "up"), "", "systematics[0].up"),
        (("systematics", 0, "correction"), 3, "systematics[0].correction"),
    ],
)
def test_values_out_of_range(folder, example, where, value, expected):
    example.setdefault("scan", {})
    table = example
    for part in where[:-1]:
        table = table[part]
    table[where[-1]] = value
    assert expected in error_of(folder, example)
