"""Loading the shipped e-mu sample: ``asymscan.samples.emu`` cold and warm, against a full read.

1. Cold: a fresh interpreter imports ``asymscan.samples`` and draws the 20 fb^-1
   Standard-Model data set with all columns (reading and decompressing every pool file).
2. Warm: the same draw again in the same process (pool tables cached).
3. Baseline: reading every pool file in full with ``pyarrow.parquet.read_table`` and
   converting it to numpy, which is the floor of any loader without a cache.

Run: ``python benchmarks/bench_samples.py [--lumi 20] [--repeat 5]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

_COLD = """
import time
t0 = time.perf_counter()
from asymscan.samples import emu
t1 = time.perf_counter()
data = emu({lumi}, rng=0)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, len(data["process"]))
"""


def _cold(lumi: float) -> tuple[float, float, int]:
    out = subprocess.run(
        [sys.executable, "-c", _COLD.format(lumi=lumi)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1]), int(out[2])


def _full_read() -> float:
    import pyarrow.parquet as pq

    from asymscan.samples import DEFAULT_POOLS

    t0 = time.perf_counter()
    for path in sorted(DEFAULT_POOLS.glob("*.parquet")):
        for column in pq.read_table(path).columns:
            column.to_numpy()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lumi", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from asymscan.samples import DEFAULT_POOLS, emu

    size = sum(p.stat().st_size for p in DEFAULT_POOLS.glob("*.parquet"))
    print(f"shipped pools: {size / 2**20:.1f} MiB in {DEFAULT_POOLS}")
    cold = [_cold(args.lumi) for _ in range(args.repeat)]
    imp = min(c[0] for c in cold)
    load = min(c[1] for c in cold)
    print(
        f"cold emu({args.lumi:g}): import {imp:.2f} s + draw {load:.2f} s "
        f"({cold[0][2]} events; best of {args.repeat} fresh interpreters)"
    )
    emu(args.lumi, rng=0)
    warm = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        emu(args.lumi, rng=1)
        warm.append(time.perf_counter() - t0)
    print(f"warm emu({args.lumi:g}): {min(warm):.3f} s (pool tables cached)")
    full = min(_full_read() for _ in range(args.repeat))
    print(f"baseline, every pool file read in full: {full:.2f} s")
    print(f"ratio cold draw / full read: {load / full:.2f}")
    print(f"ratio cold draw / warm draw: {load / min(warm):.1f}")


if __name__ == "__main__":
    main()
