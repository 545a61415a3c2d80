"""Brute-force global p-values of the small layouts of ``tests/calibrate/tail_layouts.py``.

Draws ``--toys`` label-exchange toys per layout (default 1e7) and stores, for the toy
quantiles at p = 1e-2 ... 1e-6, the threshold u (a toy's maximum |N_sigma|), the number k of
toys whose maximum is >= u, and the number of toys, in ``tests/calibrate/brute_force_tail.json``.
``tests/calibrate/test_tail.py`` compares the extrapolated tail of
:mod:`asymscan.calibrate.tail` with these figures, down to p ~ 1e-6, where no test could run
the toys itself.

Run: ``python scripts/brute_force_tail.py [--toys 10000000] [--workers 2] [--layouts 1d 2d]``
(~20 minutes on 2 cores for all layouts at 1e7 toys).
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "calibrate"))

from tail_layouts import LAYOUTS, brute_force_maxima, layout_cells

OUT = ROOT / "tests" / "calibrate" / "brute_force_tail.json"
LEVELS = (1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 3e-6, 1e-6)
SHARD = 250_000


def _shard(item: tuple[str, int, np.random.SeedSequence]) -> np.ndarray:
    name, size, seed = item
    cells = layout_cells(name)
    return brute_force_maxima(cells, size, seed)


def figures(maxima: np.ndarray) -> list[dict]:
    """Threshold, exceedances and toys at each level that the toys resolve (k >= 5)."""
    ordered = np.sort(maxima)[::-1]
    n = ordered.size
    out = []
    for level in LEVELS:
        k = round(level * n)
        if k < 5:
            continue
        u = float(ordered[k - 1])
        out.append({"level": level, "u": u, "k": int((maxima >= u).sum()), "n": n})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    stored = json.loads(args.out.read_text()) if args.out.exists() else {}
    sizes = [SHARD] * (args.toys // SHARD) + (
        [args.toys % SHARD] if args.toys % SHARD else []
    )
    with ProcessPoolExecutor(args.workers) as pool:
        for index, name in enumerate(args.layouts):
            start = time.perf_counter()
            root = np.random.SeedSequence([args.seed, list(LAYOUTS).index(name)])
            items = [
                (name, k, s) for k, s in zip(sizes, root.spawn(len(sizes)), strict=True)
            ]
            maxima = np.concatenate(list(pool.map(_shard, items)))
            stored[name] = {
                "toys": int(maxima.size),
                "seed": [args.seed, list(LAYOUTS).index(name)],
                "figures": figures(maxima),
            }
            args.out.write_text(json.dumps(stored, indent=1) + "\n")
            print(
                f"[{index + 1}/{len(args.layouts)}] {name}: {maxima.size:.0e} toys in "
                f"{time.perf_counter() - start:.0f} s; largest {maxima.max():.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
