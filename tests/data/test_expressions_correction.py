"""Tests of correction('name', inputs...) in the expression language."""

from __future__ import annotations

import pickle

import correction_maps as maps
import numpy as np
import pytest

from asymscan.data import FUNCTIONS, ExpressionError, load_corrections, parse
from asymscan.errors import ConfigError, DataError

cs = pytest.importorskip("correctionlib.schemav2")

PT_EDGES = [10.0, 50.0, 1000.0]
ETA_EDGES = [0.0, 1.5, 2.5]
MAPS = {"nominal": [0.9, 0.8, 0.95, 0.85], "up": [0.92, 0.82, 0.97, 0.87]}


def efficiency(name: str):
    return maps.efficiency(name, PT_EDGES, ETA_EDGES, MAPS)


@pytest.fixture
def corr(tmp_path):
    cset = cs.CorrectionSet(schema_version=2, corrections=[efficiency("electron_eff")])
    path = tmp_path / "eff.json"
    path.write_text(cset.model_dump_json())
    return load_corrections([path])


COLS = {
    "pt": np.array([20.0, 60.0, 20.0]),
    "eta": np.array([-0.5, 0.5, -2.0]),
    "w": np.array([1.0, 2.0, 3.0]),
}


def by_hand(level: str) -> np.ndarray:
    values = np.array(MAPS[level]).reshape(2, 2)
    i = np.digitize(COLS["pt"], PT_EDGES) - 1
    j = np.digitize(np.abs(COLS["eta"]), ETA_EDGES) - 1
    return values[i, j]


TEXT = "w / correction('electron_eff', pt, abs(eta), 'nominal')"


def test_evaluates_through_the_corrections(corr):
    expr = parse(TEXT)
    assert expr.kind == "number"
    assert expr.columns == {"w", "pt", "eta"}
    assert expr.corrections == {"electron_eff"}
    assert expr.correction_calls == (("electron_eff", ("nominal",)),)
    np.testing.assert_allclose(
        expr.evaluate(COLS, corr), COLS["w"] / by_hand("nominal"), rtol=1e-15
    )
    up = corr.varied("electron_eff", "nominal", "up")
    np.testing.assert_allclose(
        expr.evaluate(COLS, corrections=up), COLS["w"] / by_hand("up"), rtol=1e-15
    )


def test_correction_calls_in_order():
    expr = parse(
        "correction('a', x, 'nominal', 'tight') * correction('b', y) + correction('a', 'up')"
    )
    assert expr.correction_calls == (
        ("a", ("nominal", "tight")),
        ("b", ()),
        ("a", ("up",)),
    )
    assert expr.corrections == {"a", "b"}
    assert parse("x + 1").corrections == frozenset()
    assert parse("x + 1").correction_calls == ()


def test_constant_arguments_broadcast(corr):
    out = parse("correction('electron_eff', 20, 0.5, 'nominal')").evaluate(COLS, corr)
    np.testing.assert_array_equal(out, [0.9, 0.9, 0.9])
    out = parse("correction('electron_eff', pt, 0.5, 'nominal')").evaluate(COLS, corr)
    np.testing.assert_array_equal(out, [0.9, 0.95, 0.9])


def test_other_expressions_ignore_the_corrections(corr):
    np.testing.assert_array_equal(parse("w * 2").evaluate(COLS, corr), [2, 4, 6])
    np.testing.assert_array_equal(parse("w * 2").evaluate(COLS), [2, 4, 6])


def test_needs_corrections():
    with pytest.raises(
        ConfigError,
        match=r"calls correction 'electron_eff', which needs the correction files: "
        r"add a \[corrections\] section with files",
    ):
        parse(TEXT).evaluate(COLS)


def test_pickles_and_compares(corr):
    expr = parse(TEXT)
    back = pickle.loads(pickle.dumps(expr))
    assert back == expr
    assert back.corrections == expr.corrections
    assert back.correction_calls == expr.correction_calls
    np.testing.assert_array_equal(back.evaluate(COLS, corr), expr.evaluate(COLS, corr))
    assert parse("correction('a', x, 'up')") != parse("correction('a', x, 'down')")
    assert parse("correction('a',x,'up')") == parse("correction('a', x, 'up')")


def test_signature_in_functions():
    assert FUNCTIONS["correction"] == "correction('name', inputs...)"


# --------------------------------------------------------------------------------------------
# errors come from the corrections, naming the expression


def test_unknown_correction(corr):
    expr = parse("correction('electron_ef', pt, abs(eta), 'nominal')")
    with pytest.raises(ConfigError) as info:
        expr.evaluate(COLS, corr)
    msg = str(info.value)
    assert "unknown correction 'electron_ef'; did you mean 'electron_eff'?" in msg
    assert "define: electron_eff" in msg
    assert "in expression \"correction('electron_ef'" in msg


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (
            "correction('electron_eff', pt, abs(eta))",
            ConfigError,
            r"electron_eff\(pt: real, abseta: real, syst: string\) takes 3 inputs, got 2",
        ),
        (
            "correction('electron_eff', pt, abs(eta), 1)",
            ConfigError,
            (
                r"input 'syst' of correction electron_eff\(.*\) is a string, written "
                r"in quotes such as 'nominal', but got the number 1"
            ),
        ),
        (
            "correction('electron_eff', pt, 'abs(eta)', 'nominal')",
            ConfigError,
            r"input 'abseta' .* is a number, but got the string 'abs\(eta\)'",
        ),
        (
            "correction('electron_eff', pt, abs(eta), 'upp')",
            ConfigError,
            r"does not accept 'upp' for its string input 'syst'",
        ),
        (
            "correction('electron_eff', pt * 100, abs(eta), 'nominal')",
            DataError,
            r"input 'pt' has values outside the map",
        ),
        (
            "correction('electron_eff', pt, abs(eta), 'nominal') - 1",
            None,
            None,
        ),
    ],
)
def test_errors_from_the_corrections(corr, text, error, match):
    expr = parse(text)
    if error is None:
        expr.evaluate(COLS, corr)
        return
    with pytest.raises(error, match=match) as info:
        expr.evaluate(COLS, corr)
    assert f"(in expression {text!r})" in str(info.value)


# --------------------------------------------------------------------------------------------
# strings stay outside the language elsewhere


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("'abc'", "strings are not allowed in expressions"),
        ("w + 'a'", "strings are not allowed in expressions"),
        ("abs('x')", "strings are not allowed"),
        ("where(w > 1, 'a', 'b')", "strings are not allowed"),
        ("correction('a', 'b' + 'c')", "strings are not allowed"),
        ("correction('a', abs('b'))", "strings are not allowed"),
        ("correction('a', b'x')", "bytes are not allowed"),
        (
            "correction(x, 1)",
            r"first argument of correction\('name', inputs...\) must be",
        ),
        ("correction(b'x', 1)", "first argument of correction"),
        ("correction(1, x)", "first argument of correction"),
        ("correction('a' + 'b', x)", "first argument of correction"),
        ("correction(f'{x}', x)", "first argument of correction"),
        ("correction('', x)", "empty correction name"),
        ("correction()", r"takes at least 1 argument, got 0"),
        ("correction('a', x=1)", "keyword arguments are"),
        ("correction(*x)", "unpacking with"),
        ("correction('a', __import__('os'))", "unknown function '__import__'"),
        ("__import__('os')", "unknown function '__import__'"),
        ("correction('a', x.y)", "attribute access"),
        ("correction.x('a')", "attribute access"),
        ("correction('a')('b')", "calls of anything but a function name"),
    ],
)
def test_strings_rejected_outside_correction(text, match):
    with pytest.raises(ExpressionError, match=match):
        parse(text)


def test_a_correction_name_is_never_executed(corr):
    # names are looked up among the corrections, nothing else
    with pytest.raises(ConfigError, match="unknown correction '__import__'"):
        parse("correction('__import__', 'os')").evaluate(COLS, corr)
    with pytest.raises(ConfigError, match=r"unknown correction 'os\.system'"):
        parse("correction('os.system', w)").evaluate(COLS, corr)
