"""Detector corrections in the scan: time against the uncorrected demo, memory of weighted input.

1. The README demo's scan (24 histograms, 1000 toys) on its data set as an ideal detector sees
   it, against the same scan corrected for the realistic detector: per-label weights from the
   shipped correctionlib maps, two systematics, toys that relabel each event with probability
   w_b/(w_a + w_b) and draw the nuisances. Both in this process, the ratio printed (the issue
   asks for at most 3).
2. Peak memory of the scan (fill and ``--memory-toys`` toys) of a Parquet file of ``--events``
   weighted events (the corrected demo configuration, read in chunks of 1e6): corrected events
   with the same bins and weights share a unit, so memory follows the units, not the events.
   Each scan runs in a fresh process; the unweighted scan of the same file is the reference.

Run: ``python benchmarks/bench_corrections.py [--toys 1000] [--events 2000000]
[--memory-toys 50] [--skip-memory]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from asymscan.config import config_from_dict
from asymscan.scan import build_cells, scan_cells
from asymscan.scan.demo import demo_config, demo_events


def timed_scan(events: dict, corrected: bool, toys: int) -> tuple[float, object]:
    cfg = config_from_dict(
        demo_config("events.parquet", toys=toys, seed=1, corrections=corrected)
    )
    start = time.perf_counter()
    result = scan_cells(build_cells([events], cfg), cfg)
    return time.perf_counter() - start, result


def synthetic_file(path: Path, n: int, rng: np.random.Generator) -> None:
    """e-mu-like events with the demo's columns (continuous pT and eta)."""
    pq.write_table(
        pa.table(
            {
                "lead_flavour": np.where(rng.random(n) < 0.5, 11, 13).astype(np.int32),
                "lep1_pt": rng.exponential(30, n) + 20,
                "lep2_pt": rng.exponential(15, n) + 15,
                "lep1_eta": rng.uniform(-2.3, 2.3, n),
                "lep2_eta": rng.uniform(-2.3, 2.3, n),
                "m_coll": rng.exponential(50, n) + 20,
                "met": rng.exponential(25, n),
                "n_jets": rng.poisson(1.0, n).astype(np.int32),
            }
        ),
        path,
        row_group_size=250_000,
    )


_CHILD = """
import json, resource, sys, time
from asymscan.config import config_from_dict
from asymscan.scan import fill_cells, scan_cells
from asymscan.scan.demo import demo_config
path, corrected, toys = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
cfg = config_from_dict(demo_config(path, toys=toys, seed=1, corrections=corrected))
start = time.perf_counter()
cells = fill_cells(cfg)
scan_cells(cells, cfg)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "units": cells.n_units, "events": cells.n_events}))
"""


def fill_in_fresh_process(path: Path, corrected: bool, toys: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), "1" if corrected else "0", str(toys)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--memory-toys", type=int, default=50)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()

    print(f"1. the demo scan, {args.toys} toys, one core")
    ideal = demo_events(lumi=20, signal="taumu", branching_ratio=0.02, seed=1)
    real = demo_events(
        lumi=20, signal="taumu", branching_ratio=0.02, seed=1, detector="realistic"
    )
    t_plain, r_plain = timed_scan(ideal, corrected=False, toys=args.toys)
    t_corr, r_corr = timed_scan(real, corrected=True, toys=args.toys)
    print(
        f"   ideal detector, uncorrected: {t_plain:6.1f} s  "
        f"({r_plain.cells.n_units} units, max |N_sigma| {r_plain.max_abs_nsigma:.2f})"
    )
    print(
        f"   realistic detector, corrected + 2 systematics: {t_corr:6.1f} s  "
        f"({r_corr.cells.n_units} units, max |N_sigma| {r_corr.max_abs_nsigma:.2f})"
    )
    print(f"   ratio corrected / uncorrected: {t_corr / t_plain:.2f}")

    if args.skip_memory:
        return
    print(
        f"2. the scan from Parquet, {args.events:.3g} events, {args.memory_toys} toys, "
        "fresh processes"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.parquet"
        synthetic_file(path, args.events, np.random.default_rng(1))
        plain = fill_in_fresh_process(path, corrected=False, toys=args.memory_toys)
        corr = fill_in_fresh_process(path, corrected=True, toys=args.memory_toys)
    for name, r in (("unweighted", plain), ("corrected + 2 systematics", corr)):
        print(
            f"   {name:28s} {r['seconds']:6.1f} s, peak RSS {r['peak_mb']:7.0f} MB, "
            f"{r['units']} units for {r['events']} events"
        )
    print(
        f"   ratio of peak memory corrected / unweighted: {corr['peak_mb'] / plain['peak_mb']:.2f}"
    )


if __name__ == "__main__":
    main()
