"""Tests of the TOML scan configuration: a valid example, unknown keys, bad values, bad files."""

from __future__ import annotations

import copy
import json
import pickle
import tomllib
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from asymscan.config import (
    Config,
    DataConfig,
    Observable,
    ScanConfig,
    config_from_dict,
    load_config,
)
from asymscan.data import Expression
from asymscan.errors import ConfigError

EXAMPLE = """\
[data]
paths = ["events.parquet", "more/events2.parquet"]
tree = "events"
weight = ""

[symmetry]
name = "e-mu vs mu-e"
a = "lead_flavor == 11"
b = "lead_flavor == 13"

[[selections]]
name = "jets"
categories = { "0j" = "n_jets == 0", "1j" = "n_jets == 1", "2j+" = "n_jets >= 2" }

[[observables]]
name = "m_coll"
expr = "m_coll"
bins = 28
range = [30.0, 170.0]

[[observables]]
name = "m_ll"
expr = "m_ll(l1_pt, l1_eta, l1_phi, l2_pt, l2_eta, l2_phi)"
bins = 20
range = [0, 200]

[scan]
dims = [1, 2]
min_entries = 25
toys = 1000
seed = 1
top = 20
"""


@pytest.fixture
def example() -> dict:
    return tomllib.loads(EXAMPLE)


def write(tmp_path: Path, text: str, name: str = "scan.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def load_dict(tmp_path: Path, data: dict) -> Config:
    """Write ``data`` as TOML (via a tiny writer for this schema) and load it."""
    return load_config(write(tmp_path, to_toml(data)))


def to_toml(data: dict) -> str:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return (
                "{ "
                + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items())
                + " }"
            )
        return repr(v)

    lines = []
    for key, v in data.items():
        if v is None:  # TOML has no null: an absent optional section
            continue
        if not isinstance(v, dict | list) or (isinstance(v, list) and not v):
            lines.insert(0, f"{key} = {value(v)}")
    for key, v in data.items():
        if isinstance(v, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {value(x)}" for k, x in v.items() if x is not None]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for entry in v:
                lines.append(f"[[{key}]]")
                lines += [
                    f"{k} = {value(x)}" for k, x in entry.items() if x is not None
                ]
    return "\n".join(lines) + "\n"


def error_of(tmp_path: Path, data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        load_dict(tmp_path, data)
    return str(info.value)


# --------------------------------------------------------------------------------------------
# a valid configuration


def test_example_loads(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    assert cfg.data.paths == [
        tmp_path / "events.parquet",
        tmp_path / "more" / "events2.parquet",
    ]
    assert cfg.data.tree == "events"
    assert cfg.data.weight is None
    assert cfg.symmetry.name == "e-mu vs mu-e"
    assert isinstance(cfg.symmetry.a, Expression)
    assert cfg.symmetry.a.columns == {"lead_flavor"}
    assert [s.name for s in cfg.selections] == ["jets"]
    assert list(cfg.selections[0].categories) == ["0j", "1j", "2j+"]
    assert [o.name for o in cfg.observables] == ["m_coll", "m_ll"]
    assert cfg.observables[0].bins == 28
    assert cfg.observables[0].range == (30.0, 170.0)
    assert cfg.observables[1].range == (0.0, 200.0)
    assert cfg.scan == ScanConfig(
        dims=[1, 2], min_entries=25, toys=1000, seed=1, top=20
    )


def test_expressions_are_usable(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    cols = {"lead_flavor": np.array([11, 13, 11]), "n_jets": np.array([0, 2, 5])}
    np.testing.assert_array_equal(cfg.symmetry.a.evaluate(cols), [True, False, True])
    np.testing.assert_array_equal(
        cfg.selections[0].categories["2j+"].evaluate(cols), [False, True, True]
    )
    assert cfg.columns() == {
        "lead_flavor",
        "n_jets",
        "m_coll",
        "l1_pt",
        "l1_eta",
        "l1_phi",
        "l2_pt",
        "l2_eta",
        "l2_phi",
    }
    assert set(cfg.expressions()) == {
        "symmetry.a",
        "symmetry.b",
        "selections[0].categories.0j",
        "selections[0].categories.1j",
        'selections[0].categories."2j+"',
        "observables[0].expr",
        "observables[1].expr",
    }


def test_round_trip_through_a_plain_dict(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    dumped = cfg.model_dump()
    text = json.dumps(dumped)  # plain data, embeddable in results
    assert dumped["symmetry"] == {
        "name": "e-mu vs mu-e",
        "a": "lead_flavor == 11",
        "b": "lead_flavor == 13",
        "weight_a": None,
        "weight_b": None,
    }
    assert dumped["corrections"] is None
    assert dumped["systematics"] == []
    assert dumped["data"]["paths"] == [
        str(tmp_path / "events.parquet"),
        str(tmp_path / "more" / "events2.parquet"),
    ]
    assert dumped["selections"][0]["categories"]["2j+"] == "n_jets >= 2"
    assert (
        dumped["observables"][1]["expr"]
        == "m_ll(l1_pt, l1_eta, l1_phi, l2_pt, l2_eta, l2_phi)"
    )
    assert Config.model_validate(json.loads(text)) == cfg
    assert config_from_dict(dumped) == cfg
    assert cfg.model_dump(mode="json") == json.loads(text)
    # and back through TOML, from a different folder: paths are absolute now
    other = tmp_path / "elsewhere"
    other.mkdir()
    assert load_dict(other, dumped) == cfg


def test_pickles(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_frozen(tmp_path):
    cfg = load_config(write(tmp_path, EXAMPLE))
    with pytest.raises(ValidationError):
        cfg.scan.toys = 5  # type: ignore[misc]


def test_defaults(tmp_path, example):
    del example["scan"]
    del example["selections"]
    del example["data"]["tree"]
    del example["data"]["weight"]
    del example["observables"][0]["expr"]
    cfg = load_dict(tmp_path, example)
    assert cfg.scan == ScanConfig()
    assert cfg.scan.dims == [1]
    assert cfg.scan.min_entries == 25
    assert cfg.selections == []
    assert cfg.data.tree is None
    assert cfg.data.weight is None
    assert cfg.observables[0].expr.text == "m_coll"  # defaults to the name


def test_weight_expression(tmp_path, example):
    example["data"]["weight"] = "w_gen * sf_lep"
    cfg = load_dict(tmp_path, example)
    assert cfg.data.weight is not None
    assert cfg.data.weight.columns == {"w_gen", "sf_lep"}
    assert "data.weight" in cfg.expressions()
    assert cfg.model_dump()["data"]["weight"] == "w_gen * sf_lep"


def test_paths(tmp_path, example):
    example["data"]["paths"] = [
        str(tmp_path / "abs.parquet"),
        "~/home.parquet",
        "../up.root",
    ]
    cfg = load_dict(tmp_path, example)
    assert cfg.data.paths[0] == tmp_path / "abs.parquet"
    assert cfg.data.paths[1] == Path.home() / "home.parquet"
    assert cfg.data.paths[2] == tmp_path / ".." / "up.root"
    # built from a dict: relative paths stay relative unless a base folder is given
    dict_cfg = config_from_dict(tomllib.loads(EXAMPLE))
    assert dict_cfg.data.paths[0] == Path("events.parquet")
    based = config_from_dict(tomllib.loads(EXAMPLE), base_dir=tmp_path)
    assert based.data.paths[0] == tmp_path / "events.parquet"


# --------------------------------------------------------------------------------------------
# unknown keys


@pytest.mark.parametrize(
    ("where", "key", "expected"),
    [
        ((), "colour", "colour: unknown key 'colour' in the top level"),
        (
            ("data",),
            "tre",
            "data.tre: unknown key 'tre' in [data]; did you mean 'tree'?",
        ),
        (("symmetry",), "c", "symmetry.c: unknown key 'c' in [symmetry]"),
        (
            ("selections", 0),
            "label",
            'selections[0].label (name = "jets"): unknown key',
        ),
        (
            ("observables", 1),
            "nbins",
            'observables[1].nbins (name = "m_ll"): unknown key',
        ),
        (
            ("scan",),
            "topp",
            "scan.topp: unknown key 'topp' in [scan]; did you mean 'top'?",
        ),
    ],
)
def test_unknown_key_at_each_level(tmp_path, example, where, key, expected):
    table = example
    for part in where:
        table = table[part]
    table[key] = 1
    msg = error_of(tmp_path, example)
    assert expected in msg
    assert "scan.toml" in msg
    assert "valid keys:" in msg


def test_unknown_keys_list_the_valid_ones(tmp_path, example):
    example["scan"]["topp"] = 3
    msg = error_of(tmp_path, example)
    assert (
        "(valid keys: dims, min_entries, toys, seed, first_toy, tail_samples, top, normalize)"
        in msg
    )


def test_every_problem_is_reported(tmp_path, example):
    example["scan"]["topp"] = 3
    example["data"]["tre"] = "x"
    example["observables"][0]["bins"] = 0
    msg = error_of(tmp_path, example)
    assert "(3 problems)" in msg
    assert "scan.topp" in msg
    assert "data.tre" in msg
    assert "observables[0].bins" in msg


def test_missing_keys(tmp_path, example):
    del example["symmetry"]["b"]
    del example["observables"][0]["bins"]
    msg = error_of(tmp_path, example)
    assert "symmetry.b: required key is missing" in msg
    assert 'observables[0].bins (name = "m_coll"): required key is missing' in msg
    with pytest.raises(ConfigError, match="data: required key is missing"):
        config_from_dict(
            {k: v for k, v in tomllib.loads(EXAMPLE).items() if k != "data"}
        )


# --------------------------------------------------------------------------------------------
# bad expressions name their field


@pytest.mark.parametrize(
    ("where", "text", "expected"),
    [
        (("symmetry", "a"), "lead_flavor.real == 11", "symmetry.a: attribute access"),
        (("symmetry", "b"), "__import__('os')", "symmetry.b: "),
        (
            ("selections", 0, "categories", "2j+"),
            "n_jets >= 2 &",
            'selections[0].categories."2j+" (name = "jets"): invalid syntax',
        ),
        (
            ("observables", 0, "expr"),
            "m_coll[0]",
            'observables[0].expr (name = "m_coll"): indexing',
        ),
        (("data", "weight"), "w + 'a'", "data.weight: strings are not allowed"),
        (("observables", 1, "expr"), "sqr(m)", "unknown function 'sqr'"),
    ],
)
def test_bad_expression_names_the_field(tmp_path, example, where, text, expected):
    table = example
    for part in where[:-1]:
        table = table[part]
    table[where[-1]] = text
    msg = error_of(tmp_path, example)
    assert expected in msg
    assert "scan.toml" in msg


def test_selections_must_be_conditions(tmp_path, example):
    example["symmetry"]["a"] = "lead_flavor + 11"
    example["selections"][0]["categories"]["0j"] = (
        "n_jets"  # a bare column may be boolean: fine
    )
    example["selections"][0]["categories"]["1j"] = "n_jets - 1"
    msg = error_of(tmp_path, example)
    assert "symmetry.a: 'lead_flavor + 11' is a number, not a condition" in msg
    assert "selections[0].categories.1j" in msg
    assert "categories.0j" not in msg


def test_a_and_b_must_differ(tmp_path, example):
    example["symmetry"]["b"] = "lead_flavor==11"
    assert "symmetry: a and b are the same expression" in error_of(tmp_path, example)


def test_expression_must_be_a_string(tmp_path, example):
    example["symmetry"]["a"] = 11
    assert "symmetry.a: must be an expression given as a string, got int" in error_of(
        tmp_path, example
    )


# --------------------------------------------------------------------------------------------
# values out of range


@pytest.mark.parametrize(
    ("where", "value", "expected"),
    [
        (("observables", 0, "bins"), 0, "observables[0].bins"),
        (("observables", 0, "bins"), 2.5, "valid integer"),
        (("observables", 0, "range"), [170.0, 30.0], "lo < hi, got [170, 30]"),
        (("observables", 0, "range"), [1.0, 1.0], "lo < hi"),
        (("observables", 0, "range"), [1.0, 2.0, 3.0], "observables[0].range"),
        (("observables", 0, "range"), [0.0, float("inf")], "finite"),
        (("observables", 0, "name"), "", "observables[0].name"),
        (
            ("scan", "dims"),
            [1, 4],
            "dims [4] not supported; each must be one of [1, 2, 3]",
        ),
        (("scan", "dims"), [1, 1], "repeated"),
        (("scan", "dims"), [], "scan.dims"),
        (
            ("scan", "dims"),
            [1, 2, 3],
            "asks for 3-D windows but only 2 observables are defined",
        ),
        (("scan", "toys"), -1, "scan.toys: Input should be greater than or equal to 0"),
        (("scan", "top"), 0, "scan.top: Input should be greater than or equal to 1"),
        (("scan", "min_entries"), -5, "scan.min_entries"),
        (("scan", "seed"), True, "scan.seed: Input should be a valid integer"),
        (("scan", "seed"), "1", "scan.seed"),
        (("data", "paths"), [], "data.paths"),
        (
            ("data", "paths"),
            "events.parquet",
            "data.paths: Input should be a valid list",
        ),
        (("data", "paths"), [""], "empty"),
        (("data", "tree"), "", "data.tree"),
        (("selections", 0, "categories"), {}, "selections[0].categories"),
        (("selections", 0, "name"), "", "selections[0].name"),
        (("symmetry", "name"), "", "symmetry.name"),
    ],
)
def test_values_out_of_range(tmp_path, example, where, value, expected):
    table = example
    for part in where[:-1]:
        table = table[part]
    table[where[-1]] = value
    assert expected in error_of(tmp_path, example)


def test_names_must_be_unique(tmp_path, example):
    example["observables"][1]["name"] = "m_coll"
    example["selections"].append(copy.deepcopy(example["selections"][0]))
    msg = error_of(tmp_path, example)
    assert "observables: observable names must be unique; repeated: 'm_coll'" in msg
    assert "selections: selection names must be unique; repeated: 'jets'" in msg


def test_too_few_observables_for_dims(tmp_path, example):
    del example["observables"][1]
    msg = error_of(tmp_path, example)
    assert (
        "scan.dims = [1, 2] asks for 2-D windows but only 1 observable is defined"
        in msg
    )


# --------------------------------------------------------------------------------------------
# bad files


def test_malformed_toml_names_the_file(tmp_path):
    path = write(tmp_path, "[data\npaths = 1\n", name="broken.toml")
    with pytest.raises(ConfigError, match=r"broken\.toml.*is not valid TOML.*line 1"):
        load_config(path)


def test_duplicate_toml_key(tmp_path):
    path = write(tmp_path, EXAMPLE + "\n[scan]\ntoys = 3\n", name="dup.toml")
    with pytest.raises(ConfigError, match=r"dup\.toml.*not valid TOML"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(
        ConfigError, match=r"cannot read configuration file .*nope\.toml"
    ):
        load_config(tmp_path / "nope.toml")


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes(b'[symmetry]\nname = "\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin\.toml"):
        load_config(path)


def test_models_validate_directly():
    obs = Observable(name="pt", bins=10, range=(0, 100))
    assert obs.expr.text == "pt"
    assert DataConfig(paths=["a.parquet"]).paths == [Path("a.parquet")]
    with pytest.raises(ValidationError, match="extra"):
        ScanConfig(dimz=[1])  # type: ignore[call-arg]
