"""Benchmark: ``scan_windows`` (summed-area tables) against a per-window numpy loop.

What it measures
----------------
The throughput, in windows per second, of :func:`asymscan.scan_windows` when it evaluates N_sigma
(Eq. (2) of Birman et al. 2022, applied to each window) of *every* axis-aligned window of *every*
size, for a batch of Poisson toys, next to the "obvious" implementation a user would write: a
Python loop over window sizes and positions that computes each window's N_sigma with numpy,
vectorised over the toys (so the baseline is already batched, which flatters it). Two
baselines are timed:

* ``naive``: Eq. (2) evaluated on the window slices of A and B, ``sum((B-A)/sqrt(A+B)) / sqrt(M)``;
* ``terms``: the per-bin terms ``(B-A)/sqrt(A+B)`` and the non-empty-bin mask computed once, then
  each window is a slice sum (the cheapest honest loop).

The main case is the paper's 28x28 histogram with T entries per bin (default 1e4, flat) and
A, B ~ Poisson(T), batched over ``--toys`` toys (default 1000): 406 x 406 = 164,836 windows per
toy. The full per-window loop would take minutes, so by default it is timed on a uniform random
sample of windows (drawn over all sizes and positions, so the mix of window areas is the same as
in the full scan) on all toys, and its rate is extrapolated per window; the printout says so.
``--full-baseline`` runs the loop over every window instead.

Correctness is cross-checked in the same process: the fast scan's ``WindowScan.map`` values agree
with both baselines on the sampled windows for every toy, and for a few toys the best N_sigma (over
all windows and per size) agrees with an independent sliding-window sum without prefix sums.

The process pins the thread pools to one thread (``OMP_NUM_THREADS=1`` etc., set before numpy is
imported; numpy's elementwise operations are single-threaded anyway) and reports CPU time / wall
time of the fast scan as the single-thread check. A 1-D (200 bins) and a 3-D (12x12x12) case are
timed too, for information.

How to run
----------
From the repository root::

    python benchmarks/bench_scan_windows.py
    python benchmarks/bench_scan_windows.py --toys 1000 --repeat 5
    python benchmarks/bench_scan_windows.py --toys 50 --full-baseline

It takes about a minute with the defaults. Timings on shared machines are noisy: the best of
``--repeat`` runs is the headline number, the median is printed next to it.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ[_var] = "1"

import argparse
import itertools
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import asymscan
from asymscan import scan_windows

TARGET = 1e8  # windows per second on one core, 28x28 x 1000 toys


# --------------------------------------------------------------------------------------------
# Window bookkeeping
# --------------------------------------------------------------------------------------------


def all_sizes(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every window size, in the order ``scan_windows(sizes="all")`` uses."""
    return list(itertools.product(*(range(1, n + 1) for n in shape)))


def positions_per_size(shape: tuple[int, ...]) -> np.ndarray:
    return np.array(
        [
            np.prod([n - k + 1 for n, k in zip(shape, s, strict=True)])
            for s in all_sizes(shape)
        ]
    )


def n_windows(shape: tuple[int, ...]) -> int:
    """Windows per toy: prod over axes of n (n + 1) / 2."""
    return int(np.prod([n * (n + 1) // 2 for n in shape]))


@dataclass(frozen=True)
class Window:
    size: tuple[int, ...]
    start: tuple[int, ...]

    def slices(self) -> tuple[slice, ...]:
        return (
            Ellipsis,
            *(slice(i, i + k) for i, k in zip(self.start, self.size, strict=True)),
        )


def sample_windows(
    shape: tuple[int, ...], n: int, rng: np.random.Generator
) -> list[Window]:
    """``n`` distinct windows drawn uniformly among all windows of all sizes (all if n >= total)."""
    sizes = all_sizes(shape)
    counts = positions_per_size(shape)
    total = int(counts.sum())
    flat = (
        np.arange(total)
        if n >= total
        else np.sort(rng.choice(total, size=n, replace=False))
    )
    edges = np.cumsum(counts)
    which = np.searchsorted(edges, flat, side="right")
    out = []
    for f, w in zip(flat, which, strict=True):
        size = sizes[w]
        offset = int(f - (edges[w] - counts[w]))
        grid = tuple(s - k + 1 for s, k in zip(shape, size, strict=True))
        out.append(Window(size, tuple(int(i) for i in np.unravel_index(offset, grid))))
    return out


# --------------------------------------------------------------------------------------------
# Baselines: a Python loop over windows, numpy over the toys
# --------------------------------------------------------------------------------------------


def baseline_naive(
    b: np.ndarray, a: np.ndarray, windows: list[Window], nd: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Eq. (2) on each window's slices of A and B; keeps the running best per toy.

    Returns the N_sigma of every given window (``(n_windows, n_toys)``), and the best N_sigma and
    the index of the best window per toy.
    """
    axes = tuple(range(-nd, 0))
    n = b.shape[0]
    values = np.empty((len(windows), n))
    best = np.full(n, -np.inf)
    best_idx = np.full(n, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for w, win in enumerate(windows):
            sl = win.slices()
            wb, wa = b[sl], a[sl]
            var = wa + wb
            used = var > 0
            terms = np.where(used, (wb - wa) / np.sqrt(var), 0.0)
            m = used.sum(axis=axes)
            ns = np.where(m > 0, terms.sum(axis=axes) / np.sqrt(m), np.nan)
            values[w] = ns
            better = ns > best
            best[better] = ns[better]
            best_idx[better] = w
    return values, best, best_idx


def baseline_terms(
    b: np.ndarray, a: np.ndarray, windows: list[Window], nd: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-bin terms of Eq. (2) computed once; each window is then two slice sums."""
    axes = tuple(range(-nd, 0))
    n = b.shape[0]
    var = a + b
    used = var > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(used, (b - a) / np.sqrt(np.where(used, var, 1.0)), 0.0)
    used_f = used.astype(float)
    values = np.empty((len(windows), n))
    best = np.full(n, -np.inf)
    best_idx = np.full(n, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        for w, win in enumerate(windows):
            sl = win.slices()
            m = used_f[sl].sum(axis=axes)
            ns = np.where(m > 0, terms[sl].sum(axis=axes) / np.sqrt(m), np.nan)
            values[w] = ns
            better = ns > best
            best[better] = ns[better]
            best_idx[better] = w
    return values, best, best_idx


BASELINES: dict[str, Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
    "naive": baseline_naive,
    "terms": baseline_terms,
}


def sliding_check(
    b: np.ndarray, a: np.ndarray, nd: int
) -> tuple[np.ndarray, np.ndarray]:
    """Best N_sigma overall and per size from sliding-window sums (no prefix sums), per toy."""
    from numpy.lib.stride_tricks import sliding_window_view

    shape = b.shape[-nd:]
    var = a + b
    used = var > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(used, (b - a) / np.sqrt(np.where(used, var, 1.0)), 0.0)
    used_f = used.astype(float)
    axes = tuple(range(-nd, 0))
    per_size = np.full((b.shape[0], *shape), np.nan)
    for size in all_sizes(shape):
        d = sliding_window_view(terms, size, axis=axes).sum(axis=tuple(range(-nd, 0)))
        m = sliding_window_view(used_f, size, axis=axes).sum(axis=tuple(range(-nd, 0)))
        with np.errstate(divide="ignore", invalid="ignore"):
            ns = np.where(m > 0.5, d / np.sqrt(m), np.nan).reshape(b.shape[0], -1)
        per_size[(slice(None), *(k - 1 for k in size))] = np.where(
            np.isnan(ns), -np.inf, ns
        ).max(axis=1)
    per_size[np.isneginf(per_size)] = np.nan
    return np.nanmax(per_size.reshape(b.shape[0], -1), axis=1), per_size


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def time_fast(
    b: np.ndarray, a: np.ndarray, nd: int, repeat: int
) -> tuple[list[float], float, object]:
    """Wall times of ``scan_windows`` over all sizes, and CPU/wall of the fastest run."""
    walls, ratio, res = [], 0.0, None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        res = scan_windows(b, a, ndim=nd, sizes="all")
        t1, c1 = time.perf_counter(), time.process_time()
        if not walls or t1 - t0 < min(walls):
            ratio = (c1 - c0) / (t1 - t0)
        walls.append(t1 - t0)
    return walls, ratio, res


def toys(
    shape: tuple[int, ...], n: int, mean: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    t = np.full(shape, mean)
    a = rng.poisson(t, size=(n, *shape)).astype(float)
    b = rng.poisson(t, size=(n, *shape)).astype(float)
    return b, a


def fmt_rate(x: float) -> str:
    return f"{x:10.3e} windows/s"


def run_case(
    label: str,
    shape: tuple[int, ...],
    args: argparse.Namespace,
    rng: np.random.Generator,
    *,
    repeat: int,
    n_sample: int,
    check_toys: int,
    headline: bool,
) -> dict[str, float]:
    nd = len(shape)
    b, a = toys(shape, args.toys, args.mean, rng)
    per_toy = n_windows(shape)
    total = per_toy * args.toys
    print(
        f"\n=== {label}: {'x'.join(map(str, shape))} bins, {args.toys} toys, T = {args.mean:g} per bin ==="
    )
    print(
        f"windows per toy: {per_toy:,}   total windows: {total:,}   sizes: {len(all_sizes(shape))}"
    )

    # Fast scan, best of `repeat`.
    scan_windows(b[:2], a[:2], ndim=nd)  # warm-up (imports, page faults)
    walls, cpu_ratio, res = time_fast(b, a, nd, repeat)
    assert res.n_windows == per_toy, (res.n_windows, per_toy)
    fast_best, fast_med = min(walls), statistics.median(walls)
    fast_rate = total / fast_best
    print(
        f"scan_windows (summed-area): best {fast_best:8.3f} s  median {fast_med:8.3f} s"
        f"  over {repeat} run(s) -> {fmt_rate(fast_rate)} (median {total / fast_med:.3e})"
    )
    print(
        f"  single-thread check: CPU time / wall time of the best run = {cpu_ratio:.2f}"
        " (> 1: extra threads; < 1: the core was shared with other work)"
    )

    # Baselines on a uniform sample of windows (or all of them), every toy.
    windows = sample_windows(shape, n_sample, rng)
    full = len(windows) == per_toy
    rates = {}
    for name, fn in BASELINES.items():
        t0 = time.perf_counter()
        values, best, _ = fn(b, a, windows, nd)
        dt = time.perf_counter() - t0
        done = len(windows) * args.toys
        rate = done / dt
        rates[name] = rate
        how = (
            "all windows"
            if full
            else f"{len(windows):,} sampled windows x {args.toys} toys, extrapolated per window"
        )
        print(
            f"baseline {name:5s} (per-window loop): {dt:8.3f} s on {how} -> {fmt_rate(rate)}"
            + ("" if full else f"; full scan would take ~{total / rate:,.1f} s")
        )
        # Cross-check: the fast scan's map() equals the loop on every sampled window and toy.
        worst, cached = 0.0, {}
        for w, win in enumerate(windows):
            if (
                win.size not in cached
            ):  # windows come sorted by size: keep one map at a time
                cached = {win.size: res.map(win.size)}
            fast = cached[win.size][(slice(None), *win.start)]
            np.testing.assert_allclose(
                fast, values[w], rtol=1e-9, atol=1e-9, equal_nan=True
            )
            worst = max(worst, float(np.nanmax(np.abs(fast - values[w]), initial=0.0)))
        if full:
            np.testing.assert_allclose(res.best_nsigma, best, rtol=1e-9, atol=1e-9)
        print(
            f"  cross-check vs fast on {len(windows):,} windows x {args.toys} toys: OK (max |diff| {worst:.1e})"
        )

    # Independent check of the maxima on a few toys (sliding-window sums, no prefix sums).
    k = min(check_toys, args.toys)
    ref_best, ref_per_size = sliding_check(b[:k], a[:k], nd)
    np.testing.assert_allclose(res.best_nsigma[:k], ref_best, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        res.best_per_size[:k], ref_per_size, rtol=1e-9, atol=1e-9, equal_nan=True
    )
    print(f"  best N_sigma and best per size vs sliding-window sums on {k} toys: OK")

    for name, rate in rates.items():
        print(f"ratio fast / baseline {name}: {fast_rate / rate:,.0f}x")
    if headline:
        verdict = "meets" if fast_rate >= TARGET else "BELOW"
        print(f"target {TARGET:.0e} windows/s on one core: {verdict} ({fast_rate:.3e})")
    return {"fast": fast_rate, **rates}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--toys",
        type=int,
        default=1000,
        help="Poisson toys in the batch (default 1000)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="timed runs of the fast scan; best is kept (default 3)",
    )
    parser.add_argument(
        "--mean",
        type=float,
        default=1e4,
        help="expected entries T per bin (default 1e4)",
    )
    parser.add_argument(
        "--baseline-windows",
        type=int,
        default=2000,
        help="windows sampled for the per-window loop, 2-D and 1-D (default 2000; 3-D: half)",
    )
    parser.add_argument(
        "--full-baseline", action="store_true", help="run the loop over every window"
    )
    parser.add_argument(
        "--check-toys",
        type=int,
        default=3,
        help="toys for the sliding-window check (default 3)",
    )
    parser.add_argument(
        "--no-extra", action="store_true", help="skip the 1-D and 3-D cases"
    )
    parser.add_argument("--seed", type=int, default=20220101)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    print(
        f"asymscan {asymscan.__version__}, numpy {np.__version__}, Python {platform.python_version()}, {platform.machine()}"
    )
    print(
        f"threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} (numpy elementwise ops are single-threaded)"
    )
    big = 10**9 if args.full_baseline else None
    run_case(
        "2-D (paper's 28x28)",
        (28, 28),
        args,
        rng,
        repeat=args.repeat,
        n_sample=big or args.baseline_windows,
        check_toys=args.check_toys,
        headline=True,
    )
    if not args.no_extra:
        extra = {"1-D": (200,), "3-D": (12, 12, 12)}
        for label, shape in extra.items():
            run_case(
                f"{label} (information)",
                shape,
                args,
                rng,
                repeat=max(1, min(args.repeat, 2)),
                n_sample=big
                or (
                    args.baseline_windows // 2
                    if len(shape) == 3
                    else args.baseline_windows
                ),
                check_toys=min(
                    args.check_toys, 2 if len(shape) == 3 else args.check_toys
                ),
                headline=False,
            )


if __name__ == "__main__":
    main()
