"""Detector corrections in the scan: time against the uncorrected demo, memory of weighted input.

1. The README demo's scan (24 histograms, 1000 toys) on its data set as an ideal detector sees
   it, against the same scan corrected for the realistic detector: per-label weights from the
   shipped correctionlib maps, two systematics, toys that relabel each event with probability
   w_b/(w_a + w_b) and draw the nuisances. Both in this process, the ratio printed (the issue
   asks for at most 3).
2. Peak memory of the scan (fill and ``--memory-toys`` toys) of a Parquet file of ``--events``
   weighted events (the corrected demo configuration, read in chunks of 2.5e5): corrected
   events with the same bins and weights share a unit, so memory follows the units, not the
   events. Each scan runs in a fresh process; the unweighted scan of the same file is the
   reference, and the unweighted scan of the same events written in a single row group (read
   in row ranges of the group) shows that memory does not depend on the file's layout. With
   ``--cap GiB`` each scan runs under that address-space cap (``RLIMIT_AS``) with the
   environment of ``tests/scan/test_scan_memory_cap.py`` (one thread, one malloc arena,
   Arrow's system allocator), and a scan that runs out of memory is reported as such.

Run: ``python benchmarks/bench_corrections.py [--toys 1000] [--events 2000000]
[--memory-toys 50] [--cap 1.5] [--skip-memory] [--skip-timing]``
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


def synthetic_table(n: int, rng: np.random.Generator) -> pa.Table:
    """e-mu-like events with the demo's columns (continuous pT and eta)."""
    return pa.table(
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
    )


def synthetic_file(
    path: Path, n: int, rng: np.random.Generator, *, row_group_size: int = 250_000
) -> None:
    """:func:`synthetic_table` written to Parquet in row groups of ``row_group_size``."""
    pq.write_table(synthetic_table(n, rng), path, row_group_size=row_group_size)


# Peak RSS is VmHWM (this process image's), not ru_maxrss: a child's ru_maxrss starts from
# its parent's RSS at the fork, and the parent held the events while writing them.
_CHILD = """
import resource, sys
cap = float(sys.argv[4])
if cap:
    limit = int(cap * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
import json, time
from asymscan.config import config_from_dict
from asymscan.scan import fill_cells, scan_cells
from asymscan.scan.demo import demo_config
path, corrected, toys = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
cfg = config_from_dict(demo_config(path, toys=toys, seed=1, corrections=corrected))
start = time.perf_counter()
try:
    cells = fill_cells(cfg)
    scan_cells(cells, cfg)
except MemoryError as err:
    print(json.dumps({"error": f"{type(err).__name__}: {err}"}))
    raise SystemExit(0)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "vm_peak_mb": int(status["VmPeak"].split()[0]) / 1024,
                  "units": cells.n_units, "events": cells.n_events}))
"""

#: Under an address-space cap, reservations count: see tests/scan/test_scan_memory_cap.py.
CAPPED_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "1",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}


def fill_in_fresh_process(
    path: Path, corrected: bool, toys: int, cap: float | None = None
) -> dict:
    """The scan of ``path`` in a fresh process, under ``cap`` GiB of address space if given."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            str(path),
            "1" if corrected else "0",
            str(toys),
            str(cap or 0),
        ],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ | CAPPED_ENV if cap else None,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def timing(toys: int) -> None:
    print(f"1. the demo scan, {toys} toys, one core")
    ideal = demo_events(lumi=20, signal="taumu", branching_ratio=0.02, seed=1)
    real = demo_events(
        lumi=20, signal="taumu", branching_ratio=0.02, seed=1, detector="realistic"
    )
    t_plain, r_plain = timed_scan(ideal, corrected=False, toys=toys)
    t_corr, r_corr = timed_scan(real, corrected=True, toys=toys)
    print(
        f"   ideal detector, uncorrected: {t_plain:6.1f} s  "
        f"({r_plain.cells.n_units} units, max |N_sigma| {r_plain.max_abs_nsigma:.2f})"
    )
    print(
        f"   realistic detector, corrected + 2 systematics: {t_corr:6.1f} s  "
        f"({r_corr.cells.n_units} units, max |N_sigma| {r_corr.max_abs_nsigma:.2f})"
    )
    print(f"   ratio corrected / uncorrected: {t_corr / t_plain:.2f}")


def memory(events: int, toys: int, cap: float | None) -> None:
    capped = f", under a {cap:g} GiB address-space cap" if cap else ""
    print(
        f"2. the scan from Parquet, {events:.3g} events, {toys} toys, fresh processes"
        f"{capped}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        many, one = Path(tmp) / "events.parquet", Path(tmp) / "one_group.parquet"
        table = synthetic_table(events, np.random.default_rng(1))
        pq.write_table(table, many, row_group_size=250_000)
        pq.write_table(table, one, row_group_size=events)
        del table
        runs = {
            "unweighted": fill_in_fresh_process(many, False, toys, cap),
            "corrected + 2 systematics": fill_in_fresh_process(many, True, toys, cap),
            "unweighted, one row group": fill_in_fresh_process(one, False, toys, cap),
        }
    for name, r in runs.items():
        if "error" in r:
            print(f"   {name:28s} out of memory ({r['error']})")
            continue
        print(
            f"   {name:28s} {r['seconds']:6.1f} s, peak RSS {r['peak_mb']:7.0f} MB, "
            f"VmPeak {r['vm_peak_mb']:7.0f} MB, {r['units']} units for {r['events']} events"
        )
    plain, corr = runs["unweighted"], runs["corrected + 2 systematics"]
    if "error" not in plain and "error" not in corr:
        ratio = corr["peak_mb"] / plain["peak_mb"]
        print(f"   ratio of peak memory corrected / unweighted: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=1000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--memory-toys", type=int, default=50)
    parser.add_argument(
        "--cap", type=float, default=None, help="address-space cap (GiB) of the scans"
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()

    if not args.skip_timing:
        timing(args.toys)
    if not args.skip_memory:
        memory(args.events, args.memory_toys, args.cap)


if __name__ == "__main__":
    main()
