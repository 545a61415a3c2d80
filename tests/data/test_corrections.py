"""Tests of the correctionlib corrections: values against the maps, variations, errors."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from asymscan.data import Corrections, load_corrections
from asymscan.data import corrections as corrections_module
from asymscan.errors import ConfigError, DataError, ShapeError

cs = pytest.importorskip("correctionlib.schemav2")
from correction_maps import efficiency

# electron_eff(pt, abseta, syst): pt bins [10, 50), [50, 1000); abseta bins [0, 1.5), [1.5, 2.5)
E_PT = [10.0, 50.0, 1000.0]
E_ETA = [0.0, 1.5, 2.5]
E_MAPS = {
    "nominal": [0.90, 0.80, 0.95, 0.85],  # (pt bin, eta bin) row-major
    "up": [0.92, 0.82, 0.97, 0.87],
    "down": [0.88, 0.78, 0.93, 0.83],
}


def inverse():
    """inv(x) = 1/x: non-positive for x < 0, infinite at 0."""
    return cs.Correction(
        name="inv",
        version=1,
        inputs=[cs.Variable(name="x", type="real")],
        output=cs.Variable(name="w", type="real"),
        data=cs.Formula(
            nodetype="formula", expression="1/x", parser="TFormula", variables=["x"]
        ),
    )


def jets():
    return cs.Correction(
        name="njet_sf",
        version=1,
        inputs=[cs.Variable(name="njet", type="int")],
        output=cs.Variable(name="w", type="real"),
        data=cs.Category(
            nodetype="category",
            input="njet",
            content=[
                cs.CategoryItem(key=0, value=1.1),
                cs.CategoryItem(key=1, value=1.2),
            ],
        ),
    )


def write(path: Path, *corrections) -> Path:
    cset = cs.CorrectionSet(schema_version=2, corrections=list(corrections))
    path.write_text(cset.model_dump_json())
    return path


@pytest.fixture
def files(tmp_path):
    return [
        write(
            tmp_path / "electrons.json", efficiency("electron_eff", E_PT, E_ETA, E_MAPS)
        ),
        write(tmp_path / "other.json", inverse(), jets()),
    ]


@pytest.fixture
def corr(files) -> Corrections:
    return load_corrections(files)


PT = np.array([20.0, 60.0, 20.0, 999.0])
ETA = np.array([0.5, 0.5, 2.0, 1.6])


def by_hand(level: str) -> np.ndarray:
    values = np.array(E_MAPS[level]).reshape(2, 2)
    return values[np.digitize(PT, E_PT) - 1, np.digitize(ETA, E_ETA) - 1]


# --------------------------------------------------------------------------------------------
# loading and description


def test_names_inputs_signature(corr, files):
    assert corr.names == ("electron_eff", "inv", "njet_sf")
    assert "electron_eff" in corr
    assert "muon_eff" not in corr
    assert len(corr) == 3
    assert list(corr) == list(corr.names)
    assert corr.inputs("electron_eff") == (
        ("pt", "real"),
        ("abseta", "real"),
        ("syst", "string"),
    )
    assert corr.signature("electron_eff") == (
        "electron_eff(pt: real, abseta: real, syst: string)"
    )
    assert corr.files == tuple(f.resolve() for f in files)
    assert "electron_eff" in repr(corr)


def test_a_single_path_and_gzip(tmp_path, files):
    gz = tmp_path / "electrons.json.gz"
    gz.write_bytes(gzip.compress(files[0].read_bytes()))
    one = load_corrections(gz)
    assert one.names == ("electron_eff",)
    np.testing.assert_array_equal(
        one.evaluate("electron_eff", PT, ETA, "nominal"), by_hand("nominal")
    )
    assert load_corrections(str(files[0])).names == ("electron_eff",)


def test_files_are_parsed_once(files, monkeypatch):
    load_corrections(files)
    calls = []
    original = corrections_module._parse
    monkeypatch.setattr(
        corrections_module,
        "_parse",
        lambda *a: calls.append(a[0]) or original(*a),
    )
    load_corrections(files)
    load_corrections(files[:1])
    assert calls == []


def test_a_changed_file_is_read_again(tmp_path):
    path = write(tmp_path / "c.json", inverse())
    assert load_corrections(path).names == ("inv",)
    write(path, inverse(), jets())
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert load_corrections(path).names == ("inv", "njet_sf")


# --------------------------------------------------------------------------------------------
# evaluation


def test_values_equal_the_map(corr):
    out = corr.evaluate("electron_eff", PT, ETA, "nominal")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, by_hand("nominal"))
    np.testing.assert_array_equal(
        corr.evaluate("electron_eff", PT, ETA, "up"), by_hand("up")
    )
    np.testing.assert_array_equal(out, [0.90, 0.95, 0.80, 0.85])  # written out once


def test_scalars_broadcast_to_the_events(corr):
    out = corr.evaluate("electron_eff", PT, 0.5, "nominal")
    np.testing.assert_array_equal(out, [0.90, 0.95, 0.90, 0.95])
    scalar = corr.evaluate("electron_eff", 20.0, 0.5, "nominal")
    assert scalar.shape == ()
    assert scalar == 0.90
    assert corr.evaluate("electron_eff", np.zeros(0), np.zeros(0), "up").shape == (0,)
    np.testing.assert_array_equal(
        corr.evaluate("electron_eff", PT.reshape(2, 2), ETA.reshape(2, 2), "nominal"),
        by_hand("nominal").reshape(2, 2),
    )


def test_integer_inputs(corr):
    np.testing.assert_array_equal(corr.evaluate("njet_sf", [0, 1, 1]), [1.1, 1.2, 1.2])
    np.testing.assert_array_equal(
        corr.evaluate("njet_sf", np.array([1.0, 0.0])), [1.2, 1.1]
    )
    with pytest.raises(
        DataError, match=r"'njet'.*is an integer, but 1 value is not \(e.g. 0.5\)"
    ):
        corr.evaluate("njet_sf", np.array([1.0, 0.5]))


def test_varied_replaces_the_nominal_string(corr):
    up = corr.varied("electron_eff", "nominal", "up")
    np.testing.assert_array_equal(
        up.evaluate("electron_eff", PT, ETA, "nominal"), by_hand("up")
    )
    # other strings and the original are untouched
    np.testing.assert_array_equal(
        up.evaluate("electron_eff", PT, ETA, "down"), by_hand("down")
    )
    np.testing.assert_array_equal(
        corr.evaluate("electron_eff", PT, ETA, "nominal"), by_hand("nominal")
    )
    assert up.variations == (("electron_eff", "nominal", "up"),)
    # stacked: applied in order
    chained = up.varied("electron_eff", "up", "down")
    np.testing.assert_array_equal(
        chained.evaluate("electron_eff", PT, ETA, "nominal"), by_hand("down")
    )
    assert up != corr
    assert up == corr.varied("electron_eff", "nominal", "up")
    assert up.stamp() != corr.stamp()


def test_varied_errors(corr):
    with pytest.raises(ConfigError, match="unknown correction 'electron'"):
        corr.varied("electron", "nominal", "up")
    with pytest.raises(ConfigError, match=r"inv\(x: real\) has no string input"):
        corr.varied("inv", "nominal", "up")
    with pytest.raises(ConfigError, match="value must be a string, got int"):
        corr.varied("electron_eff", "nominal", 1)  # type: ignore[arg-type]


def test_stamp_is_hashable_and_follows_the_contents(tmp_path):
    path = write(tmp_path / "c.json", inverse())
    first = load_corrections(path)
    assert first.stamp() == load_corrections(path).stamp()
    assert len(first.stamp()) == 64
    assert hash(first) == hash(load_corrections(path))
    write(path, inverse(), jets())
    os.utime(path, ns=(2, 2))
    assert load_corrections(path).stamp() != first.stamp()


def test_immutable(corr):
    with pytest.raises(AttributeError, match="immutable"):
        corr._variations = ()  # type: ignore[misc]
    with pytest.raises(TypeError, match="load_corrections"):
        Corrections()


def test_pickles_without_the_files(corr, files):
    up = corr.varied("electron_eff", "nominal", "up")
    blob = pickle.dumps(up)
    for f in files:
        f.unlink()  # a worker elsewhere need not see the files
    back = pickle.loads(blob)
    assert back == up
    assert back.stamp() == up.stamp()
    np.testing.assert_array_equal(
        back.evaluate("electron_eff", PT, ETA, "nominal"), by_hand("up")
    )


def test_unpickled_copies_parse_once(corr, monkeypatch):
    blob = pickle.dumps(corr)
    pickle.loads(blob)
    calls = []
    real = corrections_module._File
    monkeypatch.setattr(
        corrections_module, "_File", lambda *a: calls.append(a[0]) or real(*a)
    )
    for _ in range(3):
        assert pickle.loads(blob) == corr
    assert calls == []


# --------------------------------------------------------------------------------------------
# errors


def test_unknown_correction_lists_the_available_ones(corr):
    with pytest.raises(ConfigError) as info:
        corr.evaluate("electron_ef", PT, ETA, "nominal")
    msg = str(info.value)
    assert "unknown correction 'electron_ef'; did you mean 'electron_eff'?" in msg
    assert "define: electron_eff, inv, njet_sf" in msg
    assert "electrons.json" in msg
    with pytest.raises(ConfigError, match="unknown correction 'zzz'; the files"):
        corr.inputs("zzz")


def test_wrong_number_of_inputs(corr):
    with pytest.raises(
        ConfigError,
        match=r"correction electron_eff\(pt: real, abseta: real, syst: string\) "
        r"takes 3 inputs, got 2",
    ):
        corr.evaluate("electron_eff", PT, ETA)
    with pytest.raises(ConfigError, match=r"inv\(x: real\) takes 1 input, got 2"):
        corr.evaluate("inv", PT, PT)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            (PT, ETA, 1.0),
            (
                r"input 'syst' of correction electron_eff\(pt: real, abseta: real, "
                r"syst: string\) is a string.*got the number 1.0"
            ),
        ),
        (
            (PT, ETA, np.array(["up", "up", "up", "up"])),
            r"input 'syst' .* is a string.*got an array of <U2",
        ),
        ((PT, ETA, PT), r"input 'syst' .* is a string.*got an array of float64"),
        (
            ("20", ETA, "nominal"),
            r"input 'pt' of correction electron_eff\(.*\) is a number, but got the string '20'",
        ),
        (
            (PT, np.array(["a", "b", "c", "d"]), "nominal"),
            r"input 'abseta' .* is a number, but got an array of <U1",
        ),
    ],
)
def test_wrong_input_types(corr, args, match):
    with pytest.raises(ConfigError, match=match):
        corr.evaluate("electron_eff", *args)


def test_string_value_not_accepted(corr):
    with pytest.raises(
        ConfigError,
        match=r"correction electron_eff\(.*\) does not accept 'upp' for its string "
        r"input 'syst'",
    ):
        corr.evaluate("electron_eff", PT, ETA, "upp")
    bad = corr.varied("electron_eff", "nominal", "Up")
    with pytest.raises(
        ConfigError, match=r"does not accept 'Up' \(it replaces 'nominal'"
    ):
        bad.evaluate("electron_eff", PT, ETA, "nominal")


def test_integer_category_not_accepted(corr):
    with pytest.raises(
        DataError,
        match=r"input 'njet' has values that are not among its categories \(e.g. 5\)",
    ):
        corr.evaluate("njet_sf", np.array([0, 1, 5]))


def test_inputs_outside_a_map_with_flow_error(corr):
    with pytest.raises(
        DataError,
        match=r"correction electron_eff\(.*\): input 'pt' has values outside the map "
        r"\(e.g. 5.0+, below its edges\), and the map has flow='error'",
    ):
        corr.evaluate("electron_eff", np.array([20.0, 5.0]), 0.5, "nominal")
    with pytest.raises(
        DataError, match=r"input 'abseta' has values outside the map.*above"
    ):
        corr.evaluate("electron_eff", 20.0, np.array([0.5, 3.0]), "nominal")


def test_nan_inputs(corr):
    with pytest.raises(
        DataError,
        match=r"input 'pt' of correction 'electron_eff' is NaN for 1 of 2 events",
    ):
        corr.evaluate("electron_eff", np.array([20.0, np.nan]), 0.5, "nominal")


def test_non_positive_and_non_finite_values_are_counted(corr):
    x = np.array([2.0, -1.0, -3.0, 0.0, 4.0])
    with pytest.raises(
        DataError,
        match="correction 'inv' gave 2 non-positive and 1 non-finite values out of 5 events",
    ):
        corr.evaluate("inv", x)
    with pytest.raises(
        DataError, match="gave 0 non-positive and 1 non-finite values out of 1 event;"
    ):
        corr.evaluate("inv", 0.0)
    np.testing.assert_array_equal(corr.evaluate("inv", [2.0, 4.0]), [0.5, 0.25])


def test_shapes_must_broadcast(corr):
    with pytest.raises(ShapeError, match=r"do not broadcast: pt \(4,\), abseta \(3,\)"):
        corr.evaluate("electron_eff", PT, ETA[:3], "nominal")


def test_missing_file(tmp_path):
    with pytest.raises(
        ConfigError, match=r"cannot read correction file '.*nope\.json': No such file"
    ):
        load_corrections([tmp_path / "nope.json"])
    with pytest.raises(ConfigError, match="not a regular file"):
        load_corrections([tmp_path])
    with pytest.raises(ConfigError, match="no correction files given"):
        load_corrections([])


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", "is not a valid correctionlib file .*JSON parse error"),
        (b"", "JSON parse error"),
        (b'{"schema_version": 1, "corrections": []}', "schema v2"),
        (
            b'{"schema_version": 2, "corrections": [{"name": "x"}]}',
            "missing required attribute",
        ),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"\x1f\x8b\x08\x00broken", "not a valid gzip file"),
    ],
)
def test_invalid_files(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as info:
        load_corrections([path])
    assert "bad.json" in str(info.value)


def test_a_name_defined_in_two_files(tmp_path, files):
    again = write(tmp_path / "again.json", jets())
    with pytest.raises(
        ConfigError,
        match=r"correction 'njet_sf' is defined in both '.*other\.json' and '.*again\.json'",
    ):
        load_corrections([*files, again])
    with pytest.raises(ConfigError, match="listed twice"):
        load_corrections([files[0], files[0]])
