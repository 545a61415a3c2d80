"""A small, safe expression language over event columns, evaluated with numpy.

Configuration files select samples and define observables with expressions such as
``lead_flavour == 11``, ``30 < m_coll < 170 and n_jets >= 1`` or
``m_coll(l1_pt, l1_eta, l1_phi, l2_pt, l2_eta, l2_phi, met, met_phi)``. The text is parsed with
:func:`ast.parse` and walked against a whitelist; it is never given to :func:`eval`. The language
has

- column names (Python identifiers not starting with ``__``), looked up only in the mapping given
  to :meth:`Expression.evaluate`, never in any Python namespace;
- numbers (``1``, ``2.5``, ``1e3``) and ``True``/``False``;
- arithmetic ``+ - * / ** %`` and unary ``-``/``+`` (``**`` is always computed in float64, so
  ``9**9**9**9`` is ``inf``, not a hang);
- comparisons ``== != < <= > >=``, chained as in Python (``30 < m < 170``);
- ``and``/``or``/``not`` (elementwise) and ``& | ~`` on conditions (boolean arrays);
- the functions in :data:`FUNCTIONS`: ``abs, sqrt, log, exp``, elementwise ``min, max`` of two
  or more arguments, ``where(cond, x, y)``, and the kinematic helpers of :mod:`asymscan.data.hep`;
- ``correction('name', inputs...)``: the correctionlib correction ``name`` (an efficiency map or
  scale factor, :mod:`asymscan.data.corrections`) evaluated on its inputs, e.g.
  ``correction('electron_eff', lep1_pt, abs(lep1_eta), 'nominal')``. The name is a quoted
  string; the other arguments are expressions, or quoted strings for the correction's string
  inputs (the systematic variation). The corrections are given to :meth:`Expression.evaluate`.

Anything else (attribute access, indexing, strings other than the arguments of ``correction``,
lambdas, comprehensions, keyword arguments, calls to other names, ``:=``, ...) is rejected by
:func:`parse` with an :class:`ExpressionError` that quotes the offending part. Texts longer
than :data:`MAX_LENGTH` characters or nested deeper than :data:`MAX_DEPTH` levels are rejected
too. A flat chain of operators of one precedence level (``a + b - c + ...``,
``a * b / c * ...``, ``c1 & c2 & ...``, ``c1 | c2 | ...``, ``c1 and c2 and ...``) is one level,
however long, and is evaluated in a loop; parentheses alone do not count, and real nesting
(``-(-(-x))``, ``x + (y + (z + ...))``, ``f(g(h(x)))``, ``a ** b ** c``) counts one level per
operation.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import AsymscanError, ConfigError, DataError, ShapeError
from . import hep

if TYPE_CHECKING:
    from .corrections import Corrections

__all__ = (
    "FUNCTIONS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "UnknownColumnError",
    "parse",
)

MAX_LENGTH = 2000
"""Longest expression text accepted, in characters."""

MAX_DEPTH = 100
"""Deepest nesting of operations accepted. Parentheses alone do not count, and a flat chain of
operators of one precedence level (``x + x - x + ...``, ``c1 & c2 & ...``) counts as one
level however long it is (:data:`MAX_LENGTH` bounds it)."""

Kind = Literal["bool", "number", "unknown"]
_Env = Mapping[str, Any]
_Eval = Callable[[_Env], Any]


class ExpressionError(ConfigError):
    """An expression that cannot be parsed, leaves the safe language, or cannot be evaluated."""


class UnknownColumnError(ExpressionError, DataError):
    """An expression reads a column that the data do not have (both a config and a data error)."""


# where evaluate() puts the corrections for correction(...) calls; never a column name, since
# column names cannot start with '__'
_CORRECTIONS_KEY = "__corrections__"


# --------------------------------------------------------------------------------------------
# functions


def _minimum(*args: Any) -> Any:
    out = _numeric(args[0])
    for a in args[1:]:
        out = np.minimum(out, _numeric(a))
    return out


def _maximum(*args: Any) -> Any:
    out = _numeric(args[0])
    for a in args[1:]:
        out = np.maximum(out, _numeric(a))
    return out


def _where(cond: Any, x: Any, y: Any) -> Any:
    return np.where(cond, x, y)


def _unary(func: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: func(_numeric(x))


@dataclass(frozen=True)
class _Function:
    impl: Callable[..., Any]
    min_args: int
    max_args: int | None
    signature: str
    kind: Kind


_FUNCTIONS: dict[str, _Function] = {
    "abs": _Function(_unary(np.abs), 1, 1, "abs(x)", "number"),
    "sqrt": _Function(_unary(np.sqrt), 1, 1, "sqrt(x)", "number"),
    "log": _Function(_unary(np.log), 1, 1, "log(x)", "number"),
    "exp": _Function(_unary(np.exp), 1, 1, "exp(x)", "number"),
    "min": _Function(_minimum, 2, None, "min(x, y, ...)", "number"),
    "max": _Function(_maximum, 2, None, "max(x, y, ...)", "number"),
    "where": _Function(_where, 3, 3, "where(cond, x, y)", "unknown"),
    "m_coll": _Function(
        hep.m_coll,
        8,
        8,
        "m_coll(pt1, eta1, phi1, pt2, eta2, phi2, met, met_phi)",
        "number",
    ),
    "m_ll": _Function(
        hep.m_ll, 6, 6, "m_ll(pt1, eta1, phi1, pt2, eta2, phi2)", "number"
    ),
    "pt_ll": _Function(hep.pt_ll, 4, 4, "pt_ll(pt1, phi1, pt2, phi2)", "number"),
    "delta_phi": _Function(hep.delta_phi, 2, 2, "delta_phi(phi1, phi2)", "number"),
    "delta_r": _Function(
        hep.delta_r, 4, 4, "delta_r(eta1, phi1, eta2, phi2)", "number"
    ),
    "mt": _Function(hep.mt, 4, 4, "mt(pt, phi, met, met_phi)", "number"),
    # compiled by _Compiler._correction; the implementation is looked up in the environment
    "correction": _Function(
        lambda *args: None, 1, None, "correction('name', inputs...)", "number"
    ),
}

FUNCTIONS: Mapping[str, str] = MappingProxyType(
    {name: f.signature for name, f in _FUNCTIONS.items()}
)
"""The functions an expression may call, name -> signature."""

_ALLOWED = (
    "column names, numbers, + - * / ** %, comparisons, and/or/not, & | ~, and calls to "
    + ", ".join(_FUNCTIONS)
)

# --------------------------------------------------------------------------------------------
# operators


def _numeric(x: Any) -> Any:
    """Booleans take part in arithmetic as 0/1 integers (as in Python), not as logical or/and."""
    a = np.asarray(x)
    return a.astype(np.int64) if a.dtype == np.bool_ else x


def _arith(func: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda x, y: func(_numeric(x), _numeric(y))


def _logical(func: Callable[[Any, Any], Any], symbol: str) -> Callable[[Any, Any], Any]:
    def op(x: Any, y: Any) -> Any:
        _require_bool(x, symbol)
        _require_bool(y, symbol)
        return func(x, y)

    return op


def _require_bool(x: Any, symbol: str) -> None:
    dtype = np.asarray(x).dtype
    if dtype != np.bool_:
        msg = (
            f"{symbol} combines conditions (True/False values), but an operand has dtype {dtype}; "
            "note that & | bind tighter than comparisons: write (a > 1) & (b < 2), "
            "or use and/or"
        )
        raise ExpressionError(msg)


def _invert(x: Any) -> Any:
    _require_bool(x, "~")
    return np.logical_not(x)


_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _arith(np.add),
    ast.Sub: _arith(np.subtract),
    ast.Mult: _arith(np.multiply),
    ast.Div: _arith(np.true_divide),
    ast.Mod: _arith(np.mod),
    ast.Pow: _arith(np.float_power),  # float64 always: no unbounded Python integers
    ast.BitAnd: _logical(np.logical_and, "&"),
    ast.BitOr: _logical(np.logical_or, "|"),
}

# Left-associative operators of one precedence level: a chain ``a + b - c + d`` parses as a
# left-deep tree, compiled and evaluated as one flat sequence (one depth level, no recursion).
_CHAIN_GROUP: dict[type[ast.operator], str] = {
    ast.Add: "additive",
    ast.Sub: "additive",
    ast.Mult: "multiplicative",
    ast.Div: "multiplicative",
    ast.Mod: "multiplicative",
    ast.BitAnd: "&",
    ast.BitOr: "|",
}

_REJECTED_BINARY = {
    ast.BitXor: "^ (exclusive or; for a power write **)",
    ast.FloorDiv: "// (floor division; write /)",
    ast.LShift: "<< (shift)",
    ast.RShift: ">> (shift)",
    ast.MatMult: "@ (matrix product)",
}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}

_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access is",
    ast.Subscript: "indexing is",
    ast.Slice: "slices are",
    ast.Lambda: "lambda functions are",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "generator expressions are",
    ast.Starred: "unpacking with * is",
    ast.NamedExpr: "assignment expressions (:=) are",
    ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are",
    ast.List: "lists are",
    ast.Tuple: "tuples are",
    ast.Set: "sets are",
    ast.Dict: "dicts are",
    ast.IfExp: "conditional expressions (x if c else y; write where(c, x, y)) are",
    ast.Await: "await is",
    ast.Yield: "yield is",
    ast.YieldFrom: "yield is",
}


# --------------------------------------------------------------------------------------------
# the expression


class Expression:
    """A parsed, validated expression; build one with :func:`parse`.

    Attributes
    ----------
    text
        The expression as written.
    columns
        The names of the columns it reads.
    corrections
        The names of the corrections it calls with ``correction('name', ...)``.
    correction_calls
        One ``(name, strings)`` pair per call of ``correction``, in the order written: the
        correction's name and the string literals among its arguments (e.g.
        ``('electron_eff', ('nominal',))``).
    kind
        What it evaluates to as far as can be told without data: ``"bool"`` (a condition),
        ``"number"``, or ``"unknown"`` (e.g. a bare column name).

    Two expressions are equal when they parse to the same tree (``x+1 == x + 1``). Expressions
    pickle as their text, so they travel to worker processes.
    """

    __slots__ = (
        "_canonical",
        "_evaluator",
        "columns",
        "correction_calls",
        "corrections",
        "kind",
        "text",
    )

    text: str
    columns: frozenset[str]
    corrections: frozenset[str]
    correction_calls: tuple[tuple[str, tuple[str, ...]], ...]
    kind: Kind

    def __init__(
        self,
        text: str,
        columns: frozenset[str],
        kind: Kind,
        evaluator: _Eval,
        canonical: str,
        correction_calls: tuple[tuple[str, tuple[str, ...]], ...] = (),
    ) -> None:
        self.text = text
        self.columns = columns
        self.kind = kind
        self._evaluator = evaluator
        self._canonical = canonical
        self.correction_calls = correction_calls
        self.corrections = frozenset(name for name, _ in correction_calls)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self._canonical == other._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (parse, (self.text,))

    def check_columns(self, available: Iterable[str]) -> None:
        """Raise :class:`UnknownColumnError` if a column read is not among ``available``."""
        names = list(available)
        missing = sorted(self.columns - set(names))
        if missing:
            raise UnknownColumnError(
                _unknown_columns_message(missing, names, self.text)
            )

    def evaluate(
        self, columns: Mapping[str, Any], corrections: Corrections | None = None
    ) -> np.ndarray:
        """Evaluate on arrays of events.

        Parameters
        ----------
        columns
            Column name -> array-like of numbers or booleans; every column read must be present,
            and those read must have the same shape. Other entries are ignored.
        corrections
            The corrections that ``correction('name', ...)`` calls evaluate
            (:func:`asymscan.data.load_corrections`); needed only by expressions that call
            ``correction``, ignored by the others.

        Returns
        -------
        numpy.ndarray
            Booleans for conditions, numbers otherwise. Floating-point problems (``log`` of a
            negative number, division by zero) give NaN or inf silently, as numpy does under
            ``errstate(all="ignore")``. An expression that reads no column is broadcast to the
            common shape of the arrays in ``columns`` (a 0-d array if there are none).

        Raises
        ------
        UnknownColumnError
            A column read is missing; the message lists close matches and the available names.
        DataError, ShapeError
            A column is not numeric, or the columns read have different shapes.
        ExpressionError
            The operation is undefined for the data (e.g. ``&`` on non-boolean columns).
        ConfigError
            The expression calls ``correction`` but ``corrections`` is None, or a correction
            call is wrong (unknown name, wrong inputs; see
            :meth:`asymscan.data.Corrections.evaluate`). :class:`DataError` for corrections
            that cannot be evaluated on the data or give non-positive or non-finite values.
        """
        if self.corrections and corrections is None:
            names = ", ".join(map(repr, sorted(self.corrections)))
            msg = (
                f"expression {_quote(self.text)} calls correction {names}, which needs the "
                "correction files: add a [corrections] section with files = [...] to the "
                "configuration (or pass corrections= to evaluate)"
            )
            raise ConfigError(msg)
        self.check_columns(columns.keys())
        arrays: dict[str, Any] = {
            name: _column(columns[name], name) for name in sorted(self.columns)
        }
        _check_same_shape(arrays, self.text)
        if self.corrections:
            arrays[_CORRECTIONS_KEY] = corrections
        with np.errstate(all="ignore"):
            try:
                out = np.asarray(self._evaluator(arrays))
            except AsymscanError:
                raise
            except (TypeError, ValueError, ArithmeticError) as err:
                msg = f"cannot evaluate {_quote(self.text)}: {err}"
                raise ExpressionError(msg) from err
        if not self.columns and out.ndim == 0 and len(columns) > 0:
            shapes = {name: np.shape(columns[name]) for name in columns}
            try:
                shape = np.broadcast_shapes(*shapes.values())
            except ValueError as err:
                described = ", ".join(f"{k} {s}" for k, s in shapes.items())
                msg = f"cannot broadcast {_quote(self.text)}: the columns have different shapes ({described})"
                raise ShapeError(msg) from err
            out = np.full(shape, out[()])
        return out


def parse(text: str, *, columns: Iterable[str] | None = None) -> Expression:
    """Parse and validate an expression of the safe language.

    Parameters
    ----------
    text
        The expression, at most :data:`MAX_LENGTH` characters.
    columns
        If given, the available column names: a name outside them is an error now rather than
        at evaluation.

    Returns
    -------
    Expression

    Raises
    ------
    ExpressionError
        Syntax errors, constructs outside the language (the message quotes them), unknown
        functions or wrong numbers of arguments, too long or too deeply nested texts.
        :class:`UnknownColumnError` for names outside ``columns``.

    Examples
    --------
    >>> import numpy as np
    >>> e = parse("30 < m < 170 and n_jets >= 1")
    >>> sorted(e.columns), e.kind
    (['m', 'n_jets'], 'bool')
    >>> e.evaluate({"m": np.array([20.0, 90.0, 90.0]), "n_jets": np.array([1, 0, 2])})
    array([False, False,  True])
    """
    if not isinstance(text, str):
        msg = f"an expression must be a string, got {type(text).__name__} {text!r:.80}"
        raise ExpressionError(msg)
    if len(text) > MAX_LENGTH:
        msg = f"expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed"
        raise ExpressionError(msg)
    if not text.strip():
        msg = "empty expression; write a column name, a number or a formula"
        raise ExpressionError(msg)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        msg = f"invalid syntax in expression {_quote(text)}: {err.msg}"
        if err.offset and err.lineno == 1:
            msg += f" at character {err.offset}"
        elif err.offset == 0:
            msg += " (incomplete expression?)"
        raise ExpressionError(msg) from None
    except (ValueError, RecursionError, MemoryError) as err:
        msg = f"cannot parse expression {_quote(text)}: {type(err).__name__}: {err}"
        raise ExpressionError(msg) from None
    compiler = _Compiler(text.strip())
    evaluator, kind = compiler.compile(tree.body, 1)
    canonical = _dump(tree.body)
    expr = Expression(
        text.strip(),
        frozenset(compiler.columns),
        kind,
        evaluator,
        canonical,
        tuple(compiler.correction_calls),
    )
    if columns is not None:
        expr.check_columns(columns)
    return expr


# --------------------------------------------------------------------------------------------
# the whitelist walker


class _Compiler:
    """Turns a validated AST into nested closures; anything not whitelisted is an error."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.columns: set[str] = set()
        self.correction_calls: list[tuple[str, tuple[str, ...]]] = []

    def fail(self, node: ast.AST, what: str, advice: str = "") -> ExpressionError:
        segment = ast.get_source_segment(self.text, node)
        if segment and segment != self.text:
            where = f"{_quote(segment, 60)} in {_quote(self.text)}"
        else:
            where = _quote(self.text)
        return ExpressionError(f"{what}: {where}{advice}")

    def reject(self, node: ast.AST, what: str) -> ExpressionError:
        return self.fail(
            node,
            f"{what} not allowed in expressions",
            f"; expressions may use {_ALLOWED}",
        )

    def compile(self, node: ast.AST, depth: int) -> tuple[_Eval, Kind]:
        if depth > MAX_DEPTH:
            msg = f"expression nested more than {MAX_DEPTH} levels deep: {_quote(self.text)}"
            raise ExpressionError(msg)
        handlers: dict[type[ast.AST], Callable[[Any, int], tuple[_Eval, Kind]]] = {
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.UnaryOp: self._unary_op,
            ast.BinOp: self._bin_op,
            ast.BoolOp: self._bool_op,
            ast.Compare: self._compare,
            ast.Call: self._call,
        }
        handler = handlers.get(type(node))
        if handler is None:
            desc = _DESCRIPTIONS.get(type(node), f"{type(node).__name__} nodes are")
            raise self.reject(node, desc)
        return handler(node, depth)

    # leaves ----------------------------------------------------------------------------------

    def _constant(self, node: ast.Constant, depth: int) -> tuple[_Eval, Kind]:
        value = node.value
        kind: Kind
        if isinstance(value, bool):
            const: Any = np.bool_(value)
            kind = "bool"
        elif isinstance(value, int):
            if abs(value) < 2**63:
                const = np.int64(value)
            else:
                try:
                    const = np.float64(float(value))
                except OverflowError:
                    raise self.fail(node, "number too large") from None
            kind = "number"
        elif isinstance(value, float):
            const = np.float64(value)
            kind = "number"
        else:
            desc = {
                str: "strings are",
                bytes: "bytes are",
                complex: "complex numbers are",
            }.get(type(value), f"{value!r} is")
            raise self.reject(node, desc)
        return (lambda env: const), kind

    def _name(self, node: ast.Name, depth: int) -> tuple[_Eval, Kind]:
        name = node.id
        if name.startswith("__"):
            raise self.reject(node, "column names starting with '__' are")
        self.columns.add(name)
        return (lambda env: env[name]), "unknown"

    # operators -------------------------------------------------------------------------------

    def _unary_op(self, node: ast.UnaryOp, depth: int) -> tuple[_Eval, Kind]:
        operand, kind = self.compile(node.operand, depth + 1)
        if isinstance(node.op, ast.Not):
            return (lambda env: np.logical_not(operand(env))), "bool"
        if isinstance(node.op, ast.Invert):
            if kind == "number":
                raise self.fail(
                    node,
                    "~ negates a condition (True/False), not a number",
                    "; write a comparison, or use not",
                )
            return (lambda env: _invert(operand(env))), "bool"
        if isinstance(node.op, ast.USub):
            return (lambda env: np.negative(_numeric(operand(env)))), "number"
        return (lambda env: np.positive(_numeric(operand(env)))), "number"

    def _bin_op(self, node: ast.BinOp, depth: int) -> tuple[_Eval, Kind]:
        """A chain ``a op b op c ...`` of one precedence level: its operands one level down,
        evaluated left to right in a loop (``a ** b`` and rejected operators: a chain of one)."""
        first, links = _chain(node)
        # the outermost operator first, as a walk down the tree would report it
        for link in reversed(links):
            if type(link.op) in _REJECTED_BINARY:
                raise self.reject(link, _REJECTED_BINARY[type(link.op)] + " is")
        head, kind = self.compile(first, depth + 1)
        steps: list[tuple[Callable[[Any, Any], Any], _Eval]] = []
        for link in links:
            op_type = type(link.op)
            right, right_kind = self.compile(link.right, depth + 1)
            if op_type in (ast.BitAnd, ast.BitOr):
                if "number" in (kind, right_kind):
                    symbol = "&" if op_type is ast.BitAnd else "|"
                    raise self.fail(
                        link,
                        f"{symbol} combines conditions, but an operand is a number",
                        "; & | bind tighter than comparisons, so write (a > 1) & (b < 2), "
                        "or use and/or",
                    )
                kind = "bool"
            else:
                kind = "number"
            steps.append((_BINARY[op_type], right))

        def chain(env: _Env) -> Any:
            out = head(env)
            for func, right in steps:
                out = func(out, right(env))
            return out

        return chain, kind

    def _bool_op(self, node: ast.BoolOp, depth: int) -> tuple[_Eval, Kind]:
        parts = [self.compile(v, depth + 1)[0] for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

        def boolop(env: _Env) -> Any:
            out = np.asarray(parts[0](env), dtype=bool)
            for part in parts[1:]:
                out = combine(out, part(env))
            return out

        return boolop, "bool"

    def _compare(self, node: ast.Compare, depth: int) -> tuple[_Eval, Kind]:
        for op in node.ops:
            if type(op) not in _COMPARE:
                word = {
                    ast.In: "in",
                    ast.NotIn: "not in",
                    ast.Is: "is",
                    ast.IsNot: "is not",
                }[type(op)]
                raise self.reject(node, f"the operator '{word}' is")
        operands = [
            self.compile(v, depth + 1)[0] for v in [node.left, *node.comparators]
        ]
        funcs = [_COMPARE[type(op)] for op in node.ops]

        def compare(env: _Env) -> Any:
            values = [f(env) for f in operands]  # each operand evaluated once
            out = funcs[0](values[0], values[1])
            for i, func in enumerate(funcs[1:], start=1):
                out = np.logical_and(out, func(values[i], values[i + 1]))
            return out

        return compare, "bool"

    def _call(self, node: ast.Call, depth: int) -> tuple[_Eval, Kind]:
        if not isinstance(node.func, ast.Name):
            if isinstance(node.func, ast.Attribute):
                raise self.reject(node.func, "attribute access (method calls) is")
            raise self.reject(
                node, "calls of anything but a function name (e.g. f(x)(y)) are"
            )
        name = node.func.id
        function = _FUNCTIONS.get(name)
        if function is None:
            close = difflib.get_close_matches(name, list(_FUNCTIONS), n=3)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            raise self.fail(
                node,
                f"unknown function {name!r}",
                f"{hint}; the functions are {', '.join(_FUNCTIONS)}",
            )
        if node.keywords:
            raise self.reject(node, "keyword arguments are")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.reject(arg, "unpacking with * is")
        n = len(node.args)
        if n < function.min_args or (
            function.max_args is not None and n > function.max_args
        ):
            plural = "s" if function.min_args != 1 else ""
            if function.max_args is None:
                expected = f"at least {function.min_args} argument{plural}"
            else:
                expected = f"{function.min_args} argument{plural}"
            raise self.fail(node, f"{function.signature} takes {expected}, got {n}")
        if name == "correction":
            return self._correction(node, depth)
        compiled = [self.compile(a, depth + 1) for a in node.args]
        args = [c[0] for c in compiled]
        impl = function.impl
        kind = function.kind
        if name == "where":
            branch_kinds = {compiled[1][1], compiled[2][1]}
            kind = branch_kinds.pop() if len(branch_kinds) == 1 else "unknown"
        return (lambda env: impl(*(a(env) for a in args))), kind

    def _correction(self, node: ast.Call, depth: int) -> tuple[_Eval, Kind]:
        """``correction('name', inputs...)``: string literals are allowed as its arguments only."""
        first = node.args[0]
        if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            raise self.fail(
                first,
                "the first argument of correction('name', inputs...) must be the "
                "correction's name in quotes",
                "; e.g. correction('electron_eff', lep1_pt, abs(lep1_eta), 'nominal')",
            )
        name = first.value
        if not name.strip():
            raise self.fail(first, "empty correction name")
        args: list[_Eval] = []
        strings: list[str] = []
        for arg in node.args[1:]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal = arg.value
                strings.append(literal)
                args.append(lambda env, literal=literal: literal)
            else:
                args.append(self.compile(arg, depth + 1)[0])
        self.correction_calls.append((name, tuple(strings)))
        text = self.text

        def correction(env: _Env) -> Any:
            corrections = env[_CORRECTIONS_KEY]
            values = [a(env) for a in args]
            try:
                return corrections.evaluate(name, *values)
            except AsymscanError as err:
                msg = f"{err} (in expression {_quote(text)})"
                raise type(err)(msg) from err

        return correction, "number"


# --------------------------------------------------------------------------------------------
# helpers


def _chain(node: ast.BinOp) -> tuple[ast.expr, list[ast.BinOp]]:
    """``a op1 b op2 c`` (a left-deep tree of one precedence level) as ``a`` and the links
    ``[(a op1 b), (... op2 c)]``, innermost first; other operators give a chain of one."""
    group = _CHAIN_GROUP.get(type(node.op))
    links = [node]
    left = node.left
    while (
        group is not None
        and isinstance(left, ast.BinOp)
        and _CHAIN_GROUP.get(type(left.op)) == group
    ):
        links.append(left)
        left = left.left
    links.reverse()
    return left, links


def _dump(node: Any) -> str:
    """A canonical text of a validated tree (as :func:`ast.dump`, without positions), with
    chains flattened so that its recursion is bounded by the nesting depth, not the length."""
    if isinstance(node, ast.BinOp):
        first, links = _chain(node)
        parts = [_dump(first)]
        parts += [f"{type(link.op).__name__},{_dump(link.right)}" for link in links]
        return f"Chain({','.join(parts)})"
    if isinstance(node, ast.AST):
        fields = ",".join(f"{k}={_dump(v)}" for k, v in ast.iter_fields(node))
        return f"{type(node).__name__}({fields})"
    if isinstance(node, list):
        return f"[{','.join(_dump(v) for v in node)}]"
    return repr(node)


def _quote(text: str, limit: int = 200) -> str:
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def _column(raw: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(raw)
    except (TypeError, ValueError) as err:
        msg = f"column {name!r} cannot be read as a numpy array ({err}); expressions need flat numeric columns"
        raise DataError(msg) from err
    if arr.dtype.kind not in "biuf":
        msg = (
            f"column {name!r} has dtype {arr.dtype}; expressions need numeric or boolean "
            "columns (flatten jagged arrays first)"
        )
        raise DataError(msg)
    return arr


def _check_same_shape(arrays: Mapping[str, np.ndarray], text: str) -> None:
    shapes = {name: a.shape for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        described = ", ".join(f"{k} {s}" for k, s in shapes.items())
        msg = f"the columns read by {_quote(text)} have different shapes: {described}"
        raise ShapeError(msg)


def _unknown_columns_message(
    missing: list[str], available: list[str], text: str
) -> str:
    parts = []
    for name in missing:
        part = repr(name)
        close = difflib.get_close_matches(name, available, n=3)
        if close:
            part += f" (did you mean {', '.join(map(repr, close))}?)"
        elif name in _FUNCTIONS:
            part += f" (a function: call it as {_FUNCTIONS[name].signature})"
        parts.append(part)
    shown = sorted(available)
    listing = ", ".join(shown[:50]) + (
        f", ... ({len(shown)} in all)" if len(shown) > 50 else ""
    )
    noun = "column" if len(missing) == 1 else "columns"
    return (
        f"unknown {noun} {'; '.join(parts)} in expression {_quote(text)}; "
        f"available columns: {listing or '(none)'}"
    )
