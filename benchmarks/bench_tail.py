"""The extrapolated global p-value at Z ~ 5 on the demo scan, against brute-force toys.

The demo's data set (20 fb^-1 of the shipped e-mu sample with H -> tau mu at BR 2%; 3
observables, 3 jet categories + inclusive, 1-D and 2-D: 24 histograms, ~1.3e6 windows) is
scanned once. A threshold u on max |N_sigma| with a global p-value near Z = 5 is found, and
:func:`asymscan.calibrate.tail.extrapolated_p` is timed there. The brute-force cost is the time
per label-exchange toy (:func:`asymscan.calibrate.exchange.toy_shard`, timed on
``--toys`` toys) times the number of toys that would give the same relative error on p,
n = (1 - p) / (p * rel^2). Printed: both times and their ratio.

Run: ``python benchmarks/bench_tail.py [--samples 400] [--toys 200] [--z 5]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from asymscan.calibrate.exchange import toy_shard
from asymscan.calibrate.tail import extrapolated_p
from asymscan.cli.scan import DEMO
from asymscan.config import config_from_dict
from asymscan.scan import build_cells
from asymscan.scan.demo import demo_config, demo_events
from asymscan.stats.significance import p_from_z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--toys", type=int, default=200)
    parser.add_argument("--z", type=float, default=5.0)
    args = parser.parse_args()

    start = time.perf_counter()
    events = demo_events(
        lumi=DEMO["lumi"],
        signal=DEMO["signal"],
        branching_ratio=DEMO["branching_ratio"],
        seed=DEMO["seed"],
    )
    config = config_from_dict(demo_config("demo.parquet", toys=0, seed=1))
    cells = build_cells([events], config)
    min_entries = config.scan.min_entries
    print(
        f"demo scan: {cells.n_events} events, {cells.n_units} units, "
        f"{len(cells.histograms)} histograms, {cells.n_bins} bins "
        f"({time.perf_counter() - start:.1f} s to build)"
    )

    # the threshold of global Z ~ args.z: the Bonferroni sum's Z is within ~0.3 of it
    target = float(p_from_z(args.z))
    u = args.z + 2.0
    for _ in range(3):
        rough = extrapolated_p(cells, u, min_entries=min_entries, n_samples=64, seed=7)
        u += (args.z - rough.z) / 1.1  # dZ/du ~ 1.1 in this tail
    print(f"threshold u = {u:.3f} (rough Z {rough.z:.2f})")

    start = time.perf_counter()
    tail = extrapolated_p(
        cells, u, min_entries=min_entries, n_samples=args.samples, seed=1
    )
    t_tail = time.perf_counter() - start
    rel = tail.p_value_error / tail.p_value
    print(
        f"extrapolated: p = {tail.p_value:.3g} +- {tail.p_value_error:.2g} "
        f"(rel. {rel:.1%}), Z = {tail.z:.3f}, Bonferroni {tail.bonferroni:.3g}, "
        f"{tail.n_windows} windows, {tail.n_samples} samples in {t_tail:.1f} s "
        f"({t_tail / tail.n_samples * 1e3:.1f} ms per sample)"
    )

    start = time.perf_counter()
    toy_shard(cells, np.random.SeedSequence(3), args.toys, min_entries=min_entries)
    per_toy = (time.perf_counter() - start) / args.toys
    needed = (1 - tail.p_value) / (tail.p_value * rel**2)
    t_toys = per_toy * needed
    print(
        f"brute force: {per_toy * 1e3:.1f} ms per toy x {needed:.2g} toys for the same "
        f"relative error = {t_toys:.3g} s ({t_toys / 86400:.3g} days on one core); "
        f"target p {target:.2g}"
    )
    print(f"ratio (brute force / extrapolated): {t_toys / t_tail:.3g}")


if __name__ == "__main__":
    main()
