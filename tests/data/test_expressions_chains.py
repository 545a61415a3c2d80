"""Long flat chains of one operator are not nesting; real nesting is still bounded."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from asymscan.data import parse
from asymscan.data.expressions import MAX_DEPTH, MAX_LENGTH, ExpressionError

X = np.array([0.5, 1.0, 2.0])
OK = np.array([True, False, True])


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("+", 102 * X),
        ("-", X - 101 * X),
        ("*", X**102),
        ("/", X / X**101),
    ],
)
def test_a_flat_102_term_chain_parses_and_evaluates(symbol, expected):
    expr = parse(f" {symbol} ".join(["x"] * 102))
    np.testing.assert_allclose(expr.evaluate({"x": X}), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("joiner", "combine"),
    [(" & ", np.logical_and), (" | ", np.logical_or), (" and ", np.logical_and)],
)
def test_a_flat_chain_of_conditions(joiner, combine):
    terms = [f"(x > {k / 100})" for k in range(102)]
    expr = parse(joiner.join(terms))
    assert expr.kind == "bool"
    expected = combine.reduce([k / 100 < X for k in range(102)])
    np.testing.assert_array_equal(expr.evaluate({"x": X}), expected)


def test_the_longest_chain_evaluates_without_recursion():
    text = "+".join(["x"] * ((MAX_LENGTH + 1) // 2))  # 1000 terms, 1999 characters
    assert len(text) <= MAX_LENGTH
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(400)  # well below one frame per term
    try:
        expr = parse(text)
        out = expr.evaluate({"x": X})
        assert parse(text[:-2]) == parse("(x+x)" + text[3:-2])  # the same tree
        assert parse(text[4:]) != parse("x+(" + text[6:] + ")")
    finally:
        sys.setrecursionlimit(old)
    np.testing.assert_allclose(out, 1000 * X)


def test_chains_with_nesting_inside_keep_the_order_of_operations():
    expr = parse("x - 2 * x + x / 4 - x % 0.75 * 3 + 1")
    np.testing.assert_allclose(
        expr.evaluate({"x": X}), X - 2 * X + X / 4 - X % 0.75 * 3 + 1
    )
    assert parse("a - b + c") != parse("a - (b + c)")
    assert parse("(a - b) + c") == parse("a - b + c")


def test_errors_inside_a_chain_name_the_operand():
    with pytest.raises(ExpressionError, match=r"'x \^ y'"):
        parse(" + ".join(["x"] * 50) + " + (x ^ y)")
    with pytest.raises(ExpressionError, match="& combines conditions, but an operand"):
        parse(" & ".join(["ok"] * 50) + " & 3")
    with pytest.raises(ExpressionError, match="& combines conditions"):
        parse(" & ".join(["ok"] * 50) + " & x").evaluate({"ok": OK, "x": X})


def test_real_nesting_is_still_refused():
    message = f"expression nested more than {MAX_DEPTH} levels deep"
    parse("(" * 150 + "x" + ")" * 150)  # parentheses alone add no depth
    with pytest.raises(ExpressionError, match=message):
        parse("-(" * 101 + "x" + ")" * 101)
    with pytest.raises(ExpressionError, match=message):
        parse("x + (" * 101 + "x" + ")" * 101)
    with pytest.raises(ExpressionError, match=message):
        parse("x ** " * 101 + "x")  # ** groups to the right: real nesting
    parse("-(" * (MAX_DEPTH - 1) + "x" + ")" * (MAX_DEPTH - 1))
