"""The data-directed scan: events to histograms, and label-exchange toys, against plain baselines.

1. Events per second from Parquet to the scan's histograms (read, split by the symmetry, fill
   every selection x observable-set histogram), on one core.
2. The scan of a demo-sized dataset (2e5 events, 3 observables, 3 jet categories + inclusive,
   1-D and 2-D: 24 histograms) with its toys, against refilling every histogram for every toy
   with boost-histogram (the baseline is timed on a few toys and extrapolated per toy).
3. With ``--demo``: step 2 runs on the README demo's data set (20 fb^-1 from the shipped
   PYTHIA sample, H -> tau mu at BR 2%; ``lep1_pt`` in the role of ``lead_pt``), and
   ``asymscan demo`` is timed end to end in a fresh process (imports, drawing the data set,
   the scan with 1000 toys, plots, report), against the same run with every toy's
   histograms refilled (extrapolated with step 2's per-toy times).

Run: ``python benchmarks/bench_scan.py [--events 200000] [--toys 1000] [--baseline-toys 10]
[--demo]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import boost_histogram as bh
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from asymscan.calibrate.exchange import exchange_counts, max_abs_nsigma
from asymscan.config import config_from_dict
from asymscan.data.io import iter_events
from asymscan.scan import build_cells, fill_cells, scan_cells


def events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "flav": np.where(rng.random(n) < 0.5, 11, 13).astype(np.int32),
        "m_coll": rng.exponential(50, n) + 20,
        "lead_pt": rng.exponential(30, n) + 10,
        "met": rng.exponential(25, n),
        "n_jets": rng.poisson(1.0, n).astype(np.int32),
    }


def demo_events() -> dict[str, np.ndarray]:
    """The README demo's data set, in the column names of :func:`events`."""
    from asymscan.cli.scan import DEMO
    from asymscan.scan.demo import demo_events as draw

    ev = draw(
        lumi=DEMO["lumi"],
        signal=DEMO["signal"],
        branching_ratio=DEMO["branching_ratio"],
        seed=DEMO["seed"],
    )
    return {
        "flav": ev["lead_flavour"].astype(np.int32),
        "m_coll": ev["m_coll"],
        "lead_pt": ev["lep1_pt"],
        "met": ev["met"],
        "n_jets": ev["n_jets"].astype(np.int32),
    }


def config(paths: list[str], toys: int):
    return config_from_dict(
        {
            "data": {"paths": paths},
            "symmetry": {"name": "e-mu vs mu-e", "a": "flav == 11", "b": "flav == 13"},
            "selections": [
                {
                    "name": "jets",
                    "categories": {
                        "0j": "n_jets == 0",
                        "1j": "n_jets == 1",
                        "2j+": "n_jets >= 2",
                    },
                }
            ],
            "observables": [
                {"name": "m_coll", "bins": 28, "range": [30.0, 170.0]},
                {"name": "lead_pt", "bins": 26, "range": [10.0, 140.0]},
                {"name": "met", "bins": 20, "range": [0.0, 100.0]},
            ],
            "scan": {
                "dims": [1, 2],
                "min_entries": 25,
                "toys": toys,
                "seed": 1,
                "top": 20,
            },
        }
    )


def refill_baseline(
    cells, ev: dict[str, np.ndarray], labels: np.ndarray
) -> list[np.ndarray]:
    """What one would write without per-event cells: fill every histogram again for a toy."""
    keep = (ev["flav"] == 11) | (ev["flav"] == 13)
    sub = {k: v[keep] for k, v in ev.items()}
    out = []
    for h in cells.histograms:
        mask = labels.copy()
        for _family, cat in h.selection:
            mask &= {
                "0j": sub["n_jets"] == 0,
                "1j": sub["n_jets"] == 1,
                "2j+": sub["n_jets"] >= 2,
            }[cat]
        hist = bh.Histogram(
            *(bh.axis.Regular(len(e) - 1, e[0], e[-1]) for e in h.edges)
        )
        hist.fill(*(sub[o][mask] for o in h.observables))
        out.append(hist.values())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--fill-events", type=int, default=2_000_000)
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--baseline-toys", type=int, default=10)
    parser.add_argument(
        "--demo", action="store_true", help="scan the demo's data set; time the demo"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(1)

    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.parquet"
        pq.write_table(
            pa.table(events(args.fill_events, rng)), big, row_group_size=250_000
        )
        cfg = config([str(big)], 0)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            cells = build_cells(iter_events([big], cfg.columns()), cfg)
            times.append(time.perf_counter() - start)
        print(
            f"Parquet -> {len(cells.histograms)} histograms, {args.fill_events:,} events: "
            f"best of 3 {min(times):.2f} s = {args.fill_events / min(times):.3g} events/s on one core "
            f"(first run {times[0]:.2f} s, with one-off initialisation)"
        )
        with ProcessPoolExecutor(2) as pool:
            fill_cells(cfg, executor=pool, chunk_size=500_000)  # start the workers
            start = time.perf_counter()
            pooled = fill_cells(cfg, executor=pool, chunk_size=500_000)
            two = time.perf_counter() - start
        assert (pooled.cells != cells.cells).nnz == 0
        print(
            f"same with 2 worker processes (4 work items of 500k events): {two:.2f} s = "
            f"{args.fill_events / two:.3g} events/s ({min(times) / two:.2f}x one core)"
        )

    ev = demo_events() if args.demo else events(args.events, rng)
    n_events = len(ev["flav"])
    cfg = config(["memory"], args.toys)
    start = time.perf_counter()
    cells = build_cells([ev], cfg)
    t_cells = time.perf_counter() - start
    start = time.perf_counter()
    result = scan_cells(cells, cfg)
    t_scan = time.perf_counter() - start
    print(
        f"scan of {n_events:,} events{' (the demo data set)' if args.demo else ''}, {len(cells.histograms)} histograms, {args.toys} toys: "
        f"cells {t_cells:.2f} s + scan {t_scan:.2f} s = {t_cells + t_scan:.2f} s "
        f"(max |N_sigma| {result.max_abs_nsigma:.2f}, global p {result.p_value[0]:.3f})"
    )

    # Fast: counts of A per joint cell (multivariate hypergeometric) and one sparse product.
    rng_toys = np.random.default_rng(2)
    start = time.perf_counter()
    counts = exchange_counts(
        cells.multiplicity, int(cells.n_a.sum()), args.baseline_toys, rng_toys
    )
    cells.fill(counts)
    t_fast_fill = (time.perf_counter() - start) / args.baseline_toys
    # Baseline: relabel the events at random (same null) and refill every histogram.
    n_kept = int(cells.multiplicity.sum())
    start = time.perf_counter()
    for _ in range(args.baseline_toys):
        labels = np.zeros(n_kept, dtype=bool)
        labels[rng_toys.permutation(n_kept)[: int(cells.n_a.sum())]] = True
        refill_baseline(cells, ev, labels)
    t_refill = (time.perf_counter() - start) / args.baseline_toys
    # Both fill the same histograms: check on the observed labels.
    observed = cells.observed()["a"]
    keep = (ev["flav"] == 11) | (ev["flav"] == 13)
    for h, values in zip(
        cells.histograms,
        refill_baseline(cells, ev, ev["flav"][keep] == 11),
        strict=True,
    ):
        assert np.array_equal(h.bins(observed), values)
    start = time.perf_counter()
    max_abs_nsigma(cells, counts, min_entries=25)
    t_windows = (time.perf_counter() - start) / args.baseline_toys
    print(f"{n_kept:,} events in {cells.n_units:,} joint cells")
    print(
        f"per toy: relabel + fill by one sparse product {t_fast_fill * 1e3:.1f} ms vs relabel + refill "
        f"every histogram {t_refill * 1e3:.1f} ms (same histograms checked on the data): "
        f"{t_refill / t_fast_fill:.1f}x"
    )
    print(
        f"per toy: fill + all window scans {t_windows * 1e3:.1f} ms; "
        f"whole scan with refilling instead: ~{t_cells + t_scan + args.toys * (t_refill - t_fast_fill):.1f} s, "
        f"ratio {(t_cells + t_scan + args.toys * (t_refill - t_fast_fill)) / (t_cells + t_scan):.2f}x"
    )
    if args.demo:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "asymscan", "demo", "--out", tmp],
                check=True,
                capture_output=True,
            )
            t_demo = time.perf_counter() - start
        refill = t_demo + args.toys * (t_refill - t_fast_fill)
        print(
            f"asymscan demo end to end (fresh process, {args.toys} toys): {t_demo:.1f} s; "
            f"with every toy refilled instead: ~{refill:.1f} s, ratio {refill / t_demo:.2f}x"
        )


if __name__ == "__main__":
    main()
