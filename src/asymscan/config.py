"""The TOML configuration of a data-directed scan, validated by pydantic models.

A configuration names the data, the symmetry (two expressions selecting samples A and B), the
selections (families of exclusive categories), the observables and the scan settings, and
optionally the efficiency maps (correctionlib files) that weight the two samples and their
systematic variations::

    [data]
    paths = ["events.parquet"]   # one or more files or glob patterns ("data/*.parquet",
                                 # "data/**/*.root"); ROOT files name their tree below
    tree = "events"              # ROOT only
    weight = ""                  # optional: a column or expression giving per-event weights

    [corrections]                # optional: correctionlib JSON files (schema v2, maybe .json.gz)
    files = ["efficiencies.json"]

    [symmetry]
    name = "e-mu vs mu-e"
    a = "lead_flavour == 11"      # expression selecting sample A
    b = "lead_flavour == 13"      # expression selecting sample B
    # optional, both or neither: the weight of an event in A, and the weight the same event
    # would carry in B (labels swapped); correction('name', inputs...) reads [corrections]
    weight_a = "1 / (correction('electron_eff', lep1_pt, abs(lep1_eta), 'nominal') * correction('muon_eff', lep2_pt, abs(lep2_eta), 'nominal'))"
    weight_b = "1 / (correction('electron_eff', lep2_pt, abs(lep2_eta), 'nominal') * correction('muon_eff', lep1_pt, abs(lep1_eta), 'nominal'))"

    [[systematics]]              # optional, repeatable: re-evaluate the weights with the
    name = "electron efficiency" # correction's string input 'nominal' replaced by 'up', then
    correction = "electron_eff"  # by 'down'
    up = "up"
    down = "down"
    nominal = "nominal"          # the default

    [[selections]]               # one family of exclusive categories (optional, repeatable)
    name = "jets"
    categories = { "0j" = "n_jets == 0", "1j" = "n_jets == 1", "2j+" = "n_jets >= 2" }

    [[observables]]              # one or more
    name = "m_coll"
    expr = "m_coll"              # a column or an expression (default: the name)
    bins = 28
    range = [30.0, 170.0]

    [scan]                       # optional; these are the defaults but for dims
    dims = [1, 2]                # 1-D windows for each observable, 2-D for each pair, ...
    min_entries = 25             # windows with fewer A+B entries are skipped (and counted)
    toys = 1000                  # symmetric-hypothesis toys for the global significance
    seed = 0
    top = 20                     # regions kept in the report
    normalize = "none"           # or "total", "selection": compare shapes, not yields

    [followup]                   # optional: the neural follow-up of the top regions (needs torch)
    nn = false                   # true: run the symmetrized test on the top regions' events
    regions = 3                  # distinct (selection, observables) of the best regions tested
    permutations = 100           # relabellings calibrating each test
    max_events = 50000           # larger selections are tested on a random subset of this size
    seed = 0

Every table forbids unknown keys, so a misspelled key is an error rather than a silent default.
Data paths may be glob patterns (``*``, ``?``, ``[...]``, and ``**`` for any depth of
folders), expanded in sorted order when the files are read (:func:`asymscan.data.io.expand_paths`);
the configuration keeps the patterns as written. A file listed twice (the same path, another
spelling of it, a symbolic link to it, or a pattern that also matches it) is an error, since its
events would be counted twice; it is found when the configuration is validated if the files
exist then, and in any case before they are read. The scan fills at most :data:`MAX_BINS` bins
over all its histograms (selections times observable sets, each the product of its
observables' bins), so that a mistyped ``bins`` is an error rather than an exhausted memory.
Expressions (:mod:`asymscan.data.expressions`) are parsed when the file is loaded; selection
expressions must be conditions, weights must not be. The correction files are read when the
configuration is validated, so an unknown correction, a systematic that varies nothing, or a
missing file is reported then. :func:`load_config` turns every problem into one
:class:`~asymscan.errors.ConfigError` that names the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import itertools
import math
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    field_serializer,
    field_validator,
    model_validator,
)

from .data.corrections import Corrections, load_corrections
from .data.expressions import Expression, parse
from .data.io import InputFile, check_distinct, expand_paths
from .errors import ConfigError

__all__ = (
    "MAX_BINS",
    "Config",
    "CorrectionsConfig",
    "DataConfig",
    "FollowupConfig",
    "Observable",
    "ScanConfig",
    "SelectionFamily",
    "SymmetryConfig",
    "SystematicConfig",
    "config_from_dict",
    "load_config",
)

SUPPORTED_DIMS = (1, 2, 3)
#: Toys per shard, the unit of toy seeds: fixed, so results do not depend on how shards are
#: spread over workers, and runs split at shard boundaries merge into one.
TOY_SHARD_SIZE = 50

MAX_BINS = 50_000_000
"""Most bins a scan may fill over all its histograms: (inclusive + combinations of
categories) x (observable sets of ``scan.dims``), each the product of its observables' bins.
Every bin is held for A and B, for every toy and in the sparse cell matrix, so far fewer are
practical; this limit only turns a mistyped ``bins`` into an error instead of a MemoryError."""


def _to_expression(value: Any) -> Expression:
    if isinstance(value, Expression):
        return value
    if not isinstance(value, str):
        msg = f"must be an expression given as a string, got {type(value).__name__} {value!r:.80}"
        # pydantic reports ValueError (not TypeError) as a validation error of the field
        raise ValueError(msg)  # noqa: TRY004
    return parse(value)


def _to_condition(value: Any) -> Expression:
    expr = _to_expression(value)
    if expr.kind == "number":
        msg = (
            f"{expr.text!r} is a number, not a condition; write a comparison such as "
            "'lead_flavour == 11'"
        )
        raise ValueError(msg)
    return expr


def _to_optional_expression(value: Any) -> Expression | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _to_expression(value)


def _to_optional_weight(value: Any) -> Expression | None:
    expr = _to_optional_expression(value)
    if expr is not None and expr.kind == "bool":
        msg = (
            f"{expr.text!r} is a condition, not a weight; a weight is a number per event "
            "(write where(cond, w1, w2) to weight some events differently)"
        )
        raise ValueError(msg)
    return expr


def _expression_text(expr: Expression | None) -> str | None:
    return None if expr is None else expr.text


ExpressionField = Annotated[
    Expression,
    PlainValidator(_to_expression),
    PlainSerializer(_expression_text, return_type=str),
]
"""An expression of any kind, given (and dumped) as its text."""

ConditionField = Annotated[
    Expression,
    PlainValidator(_to_condition),
    PlainSerializer(_expression_text, return_type=str),
]
"""An expression selecting events: a condition, not a number."""

OptionalExpressionField = Annotated[
    Expression | None,
    PlainValidator(_to_optional_expression),
    PlainSerializer(_expression_text, return_type=str | None),
]
"""An expression, or None (also written as an empty string)."""

OptionalWeightField = Annotated[
    Expression | None,
    PlainValidator(_to_optional_weight),
    PlainSerializer(_expression_text, return_type=str | None),
]
"""A weight expression (a number, not a condition), or None (also written as ``""``)."""

Name = Annotated[str, Field(min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Model):
    """``[data]``: where the events are.

    Attributes
    ----------
    paths
        One or more files (Parquet, ROOT, CSV), or glob patterns of them: ``*``, ``?`` and
        ``[...]`` as in the shell, ``**`` for any number of folders (``data/**/*.root``). The
        patterns are kept as written and expanded, in sorted order, when the files are read
        (:func:`asymscan.data.io.expand_paths`); a pattern matching no file is an error then.
        Relative paths are resolved against the folder of the configuration file by
        :func:`load_config` (against ``base_dir`` in :func:`config_from_dict`, left as they
        are without one). Each file may be listed once: two entries naming the same file
        (``small.parquet`` and ``./small.parquet``, its absolute path, a symbolic link, or a
        pattern matching it) would count its events twice and are an error, found at
        validation for files that exist then and in any case when the files are read.
    tree
        The TTree of ROOT files.
    weight
        Per-event weights: a column or an expression; None (or ``""``) for unweighted events.
    """

    paths: list[Path] = Field(min_length=1)
    tree: Name | None = None
    weight: OptionalExpressionField = None

    @field_validator("paths", mode="before")
    @classmethod
    def _no_empty_path(cls, value: Any, info: ValidationInfo) -> Any:
        return _no_empty_paths(value, info)

    @field_validator("paths")
    @classmethod
    def _resolve(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        return _resolve_paths(value, info)

    @field_validator("paths", mode="wrap")
    @classmethod
    def _distinct(
        cls, value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo
    ) -> list[Path]:
        paths: list[Path] = handler(value)
        given = value if isinstance(value, list) else paths
        files = [
            InputFile(i, os.fspath(entry), found.path)
            for i, (entry, path) in enumerate(zip(given, paths, strict=True))
            for found in expand_paths([path], missing_ok=True)
        ]
        try:
            check_distinct(files)
        except ConfigError as err:
            raise ValueError(str(err)) from None
        return paths

    @field_serializer("paths")
    def _dump_paths(self, value: list[Path]) -> list[str]:
        return [str(p) for p in value]


def _no_empty_paths(value: Any, info: ValidationInfo) -> Any:
    if isinstance(value, list) and any(
        isinstance(p, str) and not p.strip() for p in value
    ):
        msg = f"{info.field_name} must not contain empty strings"
        raise ValueError(msg)
    return value


def _resolve_paths(value: list[Path], info: ValidationInfo) -> list[Path]:
    """Expand ``~`` and resolve relative paths against the context's ``base_dir``."""
    base = (info.context or {}).get("base_dir")
    out = []
    for p in value:
        p = p.expanduser()
        if base is not None and not p.is_absolute():
            p = Path(base) / p
        out.append(p)
    return out


class CorrectionsConfig(_Model):
    """``[corrections]``: correctionlib files with the efficiency maps and scale factors.

    Expressions call the corrections as ``correction('name', inputs...)``
    (:mod:`asymscan.data.expressions`); :meth:`Config.load_corrections` reads them.

    Attributes
    ----------
    files
        One or more correctionlib JSON files (schema v2, ``.json`` or ``.json.gz``). Relative
        paths are resolved as ``data.paths`` are. A correction name must not be defined in two
        files.
    """

    files: list[Path] = Field(min_length=1)

    @field_validator("files", mode="before")
    @classmethod
    def _no_empty_path(cls, value: Any, info: ValidationInfo) -> Any:
        return _no_empty_paths(value, info)

    @field_validator("files")
    @classmethod
    def _resolve(cls, value: list[Path], info: ValidationInfo) -> list[Path]:
        return _resolve_paths(value, info)

    @field_serializer("files")
    def _dump_files(self, value: list[Path]) -> list[str]:
        return [str(p) for p in value]


class SymmetryConfig(_Model):
    """``[symmetry]``: the two samples a symmetry says should match.

    The symmetry exchanges two labels (electron and muon, say): an event of A becomes an event
    of B when its labels are swapped. Observables must therefore be symmetric under the
    exchange, defined on label-blind objects (``lep1_pt``, the leading lepton), not on the
    labels themselves ("electron pT"), or A and B differ by construction.

    Attributes
    ----------
    name
        A label, e.g. ``"e-mu vs mu-e"``.
    a, b
        Conditions selecting the events of sample A (the reference) and of sample B (tested).
    weight_a, weight_b
        Optional, both or neither: numbers per event correcting for efficiencies that differ
        between the labels. ``weight_a`` is the weight of an event if it is in A, and
        ``weight_b`` the weight the same event would carry if it were in B (its labels
        swapped), e.g. ``1 / (eff_e(lep1) * eff_mu(lep2))`` and ``1 / (eff_e(lep2) *
        eff_mu(lep1))``; each sample's events are weighted by their own expression. They
        typically call ``correction('name', inputs...)`` (a ``[corrections]`` section gives the
        files), and they multiply ``data.weight`` when that is set.
    """

    name: Name
    a: ConditionField
    b: ConditionField
    weight_a: OptionalWeightField = None
    weight_b: OptionalWeightField = None

    @model_validator(mode="after")
    def _distinct(self) -> SymmetryConfig:
        if self.a == self.b:
            msg = f"a and b are the same expression ({self.a.text!r}): they select the same events"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _both_weights(self) -> SymmetryConfig:
        given = {"weight_a": self.weight_a, "weight_b": self.weight_b}
        missing = [k for k, v in given.items() if v is None]
        if len(missing) == 1:
            (other,) = (k for k in given if k not in missing)
            msg = (
                f"{other} without {missing[0]}: give both, {missing[0]} being the weight the "
                f"same event would carry in sample {missing[0][-1].upper()} (labels swapped), "
                f"or neither"
            )
            raise ValueError(msg)
        return self


class SelectionFamily(_Model):
    """``[[selections]]``: one family of exclusive categories (final states).

    Attributes
    ----------
    name
        A label, e.g. ``"jets"``.
    categories
        Category name -> condition. The scan runs on every combination of categories of all
        families, and on the inclusive sample.
    """

    name: Name
    categories: dict[Name, ConditionField] = Field(min_length=1)


class Observable(_Model):
    """``[[observables]]``: a histogrammed quantity.

    Attributes
    ----------
    name
        A unique label.
    expr
        A column or an expression; defaults to ``name``.
    bins
        Number of regular bins, >= 1 and at most :data:`MAX_BINS` (which bounds the whole
        scan, all histograms together).
    range
        ``(lo, hi)`` with ``lo < hi``, both finite.
    """

    name: Name
    expr: ExpressionField
    bins: StrictInt = Field(ge=1)
    range: tuple[FiniteFloat, FiniteFloat]

    @model_validator(mode="before")
    @classmethod
    def _default_expr(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "expr" not in data and "name" in data:
            return {**data, "expr": data["name"]}
        return data

    @field_validator("bins")
    @classmethod
    def _not_too_many(cls, value: int) -> int:
        if value > MAX_BINS:
            msg = (
                f"bins = {value:,} is more than a whole scan may hold: at most "
                f"{MAX_BINS:,} bins over all histograms (asymscan.config.MAX_BINS)"
            )
            raise ValueError(msg)
        return value

    @field_validator("range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        lo, hi = value
        if not lo < hi:
            msg = f"range must be [lo, hi] with lo < hi, got [{lo:g}, {hi:g}]"
            raise ValueError(msg)
        return value


class ScanConfig(_Model):
    """``[scan]``: which windows to scan and how to calibrate.

    Attributes
    ----------
    dims
        Window dimensionalities: 1 scans each observable, 2 each pair, 3 each triple.
    min_entries
        Windows with fewer A+B entries are skipped (and counted), >= 0.
    toys
        Symmetric-hypothesis toys for the global significance, >= 0 (0: asymptotic only).
    seed
        Seed of the toys, >= 0.
    first_toy
        Where the toys start in the seed's stream of toys (a multiple of the toy shard size,
        :data:`TOY_SHARD_SIZE`): runs with the same seed and disjoint toy ranges, or with
        different seeds, merge into one result (``asymscan merge``).
    tail_samples
        Importance samples of the extrapolated global p-value (the Gaussian model of the
        scan, :mod:`asymscan.calibrate.tail`), which resolves p far below the toys' 1/(n + 1);
        0 computes none. Each costs about one toy; 200 give a relative error of ~7% on the
        demo.
    top
        Number of regions kept in the report, >= 1.
    normalize
        Compare yields (``"none"``, the default) or shapes: ``"total"`` scales A to the total
        of B over all events, ``"selection"`` scales A to B's total in each selection, so that
        only differences in the shapes of the distributions remain.
    """

    dims: list[StrictInt] = Field(default=[1], min_length=1)
    min_entries: StrictInt = Field(default=25, ge=0)
    toys: StrictInt = Field(default=1000, ge=0)
    seed: StrictInt = Field(default=0, ge=0)
    first_toy: StrictInt = Field(default=0, ge=0)
    tail_samples: StrictInt = Field(default=200, ge=0)
    top: StrictInt = Field(default=20, ge=1)
    normalize: Literal["none", "total", "selection"] = "none"

    @field_validator("first_toy")
    @classmethod
    def _on_a_shard(cls, value: int) -> int:
        if value % TOY_SHARD_SIZE:
            msg = (
                f"first_toy must be a multiple of the toy shard size {TOY_SHARD_SIZE} "
                f"(got {value})"
            )
            raise ValueError(msg)
        return value

    @field_validator("dims")
    @classmethod
    def _supported(cls, value: list[int]) -> list[int]:
        bad = [d for d in value if d not in SUPPORTED_DIMS]
        if bad:
            msg = (
                f"dims {bad} not supported; each must be one of {list(SUPPORTED_DIMS)}"
            )
            raise ValueError(msg)
        if len(set(value)) != len(value):
            msg = f"dims {value} has repeated entries"
            raise ValueError(msg)
        return value


class SystematicConfig(_Model):
    """``[[systematics]]``: a systematic variation of a correction used in the weights.

    The weights (``data.weight``, ``symmetry.weight_a``, ``symmetry.weight_b``) are evaluated
    again with the correction's string input ``nominal`` replaced by ``up``, then by ``down``
    (:meth:`asymscan.data.Corrections.varied`).

    Attributes
    ----------
    name
        A unique label, e.g. ``"electron efficiency"``.
    correction
        The name of the correction varied (in the ``[corrections]`` files).
    up, down
        The strings selecting the varied maps, e.g. ``"up"`` and ``"down"``.
    nominal
        The string the weight expressions pass for the nominal map; ``"nominal"`` by default.
    """

    name: Name
    correction: Name
    up: Name
    down: Name
    nominal: Name = "nominal"

    @model_validator(mode="after")
    def _distinct(self) -> SystematicConfig:
        values = {"nominal": self.nominal, "up": self.up, "down": self.down}
        same = [
            f"{k1} and {k2} are both {v1!r}"
            for i, (k1, v1) in enumerate(values.items())
            for k2, v2 in list(values.items())[i + 1 :]
            if v1 == v2
        ]
        if same:
            msg = f"{'; '.join(same)}: a variation must select a different map"
            raise ValueError(msg)
        return self


class FollowupConfig(_Model):
    """``[followup]``: the optional neural follow-up of the scan's top regions.

    The symmetrized neural test (Bressler et al.) is run on the unbinned events of each
    followed-up region's selection, in its observables (within their ranges), and calibrated
    by permutations of the A/B labels (:func:`asymscan.scan.followup.run_followup`).

    Attributes
    ----------
    nn
        Run the follow-up after the scan (needs ``asymscan[nn]``, i.e. torch); off by default.
        Weighted events are tested with their nominal weights (``data.weight``, times
        ``symmetry.weight_a`` for A's events and ``weight_b`` for B's) and calibrated by the
        weighted relabellings (with label-dependent weights, each event is in A with
        probability w_b / (w_a + w_b)); ``[[systematics]]`` are not part of the neural test.
    regions
        How many of the best-ranked regions to follow up, >= 1. Regions with the same
        selection and observables share one test, so this counts distinct
        (selection, observables) pairs, taken in rank order.
    permutations
        Relabellings of A u B calibrating each test, >= 1; the smallest p-value is
        1/(permutations + 1).
    max_events
        A selection with more A+B events is tested on a uniform random subset of this many,
        drawn without replacement (each event keeps its label), >= 100.
    seed
        Seed of the subsets, the permutations and the fits' starts, >= 0.
    """

    nn: StrictBool = False
    regions: StrictInt = Field(default=3, ge=1)
    permutations: StrictInt = Field(default=100, ge=1)
    max_events: StrictInt = Field(default=50_000, ge=100)
    seed: StrictInt = Field(default=0, ge=0)


_Problem = tuple[tuple[str | int, ...], str]  # (key path, message)

_WEIGHT_LOCS = (("data", "weight"), ("symmetry", "weight_a"), ("symmetry", "weight_b"))
_ADD_CORRECTIONS = 'add one listing the correctionlib files, e.g. [corrections] files = ["efficiencies.json"]'


class _Problems(ValueError):
    """Several problems found by one cross-check, each with its own key path."""

    def __init__(self, problems: list[_Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"{_loc(loc)}: {msg}" for loc, msg in problems))


class Config(_Model):
    """A whole scan configuration; see the module documentation for the TOML layout.

    ``model_dump()`` gives a plain dict (expressions as text, paths as strings) to embed in
    result files; ``Config.model_validate`` of that dict gives the configuration back.

    Validation reads the ``[corrections]`` files (unless the validation context has
    ``read_corrections=False``) to check the correction names used.
    """

    data: DataConfig
    corrections: CorrectionsConfig | None = None
    symmetry: SymmetryConfig
    selections: list[SelectionFamily] = Field(default_factory=list)
    observables: list[Observable] = Field(min_length=1)
    systematics: list[SystematicConfig] = Field(default_factory=list)
    scan: ScanConfig = Field(default_factory=ScanConfig)
    followup: FollowupConfig = Field(default_factory=FollowupConfig)

    @field_validator("observables")
    @classmethod
    def _unique_observables(cls, value: list[Observable]) -> list[Observable]:
        _check_unique([o.name for o in value], "observable")
        return value

    @field_validator("selections")
    @classmethod
    def _unique_selections(cls, value: list[SelectionFamily]) -> list[SelectionFamily]:
        _check_unique([s.name for s in value], "selection")
        return value

    @field_validator("systematics")
    @classmethod
    def _unique_systematics(
        cls, value: list[SystematicConfig]
    ) -> list[SystematicConfig]:
        _check_unique([s.name for s in value], "systematic")
        return value

    @model_validator(mode="after")
    def _corrections_used(self, info: ValidationInfo) -> Config:
        problems = self._correction_problems(
            read_files=(info.context or {}).get("read_corrections", True)
        )
        if problems:
            raise _Problems(problems)
        return self

    def _correction_problems(self, *, read_files: bool) -> list[_Problem]:
        """Cross-checks of the expressions, the systematics and the correction files."""
        exprs = self._expression_locs()
        if self.corrections is None:
            return _missing_corrections(exprs, bool(self.systematics))
        problems: list[_Problem] = []
        known: Corrections | None = None
        if read_files:
            files = self.corrections.files
            for j, path in enumerate(files):
                try:
                    load_corrections([path])
                except ConfigError as err:
                    problems.append((("corrections", "files", j), str(err)))
            if not problems:
                try:
                    known = load_corrections(files)
                except ConfigError as err:
                    problems.append((("corrections", "files"), str(err)))
        if known is not None:
            for loc, expr in exprs.items():
                for name in sorted(expr.corrections):
                    if name not in known:
                        problems.append((loc, _unknown_correction(known, name)))
        weights = {loc: e for loc, e in exprs.items() if loc in _WEIGHT_LOCS}
        for i, syst in enumerate(self.systematics):
            if known is not None and syst.correction not in known:
                msg = _unknown_correction(known, syst.correction)
                problems.append((("systematics", i, "correction"), msg))
            else:
                problems += _systematic_problems(i, syst, weights)
        return problems

    @model_validator(mode="after")
    def _enough_observables(self) -> Config:
        n = len(self.observables)
        too_many = [d for d in self.scan.dims if d > n]
        if too_many:
            plural = "s are" if n != 1 else " is"
            msg = (
                f"scan.dims = {self.scan.dims} asks for {max(too_many)}-D windows but only "
                f"{n} observable{plural} defined"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _not_too_many_bins(self) -> Config:
        n_selections = (
            1 + math.prod(len(f.categories) for f in self.selections)
            if self.selections
            else 1
        )
        bins = {o.name: o.bins for o in self.observables}
        sizes = {
            " vs ".join(names): math.prod(bins[n] for n in names)
            for d in sorted(self.scan.dims)
            for names in itertools.combinations(bins, d)
        }
        total = n_selections * sum(sizes.values())
        if total > MAX_BINS:
            largest = sorted(sizes.items(), key=lambda item: -item[1])[:3]
            shown = ", ".join(f"{label} ({size:,} bins)" for label, size in largest)
            plural = "s" if n_selections != 1 else ""
            msg = (
                f"the scan would fill {total:,} bins, more than the limit of {MAX_BINS:,} "
                f"(asymscan.config.MAX_BINS): {len(sizes)} histogram(s) in each of "
                f"{n_selections:,} selection{plural}; the largest: {shown}. Use fewer bins, "
                "fewer observables or dims, or fewer selection categories"
            )
            raise _Problems([(("observables",), msg)])
        return self

    def expressions(self) -> dict[str, Expression]:
        """Every expression of the configuration, keyed by where it is (``"symmetry.a"``, ...).

        The weights are included: ``"data.weight"``, ``"symmetry.weight_a"`` and
        ``"symmetry.weight_b"`` when they are set.
        """
        return {_loc(loc): expr for loc, expr in self._expression_locs().items()}

    def _expression_locs(self) -> dict[tuple[str | int, ...], Expression]:
        out: dict[tuple[str | int, ...], Expression] = {
            ("symmetry", "a"): self.symmetry.a,
            ("symmetry", "b"): self.symmetry.b,
        }
        if self.symmetry.weight_a is not None:
            out["symmetry", "weight_a"] = self.symmetry.weight_a
        if self.symmetry.weight_b is not None:
            out["symmetry", "weight_b"] = self.symmetry.weight_b
        if self.data.weight is not None:
            out["data", "weight"] = self.data.weight
        for i, family in enumerate(self.selections):
            for cat, expr in family.categories.items():
                out["selections", i, "categories", cat] = expr
        for i, obs in enumerate(self.observables):
            out["observables", i, "expr"] = obs.expr
        return out

    def columns(self) -> frozenset[str]:
        """The names of all the columns the configuration reads (to read only those)."""
        return frozenset().union(*(e.columns for e in self.expressions().values()))

    def load_corrections(self) -> Corrections | None:
        """The corrections of the ``[corrections]`` files; None without that section.

        Files already read (by the validation, say) are not parsed again.

        Raises
        ------
        ConfigError
            A file cannot be read or is not a valid correctionlib file, or two files define
            the same correction.
        """
        if self.corrections is None:
            return None
        return load_corrections(self.corrections.files)


def _unknown_correction(corrections: Corrections, name: str) -> str:
    """The message of :class:`~asymscan.data.Corrections` for an unknown name."""
    try:
        corrections.inputs(name)
    except ConfigError as err:
        return str(err)
    return (
        f"correction {name!r} is defined"  # not reached: only called for unknown names
    )


def _missing_corrections(
    exprs: Mapping[tuple[str | int, ...], Expression], systematics: bool
) -> list[_Problem]:
    """Problems of a configuration without [corrections] that needs one."""
    problems: list[_Problem] = []
    for loc, expr in exprs.items():
        if expr.corrections:
            names = ", ".join(map(repr, sorted(expr.corrections)))
            msg = (
                f"{expr.text!r} calls correction {names}, but there is no [corrections] "
                f"section; {_ADD_CORRECTIONS}"
            )
            problems.append((loc, msg))
    if systematics:
        msg = (
            "[[systematics]] vary corrections, but there is no [corrections] section; "
            + _ADD_CORRECTIONS
        )
        problems.append((("systematics",), msg))
    return problems


def _systematic_problems(
    i: int, syst: SystematicConfig, weights: Mapping[tuple[str | int, ...], Expression]
) -> list[_Problem]:
    """A systematic must vary a correction the weights call, with the string they pass."""
    calls = [
        strings
        for expr in weights.values()
        for name, strings in expr.correction_calls
        if name == syst.correction
    ]
    if not calls:
        used = sorted(set().union(*(e.corrections for e in weights.values())))
        shown = ", ".join(map(repr, used)) if used else "none"
        msg = (
            f"correction {syst.correction!r} is not called by any weight (data.weight, "
            "symmetry.weight_a, symmetry.weight_b), so varying it has no effect; the "
            f"weights call: {shown}"
        )
        return [(("systematics", i, "correction"), msg)]
    if not any(syst.nominal in strings for strings in calls):
        passed = sorted({s for strings in calls for s in strings})
        shown = ", ".join(map(repr, passed)) if passed else "no strings"
        msg = (
            f"the weights never pass {syst.nominal!r} to correction {syst.correction!r} "
            f"(they pass {shown}), so replacing it has no effect; set nominal to the "
            "string the weights pass for the nominal map"
        )
        return [(("systematics", i, "nominal"), msg)]
    return []


def _check_unique(names: list[str], what: str) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        msg = f"{what} names must be unique; repeated: {', '.join(map(repr, repeated))}"
        raise ValueError(msg)


# --------------------------------------------------------------------------------------------
# loading and error messages

_SECTIONS: dict[tuple[str, ...], type[BaseModel]] = {
    (): Config,
    ("data",): DataConfig,
    ("corrections",): CorrectionsConfig,
    ("symmetry",): SymmetryConfig,
    ("selections",): SelectionFamily,
    ("observables",): Observable,
    ("systematics",): SystematicConfig,
    ("scan",): ScanConfig,
    ("followup",): FollowupConfig,
}

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return part if _BARE_KEY.fullmatch(part) else f'"{part}"'


def _loc(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        key = _key(part)
        out += key if isinstance(part, int) or not out else f".{key}"
    return out or "(top level)"


def _entry_label(loc: tuple[str | int, ...], data: Any) -> str:
    """`` (name = "m_coll")`` for errors inside a named array-of-tables entry."""
    if (
        len(loc) >= 2
        and loc[0] in ("selections", "observables", "systematics")
        and isinstance(loc[1], int)
    ):
        try:
            name = data[loc[0]][loc[1]]["name"]
        except (KeyError, IndexError, TypeError):
            return ""
        if isinstance(name, str):
            return f' (name = "{name}")'
    return ""


def _describe(error: Any, data: Any) -> list[str]:
    """The problems of one pydantic error, one line each, with their key paths."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, _Problems):
        prefix = tuple(error["loc"])
        return [
            f"{_loc(prefix + loc)}{_entry_label(prefix + loc, data)}: {msg}"
            for loc, msg in cause.problems
        ]
    return [_describe_one(error, data)]


def _describe_one(error: Any, data: Any) -> str:
    loc = tuple(error["loc"])
    where = _loc(loc) + _entry_label(loc, data)
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = tuple(p for p in loc[:-1] if isinstance(p, str))
        model = _SECTIONS.get(parent)
        valid = list(model.model_fields) if model is not None else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        if len(loc) == 1:
            section = "the top level"
        elif any(isinstance(p, int) for p in loc[:-1]):
            section = _loc(loc[:-1])
        else:
            section = f"[{_loc(loc[:-1])}]"
        return (
            f"{where}: unknown key {loc[-1]!r} in {section}{hint} "
            f"(valid keys: {', '.join(valid)})"
        )
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind in ("value_error", "assertion_error") and "error" in error.get("ctx", {}):
        return f"{where}: {error['ctx']['error']}"
    value = error.get("input")
    shown = f" (got {value!r:.80})" if not isinstance(value, Mapping) else ""
    return f"{where}: {error['msg']}{shown}"


def config_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: str | os.PathLike[str] | None = None,
    source: str = "configuration",
    read_corrections: bool = True,
) -> Config:
    """Validate a configuration given as a dict (the parsed TOML), with readable errors.

    Parameters
    ----------
    data
        The configuration, as ``tomllib`` returns it.
    base_dir
        Folder against which relative data paths are resolved; None leaves them relative.
    source
        How to name the configuration in error messages (e.g. its file name).
    read_corrections
        Read the ``[corrections]`` files to check the correction names used (an unreadable
        file is then an error); False skips that check, e.g. for a configuration embedded in
        a result file read where the correction files are not.

    Raises
    ------
    ConfigError
        Listing every problem, one per line, each with its key path (``scan.toys``,
        ``selections[0].categories."2j+"``).
    """
    context = {
        "base_dir": None if base_dir is None else Path(base_dir),
        "read_corrections": read_corrections,
    }
    try:
        return Config.model_validate(data, context=context)
    except ValidationError as err:
        problems = [
            p for e in err.errors(include_url=False) for p in _describe(e, data)
        ]
        noun = "problem" if len(problems) == 1 else "problems"
        msg = f"invalid {source} ({len(problems)} {noun}):\n" + "\n".join(
            f"  {p}" for p in problems
        )
        raise ConfigError(msg) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a TOML scan configuration.

    Parameters
    ----------
    path
        The TOML file. Relative data and correction paths in it are resolved against its
        folder.

    Returns
    -------
    Config

    Raises
    ------
    ConfigError
        The file cannot be read, is not valid TOML, or does not validate; the message names the
        file, the key path and the problem (unknown keys are listed with the valid ones).

    Examples
    --------
    >>> cfg = load_config("scan.toml")  # doctest: +SKIP
    >>> cfg.observables[0].expr.evaluate(columns)  # doctest: +SKIP
    """
    file = Path(path)
    try:
        with file.open("rb") as f:
            data = tomllib.load(f)
    except OSError as err:
        msg = f"cannot read configuration file {str(file)!r}: {err.strerror or err}"
        raise ConfigError(msg) from err
    except tomllib.TOMLDecodeError as err:
        msg = f"{str(file)!r} is not valid TOML: {err}"
        raise ConfigError(msg) from err
    except UnicodeDecodeError as err:
        msg = f"{str(file)!r} is not UTF-8 text, as TOML must be: {err}"
        raise ConfigError(msg) from err
    return config_from_dict(
        data, base_dir=file.resolve().parent, source=f"configuration {str(file)!r}"
    )
