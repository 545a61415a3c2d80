"""Writing a scan's results: ``results.json`` and ``regions.parquet``, each atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError
from ..files import atomic_path, write_json
from .run import ScanResult

__all__ = ("FINAL_OUTPUTS", "prepare_output", "write_results")


def _regions_table(regions: list[dict]) -> pa.Table:
    columns = {
        "rank": [r["rank"] for r in regions],
        "selection": [json.dumps(r["selection"]) for r in regions],
        "observables": [r["observables"] for r in regions],
        "window": [json.dumps(r["window"]) for r in regions],
        "nsigma": [r["nsigma"] for r in regions],
        "nsigma_stat": [r["nsigma_stat"] for r in regions],
        "systematics": [json.dumps(r["systematics"]) for r in regions],
        "n_a": [r["n_a"] for r in regions],
        "n_b": [r["n_b"] for r in regions],
        "local_p": [r["local_p"] for r in regions],
        "global_p": [r["global_p"] for r in regions],
        "global_p_extrapolated": [r.get("global_p_extrapolated") for r in regions],
        "global_p_extrapolated_error": [
            r.get("global_p_extrapolated_error") for r in regions
        ],
        "histogram": [r["histogram"] for r in regions],
    }
    schema = pa.schema(
        [
            ("rank", pa.int32()),
            ("selection", pa.string()),
            ("observables", pa.list_(pa.string())),
            ("window", pa.string()),
            ("nsigma", pa.float64()),
            ("nsigma_stat", pa.float64()),
            ("systematics", pa.string()),
            ("n_a", pa.float64()),
            ("n_b", pa.float64()),
            ("local_p", pa.float64()),
            ("global_p", pa.float64()),
            ("global_p_extrapolated", pa.float64()),
            ("global_p_extrapolated_error", pa.float64()),
            ("histogram", pa.int32()),
        ]
    )
    return pa.Table.from_pydict(columns, schema=schema)


#: What a finished scan writes into its output folder (besides the toy shards in ``shards/``).
FINAL_OUTPUTS = (
    "results.json",
    "regions.parquet",
    "report.html",
    "toys.png",
    "region_*.png",
)


def _final_outputs(out: Path) -> list[Path]:
    return sorted(p for pattern in FINAL_OUTPUTS for p in out.glob(pattern))


def prepare_output(
    out: str | Path, *, resume: bool = False, overwrite: bool = False
) -> Path:
    """Make ``out`` ready for a scan, so that an old result never stands beside a new one.

    A folder holding an earlier run's outputs (:data:`FINAL_OUTPUTS`, toy shards) is an error
    unless ``resume`` (continue it: its final outputs are removed now and rewritten at the
    end, its shards are kept if they match) or ``overwrite`` (its outputs are removed now,
    its shards when the toys start). Only files a scan writes are ever removed.

    Raises
    ------
    DataError
        ``out`` is a file, or holds an earlier run's outputs and neither flag is given.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"the output folder {str(out)!r} is a file"
        raise DataError(msg)
    finals = _final_outputs(out) if out.is_dir() else []
    shards = sorted((out / "shards").glob("item_*.npy")) if out.is_dir() else []
    if (finals or shards) and not (resume or overwrite):
        found = [p.name for p in finals[:4]] + (
            [f"{len(shards)} toy shard(s)"] if shards else []
        )
        msg = (
            f"{str(out)!r} holds the outputs of an earlier run ({', '.join(found)}): pass "
            "--overwrite to replace them, or --resume to continue an interrupted run"
        )
        raise DataError(msg)
    for path in finals:
        path.unlink()
    return out


def write_results(
    result: ScanResult, out: str | Path, *, plots: bool = True
) -> dict[str, Path]:
    """Write ``results.json``, ``regions.parquet`` and, with ``plots``, PNGs and ``report.html``.

    ``results.json`` holds every number and the resolved configuration. In ``regions.parquet``
    the selection, the window and the systematic parts are JSON strings
    (``{"family": "category"}``, ``{"observable": [lo, hi]}``, ``{"systematic": shift}``). ``results.json`` is written last, so its presence marks a
    finished output folder.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "regions": out / "regions.parquet"}
    with atomic_path(paths["regions"]) as tmp:
        pq.write_table(_regions_table(result.regions), tmp)
    data = result.to_dict()
    if plots:
        from ..report.html import write_report
        from ..report.scan_plots import plot_scan

        figures = plot_scan(result, out)
        paths.update(figures)
        paths["report"] = write_report(data, figures, out)
    write_json(paths["results"], data)
    return paths
