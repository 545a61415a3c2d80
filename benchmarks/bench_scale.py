"""How the scan grows with the number of histograms, events and toys, on 1 and 2 workers.

Synthetic e-mu-like events (a fair-coin label, ``--observables`` continuous observables, and
``--families`` families of selection categories of 3 each: the scan fills the inclusive
selection, every category and every combination of categories of different families). For
each size, in a fresh process: the time to fill the cells, the time of the toys (in this
process and on 2 worker processes), the scan throughput (windows tested x toys per second) and
the peak resident memory. Printed as a table, with the 2-worker speed-up as a ratio.

Run: ``python benchmarks/bench_scale.py [--events 200000] [--toys 500]
[--observables 4 8] [--families 1 2]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time

import numpy as np

from asymscan.config import config_from_dict
from asymscan.execution import executor
from asymscan.scan import build_cells, scan_cells


def make(n_events: int, n_obs: int, n_families: int, toys: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    events = {"flav": np.where(rng.random(n_events) < 0.5, 11, 13)}
    observables = []
    for i in range(n_obs):
        events[f"x{i}"] = rng.exponential(1.0 + 0.2 * i, n_events)
        observables.append({"name": f"x{i}", "bins": 12, "range": [0.0, 4.0]})
    selections = []
    for f in range(n_families):
        events[f"c{f}"] = rng.integers(0, 3, n_events)
        selections.append(
            {
                "name": f"f{f}",
                "categories": {f"k{j}": f"c{f} == {j}" for j in range(3)},
            }
        )
    config = config_from_dict(
        {
            "data": {"paths": ["events.parquet"]},
            "symmetry": {"name": "s", "a": "flav == 11", "b": "flav == 13"},
            "selections": selections,
            "observables": observables,
            "scan": {
                "dims": [1, 2],
                "min_entries": 25,
                "toys": toys,
                "seed": seed,
                "tail_samples": 0,
            },
        }
    )
    return events, config


def one(n_events: int, n_obs: int, n_families: int, toys: int) -> dict:
    events, config = make(n_events, n_obs, n_families, toys)
    start = time.perf_counter()
    cells = build_cells([events], config)
    fill = time.perf_counter() - start
    timings = {}
    for workers in (None, 2):
        with executor(workers) as pool:
            start = time.perf_counter()
            result = scan_cells(cells, config, executor=pool)
            timings[workers or 1] = time.perf_counter() - start
    tested = int(result.windows_tested.sum())
    return {
        "events": n_events,
        "observables": n_obs,
        "families": n_families,
        "histograms": len(cells.histograms),
        "units": cells.n_units,
        "windows": tested,
        "fill_s": fill,
        "scan_1_s": timings[1],
        "scan_2_s": timings[2],
        "rate_1": tested * toys / timings[1],
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[200_000])
    parser.add_argument("--toys", type=int, default=500)
    parser.add_argument("--observables", type=int, nargs="+", default=[4, 8])
    parser.add_argument("--families", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--one", nargs=4, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one)))
        return
    head = (
        f"{'events':>8} {'obs':>4} {'sel':>4} {'hists':>6} {'units':>8} {'windows':>10} "
        f"{'fill s':>7} {'1 worker s':>10} {'2 workers s':>11} {'speed-up':>8} "
        f"{'win x toys/s':>13} {'peak MB':>8}"
    )
    print(head)
    for n, o, f in itertools.product(args.events, args.observables, args.families):
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            str(o),
            str(f),
            str(args.toys),
        ]
        row = json.loads(
            subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        )
        selections = row["histograms"] // (o + o * (o - 1) // 2)
        print(
            f"{row['events']:>8} {o:>4} {selections:>4} {row['histograms']:>6} "
            f"{row['units']:>8} {row['windows']:>10} {row['fill_s']:>7.1f} "
            f"{row['scan_1_s']:>10.1f} {row['scan_2_s']:>11.1f} "
            f"{row['scan_1_s'] / row['scan_2_s']:>7.2f}x {row['rate_1']:>13.3g} "
            f"{row['peak_mb']:>8.0f}"
        )


if __name__ == "__main__":
    main()
