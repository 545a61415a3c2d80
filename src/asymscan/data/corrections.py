"""Efficiency maps and scale factors kept as correctionlib corrections (JSON schema v2).

Analysts keep per-object efficiencies and scale factors as correctionlib ``CorrectionSet`` files;
:func:`load_corrections` reads one or more of them (``.json`` or ``.json.gz``) into a
:class:`Corrections`, which evaluates a correction by name on arrays of events
(``cset["name"].evaluate(*arrays)`` underneath) and checks what comes back: the values become
event weights, so they must be positive and finite. A systematic variation is a string input of
the correction (``"nominal"``, ``"up"``, ``"down"``); :meth:`Corrections.varied` gives a view in
which a correction's string input ``"nominal"`` is read as ``"up"`` (or ``"down"``), so the same
weight expressions give the varied weights.

Expressions reach the corrections through ``correction('name', inputs...)``
(:mod:`asymscan.data.expressions`); a configuration lists the files in ``[corrections]``
(:mod:`asymscan.config`).

References
----------
N. Smith et al., correctionlib, https://github.com/cms-nanoAOD/correctionlib (schema v2).
"""

from __future__ import annotations

import difflib
import functools
import gzip
import hashlib
import os
import re
import stat
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, ShapeError

__all__ = ("Corrections", "load_corrections")

_GZIP_MAGIC = b"\x1f\x8b"
_ARGUMENT = re.compile(r"input argument (\d+)")
_VALUE = re.compile(r"val(?:ue)?: (.*)$")


@dataclass(frozen=True, eq=False)
class _File:
    """One read correction file: its bytes (as stored, maybe gzipped), their hash, the evaluator."""

    path: str
    raw: bytes
    digest: str
    evaluators: Mapping[str, Any]


class Corrections:
    """Immutable collection of correctionlib corrections, evaluated on arrays of events.

    Build one with :func:`load_corrections`. It pickles with the files' contents (not their
    paths alone), so it can be sent to process-pool and Dask workers, which do not need the
    files; a worker parses each content once.

    Equal collections (same files, same contents, same variations) compare and hash equal.
    """

    __slots__ = ("_files", "_index", "_variations")

    _files: tuple[_File, ...]
    _index: Mapping[str, tuple[int, Any]]
    _variations: tuple[tuple[str, str, str], ...]

    def __init__(self) -> None:
        msg = "build Corrections with asymscan.data.load_corrections(paths)"
        raise TypeError(msg)

    @classmethod
    def _make(
        cls,
        files: tuple[_File, ...],
        variations: tuple[tuple[str, str, str], ...] = (),
        index: Mapping[str, tuple[int, Any]] | None = None,
    ) -> Corrections:
        if index is None:
            built: dict[str, tuple[int, Any]] = {}
            for i, file in enumerate(files):
                for name, evaluator in file.evaluators.items():
                    if name in built:
                        first = files[built[name][0]].path
                        msg = (
                            f"correction {name!r} is defined in both {first!r} and "
                            f"{file.path!r}; each name must be defined once"
                        )
                        raise ConfigError(msg)
                    built[name] = (i, evaluator)
            index = MappingProxyType(built)
        self = object.__new__(cls)
        object.__setattr__(self, "_files", files)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_variations", variations)
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"Corrections are immutable; cannot set {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = f"Corrections are immutable; cannot delete {name!r}"
        raise AttributeError(msg)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        files = tuple((f.path, f.raw, f.digest) for f in self._files)
        return (_restore, (files, self._variations))

    def __repr__(self) -> str:
        files = [f.path for f in self._files]
        varied = "".join(
            f", {c}: {nominal!r} -> {value!r}" for c, nominal, value in self._variations
        )
        return f"Corrections({files}, names={list(self.names)}{varied})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Corrections):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[Any, ...]:
        return (tuple((f.path, f.digest) for f in self._files), self._variations)

    # ---------------------------------------------------------------------------------------
    # description

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the corrections, sorted."""
        return tuple(sorted(self._index))

    @property
    def files(self) -> tuple[Path, ...]:
        """The files the corrections were read from (resolved paths)."""
        return tuple(Path(f.path) for f in self._files)

    @property
    def variations(self) -> tuple[tuple[str, str, str], ...]:
        """The ``(correction, nominal, value)`` replacements of this view, in order."""
        return self._variations

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Any:
        return iter(self.names)

    def inputs(self, name: str) -> tuple[tuple[str, str], ...]:
        """The inputs of a correction, as ``(name, type)`` pairs.

        The types are correctionlib's: ``"real"``, ``"int"`` or ``"string"``.

        Raises
        ------
        ConfigError
            No correction has this name; the message lists the available ones.
        """
        return tuple((v.name, v.type) for v in self._evaluator(name).inputs)

    def signature(self, name: str) -> str:
        """The correction with its inputs, e.g. ``electron_eff(pt: real, syst: string)``."""
        args = ", ".join(f"{n}: {t}" for n, t in self.inputs(name))
        return f"{name}({args})"

    def stamp(self) -> str:
        """Hex identity of the files (resolved paths and SHA-256 of their contents) and variations.

        Two collections with the same stamp evaluate alike; use it in fingerprints of results.
        """
        h = hashlib.sha256()
        for f in self._files:
            h.update(f"file {f.path!r} {f.digest}\n".encode())
        for c, nominal, value in self._variations:
            h.update(f"vary {c!r} {nominal!r} {value!r}\n".encode())
        return h.hexdigest()

    # ---------------------------------------------------------------------------------------
    # variations

    def varied(self, correction: str, nominal: str, value: str) -> Corrections:
        """A view in which ``correction`` reads its string input ``nominal`` as ``value``.

        Every call of ``correction`` whose string input equals ``nominal`` is evaluated with
        ``value`` there instead (``"nominal"`` -> ``"up"`` gives the up variation of the
        weights); other corrections and other strings are untouched. Views stack: the
        replacements of ``c.varied(...).varied(...)`` apply in order.

        Parameters
        ----------
        correction
            The name of the correction to vary.
        nominal, value
            The string read, and the one evaluated instead.

        Raises
        ------
        ConfigError
            Unknown correction, a correction without string inputs, or non-string arguments.

        Examples
        --------
        >>> up = corrections.varied("electron_eff", "nominal", "up")  # doctest: +SKIP
        >>> up.evaluate("electron_eff", pt, eta, "nominal")  # the 'up' values  # doctest: +SKIP
        """
        for what, s in (("nominal", nominal), ("value", value)):
            if not isinstance(s, str):
                msg = f"varied(): {what} must be a string, got {type(s).__name__} {s!r:.80}"
                raise ConfigError(msg)
        inputs = self.inputs(correction)
        if not any(t == "string" for _, t in inputs):
            msg = (
                f"correction {self.signature(correction)} has no string input, so it has "
                "no systematic variations to select"
            )
            raise ConfigError(msg)
        return Corrections._make(
            self._files,
            (*self._variations, (correction, nominal, value)),
            self._index,
        )

    # ---------------------------------------------------------------------------------------
    # evaluation

    def _evaluator(self, name: str) -> Any:
        try:
            return self._index[name][1]
        except (KeyError, TypeError):
            raise ConfigError(self._unknown_message(name)) from None

    def _unknown_message(self, name: Any) -> str:
        names = self.names
        hint = ""
        if isinstance(name, str):
            close = difflib.get_close_matches(name, names, n=3)
            if close:
                hint = f"; did you mean {' or '.join(map(repr, close))}?"
        files = ", ".join(repr(f.path) for f in self._files)
        listing = ", ".join(names) if names else "(none)"
        return f"unknown correction {name!r}{hint}; the files {files} define: {listing}"

    def evaluate(self, name: str, *args: Any) -> np.ndarray:
        """Evaluate a correction on events.

        Parameters
        ----------
        name
            The correction.
        *args
            One per input of the correction, in its order: arrays (or scalars, broadcast to
            the events) of numbers for ``real`` and ``int`` inputs, a single ``str`` for
            ``string`` inputs (replaced as :meth:`varied` says).

        Returns
        -------
        numpy.ndarray
            float64 values, one per event (the broadcast shape of the numeric arguments; 0-d
            when all are scalars).

        Raises
        ------
        ConfigError
            Unknown correction, wrong number or types of inputs, or a string the correction
            does not accept (e.g. ``'upp'``).
        DataError
            NaN inputs, inputs outside a map that has ``flow="error"``, or values that are
            non-positive or non-finite (they are used as weights); the message counts them.
        ShapeError
            Array inputs whose shapes do not broadcast.
        """
        evaluator = self._evaluator(name)
        variables = evaluator.inputs
        if len(args) != len(variables):
            plural = "" if len(variables) == 1 else "s"
            msg = (
                f"correction {self.signature(name)} takes {len(variables)} "
                f"input{plural}, got {len(args)}"
            )
            raise ConfigError(msg)
        converted: list[Any] = []
        replaced: dict[int, str] = {}
        for i, (var, arg) in enumerate(zip(variables, args, strict=True)):
            if var.type == "string":
                text = self._string_input(name, var.name, arg)
                for correction, nominal, value in self._variations:
                    if correction == name and text == nominal:
                        replaced.setdefault(i, text)
                        text = value
                converted.append(text)
            else:
                converted.append(self._numeric_input(name, var.name, var.type, arg))
        numeric = [a for a in converted if isinstance(a, np.ndarray)]
        try:
            shape = np.broadcast_shapes(*(a.shape for a in numeric))
        except ValueError as err:
            shapes = ", ".join(
                f"{v.name} {a.shape}"
                for v, a in zip(variables, converted, strict=True)
                if isinstance(a, np.ndarray)
            )
            msg = f"the inputs of correction {name!r} have shapes that do not broadcast: {shapes}"
            raise ShapeError(msg) from err
        call = [
            a if not isinstance(a, np.ndarray) else _flat(a, shape) for a in converted
        ]
        try:
            out = evaluator.evaluate(*call)
        except IndexError as err:
            raise self._lookup_error(
                name, variables, converted, replaced, err
            ) from None
        except (RuntimeError, ValueError, TypeError) as err:
            raise self._runtime_error(name, variables, err) from None
        values = np.asarray(out, dtype=np.float64).reshape(shape)
        self._check_values(name, values)
        return values

    def _string_input(self, name: str, input_name: str, arg: Any) -> str:
        if isinstance(arg, np.str_):
            return str(arg)
        if isinstance(arg, str):
            return arg
        what = _describe_argument(arg)
        msg = (
            f"input {input_name!r} of correction {self.signature(name)} is a string, "
            f"written in quotes such as 'nominal', but got {what}"
        )
        raise ConfigError(msg)

    def _numeric_input(
        self, name: str, input_name: str, kind: str, arg: Any
    ) -> np.ndarray:
        noun = "an integer" if kind == "int" else "a number"
        if isinstance(arg, str | bytes | np.str_ | np.bytes_):
            msg = (
                f"input {input_name!r} of correction {self.signature(name)} is {noun}, "
                f"but got the string {arg!r:.80}"
            )
            raise ConfigError(msg)
        try:
            array = np.asarray(arg)
        except (TypeError, ValueError) as err:
            msg = f"input {input_name!r} of correction {self.signature(name)} cannot be read as an array: {err}"
            raise ConfigError(msg) from err
        if array.dtype.kind not in "biuf":
            msg = (
                f"input {input_name!r} of correction {self.signature(name)} is {noun}, "
                f"but got {_describe_argument(arg)}"
            )
            raise ConfigError(msg)
        if array.dtype.kind == "f":
            n_nan = int(np.count_nonzero(np.isnan(array)))
            if n_nan:
                msg = (
                    f"input {input_name!r} of correction {name!r} is NaN for {n_nan} of "
                    f"{array.size} {_plural(array.size, 'event')}"
                )
                raise DataError(msg)
        if kind == "int":
            if array.dtype.kind == "f":
                whole = np.isfinite(array) & (array == np.round(array))
                if not np.all(whole):
                    bad = array[~whole].ravel()
                    msg = (
                        f"input {input_name!r} of correction {self.signature(name)} is an "
                        f"integer, but {bad.size} {_plural(bad.size, 'value')} "
                        f"{'is' if bad.size == 1 else 'are'} not "
                        f"(e.g. {bad[0].item()!r})"
                    )
                    raise DataError(msg)
            return array.astype(np.int64)
        return array.astype(np.float64)

    def _lookup_error(
        self,
        name: str,
        variables: list[Any],
        converted: list[Any],
        replaced: Mapping[int, str],
        err: Exception,
    ) -> Exception:
        index = _argument_index(err)
        if index is not None and index < len(variables):
            var = variables[index]
            if var.type == "string":
                value = converted[index]
                via = ""
                if index in replaced:
                    via = (
                        f" (it replaces {replaced[index]!r} in a systematic variation)"
                    )
                msg = (
                    f"correction {self.signature(name)} does not accept {value!r}{via} for "
                    f"its string input {var.name!r}; check the spelling against the "
                    "correction file (e.g. 'nominal', 'up', 'down')"
                )
                return ConfigError(msg)
            value_text = _VALUE.search(str(err))
            example = f" (e.g. {value_text.group(1)})" if value_text else ""
            msg = (
                f"correction {self.signature(name)}: input {var.name!r} has values that are "
                f"not among its categories{example}"
            )
            return DataError(msg)
        return DataError(f"cannot evaluate correction {self.signature(name)}: {err}")

    def _runtime_error(
        self, name: str, variables: list[Any], err: Exception
    ) -> Exception:
        text = str(err)
        index = _argument_index(err)
        if "bounds" in text and index is not None and index < len(variables):
            var = variables[index]
            side = "below" if "below" in text else "above"
            value_text = _VALUE.search(text)
            example = (
                f" (e.g. {value_text.group(1)}, {side} its edges)" if value_text else ""
            )
            msg = (
                f"correction {self.signature(name)}: input {var.name!r} has values outside "
                f"the map{example}, and the map has flow='error'; restrict the selection to "
                "the map's range or use a map with flow='clamp'"
            )
            return DataError(msg)
        return DataError(f"cannot evaluate correction {self.signature(name)}: {err}")

    def _check_values(self, name: str, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        n_nonfinite = int(values.size - np.count_nonzero(finite))
        n_nonpositive = int(np.count_nonzero(finite & (values <= 0)))
        if n_nonfinite or n_nonpositive:
            varied = [
                f"{nominal!r} -> {value!r}"
                for c, nominal, value in self._variations
                if c == name
            ]
            how = f" (varied: {', '.join(varied)})" if varied else ""
            msg = (
                f"correction {name!r}{how} gave {n_nonpositive} non-positive and "
                f"{n_nonfinite} non-finite values out of {values.size} "
                f"{_plural(values.size, 'event')}; efficiencies and scale factors used as "
                "weights must be positive and finite"
            )
            raise DataError(msg)


# --------------------------------------------------------------------------------------------
# loading


def load_corrections(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> Corrections:
    """Read correctionlib JSON files (schema v2, ``.json`` or ``.json.gz``).

    Files are parsed once per process: a file read again with the same resolved path,
    modification time and size comes from a cache.

    Parameters
    ----------
    paths
        One file or several; a correction name must not be defined in two of them.

    Returns
    -------
    Corrections

    Raises
    ------
    ConfigError
        A file is missing, unreadable, not JSON, not a schema-v2 correction set, or defines a
        name that another file defines too; the message names the file(s).

    Examples
    --------
    >>> corrections = load_corrections(["efficiencies.json"])  # doctest: +SKIP
    >>> corrections.evaluate("electron_eff", pt, abs(eta), "nominal")  # doctest: +SKIP
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    given = [Path(p).expanduser() for p in paths]
    if not given:
        msg = "no correction files given; list one or more correctionlib JSON files"
        raise ConfigError(msg)
    files = []
    seen: dict[str, Path] = {}
    for path in given:
        file = _read(path)
        if file.path in seen:
            msg = f"correction file {str(path)!r} is listed twice"
            raise ConfigError(msg)
        seen[file.path] = path
        files.append(file)
    return Corrections._make(tuple(files))


def _read(path: Path) -> _File:
    try:
        resolved = path.resolve()
        info = resolved.stat()
    except OSError as err:
        msg = f"cannot read correction file {str(path)!r}: {err.strerror or err}"
        raise ConfigError(msg) from None
    if not stat.S_ISREG(info.st_mode):
        msg = f"cannot read correction file {str(path)!r}: not a regular file"
        raise ConfigError(msg)
    return _load_file(str(resolved), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=64)
def _load_file(path: str, mtime_ns: int, size: int) -> _File:
    """Read and parse one file; cached by (resolved path, mtime, size)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        msg = f"cannot read correction file {path!r}: {err.strerror or err}"
        raise ConfigError(msg) from None
    return _parse(path, raw, hashlib.sha256(raw).hexdigest())


_PARSED: dict[str, _File] = {}
_PARSED_MAX = 64
_PARSED_LOCK = threading.Lock()


def _parse(path: str, raw: bytes, digest: str) -> _File:
    """Parse file contents; cached by content hash so that unpickled copies reuse it."""
    with _PARSED_LOCK:
        cached = _PARSED.get(digest)
    if cached is not None and cached.path == path:
        return cached
    import correctionlib

    if raw[:2] == _GZIP_MAGIC:
        try:
            raw_json = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            msg = f"correction file {path!r} is not a valid gzip file: {err}"
            raise ConfigError(msg) from None
    else:
        raw_json = raw
    try:
        text = raw_json.decode("utf-8")
    except UnicodeDecodeError as err:
        msg = f"correction file {path!r} is not UTF-8 JSON text: {err}"
        raise ConfigError(msg) from None
    try:
        cset = correctionlib.CorrectionSet.from_string(text)
    except (RuntimeError, ValueError, TypeError) as err:
        msg = (
            f"correction file {path!r} is not a valid correctionlib file "
            f"(JSON schema v2): {err}"
        )
        raise ConfigError(msg) from None
    evaluators: dict[str, Any] = {name: cset[name] for name in cset}
    for name in cset.compound:
        if name in evaluators:
            msg = f"correction file {path!r} defines {name!r} twice (also as a compound correction)"
            raise ConfigError(msg)
        evaluators[name] = cset.compound[name]
    file = _File(path, raw, digest, MappingProxyType(evaluators))
    with _PARSED_LOCK:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[digest] = file
    return file


def _restore(
    files: tuple[tuple[str, bytes, str], ...],
    variations: tuple[tuple[str, str, str], ...],
) -> Corrections:
    return Corrections._make(
        tuple(_parse(path, raw, digest) for path, raw, digest in files), variations
    )


# --------------------------------------------------------------------------------------------
# helpers


def _flat(array: np.ndarray, shape: tuple[int, ...]) -> Any:
    if shape == ():
        return array[()].item()
    return np.ascontiguousarray(np.broadcast_to(array, shape)).ravel()


def _argument_index(err: Exception) -> int | None:
    match = _ARGUMENT.search(str(err))
    return int(match.group(1)) if match else None


def _describe_argument(arg: Any) -> str:
    if isinstance(arg, bool | np.bool_):
        return f"the boolean {bool(arg)!r}"
    if isinstance(arg, np.number):
        return f"the number {arg.item()!r}"
    if isinstance(arg, int | float):
        return f"the number {arg!r}"
    try:
        array = np.asarray(arg)
    except (TypeError, ValueError):
        return f"{type(arg).__name__} {arg!r:.80}"
    if array.ndim == 0:
        return f"{type(arg).__name__} {arg!r:.80}"
    if array.dtype.kind in "USO":
        return f"an array of {array.dtype} (string inputs take one literal string)"
    return f"an array of {array.dtype} (per-event values)"


def _plural(n: int, noun: str) -> str:
    return noun if n == 1 else noun + "s"
