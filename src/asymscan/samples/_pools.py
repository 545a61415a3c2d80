"""Finding, describing and reading the e-mu pool files (shared by the loaders and templates).

A pool file is what :func:`asymscan.generate.generate_emu` or
:func:`asymscan.generate.assemble_pools` writes: ``<pool>.parquet`` with one row per selected
event and the pool's metadata (cross section, events) as JSON under the Parquet schema metadata
key :data:`asymscan.generate.METADATA_KEY`. Metadata and column tables are cached per file,
keyed by its path, modification time and size, so a rewritten file is read again.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ..generate.run import METADATA_KEY

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ("DEFAULT_POOLS", "PoolInfo", "find_pools", "pool_dir", "read_table")

#: The package's data folder, where the shipped e-mu pools live.
DEFAULT_POOLS = Path(__file__).parent / "data"


@dataclass(frozen=True)
class PoolInfo:
    """One pool file: its name, path and the numbers a draw needs.

    Attributes
    ----------
    name
        Pool name (the file's stem, e.g. ``"ttbar"``).
    path
        The Parquet file.
    kind
        ``"background"`` or ``"signal"`` (normalised per unit BR(H -> LFV)).
    n_selected
        Selected events in the file.
    sigma_selected_fb
        Selected cross section in fb (per unit BR for a signal pool).
    metadata
        The full metadata document of the file.
    """

    name: str
    path: Path
    kind: str
    n_selected: int
    sigma_selected_fb: float
    metadata: dict[str, Any]

    def expected(self, lumi: float, branching_ratio: float = 1.0) -> float:
        """Expected selected events for ``lumi`` fb^-1 (times ``branching_ratio`` for a signal)."""
        mu = self.sigma_selected_fb * lumi
        return mu * branching_ratio if self.kind == "signal" else mu

    def max_lumi(self, branching_ratio: float = 1.0, n_sigma: float = 0.0) -> float:
        """Largest luminosity (fb^-1) whose expected yield plus ``n_sigma`` sqrt of it fits.

        ``n_sigma = 0`` is the limit the loader enforces (the expected yield must not exceed
        the pool); ``n_sigma = 5`` is where Poisson draws practically never reach the pool size.
        """
        rate = self.sigma_selected_fb * (
            branching_ratio if self.kind == "signal" else 1.0
        )
        if rate <= 0:
            return math.inf
        n = self.n_selected
        # mu + k sqrt(mu) <= n  <=>  sqrt(mu) <= (sqrt(k^2 + 4n) - k) / 2
        mu = ((math.sqrt(n_sigma**2 + 4 * n) - n_sigma) / 2) ** 2
        return mu / rate


def pool_dir(pools: str | Path | None) -> Path:
    """The folder of pool files: ``pools``, or :data:`DEFAULT_POOLS` when ``None``."""
    return Path(DEFAULT_POOLS if pools is None else pools)


def _not_built(folder: Path) -> DataError:
    what = (
        "the shipped sample is not built yet"
        if folder == Path(DEFAULT_POOLS)
        else "not a folder of e-mu pools"
    )
    msg = (
        f"no e-mu pool files (*.parquet) in {folder}: {what}. "
        "Build it with 'asymscan generate emu --lumi 21 --shard-dir <shards> "
        f"--out {folder}' and then 'asymscan generate assemble --shard-dir <shards> "
        f"--out {folder}' (which also writes the pools of a run that was cut short), or "
        "pass pools=<a folder of pool files>."
    )
    return DataError(msg)


@functools.lru_cache(maxsize=128)
def _metadata(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        msg = f"{path} is not an asymscan pool: no {METADATA_KEY!r} Parquet metadata"
        raise DataError(msg)
    return json.loads(raw)


@functools.lru_cache(maxsize=128)
def _table(path: str, mtime_ns: int, size: int, columns: tuple[str, ...]) -> pa.Table:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=list(columns))


def _stat_key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path), st.st_mtime_ns, st.st_size


def _info(path: Path) -> PoolInfo:
    meta = _metadata(*_stat_key(path))
    return PoolInfo(
        name=path.stem,
        path=path,
        kind=str(meta["kind"]),
        n_selected=int(meta["n_selected"]),
        sigma_selected_fb=float(meta["sigma_selected_fb"]),
        metadata=meta,
    )


def find_pools(
    pools: str | Path | None, names: Sequence[str] | None = None
) -> dict[str, PoolInfo]:
    """The pools of a folder, all of them or those named (in that order).

    Raises
    ------
    DataError
        If the folder holds no pool file (the shipped sample not built yet), or lacks a named
        pool.
    """
    folder = pool_dir(pools)
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        raise _not_built(folder)
    by_name = {p.stem: p for p in files}
    if names is None:
        return {name: _info(path) for name, path in by_name.items()}
    missing = [n for n in names if n not in by_name]
    if missing:
        msg = (
            f"{folder} lacks the pool file(s) {', '.join(f'{n}.parquet' for n in missing)} "
            f"(it has: {', '.join(sorted(by_name))}); generate them with "
            f"'asymscan generate emu --processes {','.join(missing)} --out {folder}'"
        )
        raise DataError(msg)
    return {n: _info(by_name[n]) for n in names}


def read_table(info: PoolInfo, columns: Sequence[str]) -> pa.Table:
    """The named columns of a pool file, as a cached (immutable) pyarrow Table."""
    return _table(*_stat_key(info.path), tuple(columns))
