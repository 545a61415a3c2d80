"""The binned sensitivity study (20000 toys, three tests, both hypotheses) against per-toy scipy fits.

Fast path: ``asymscan.studies.binned_study`` -- Poisson toys, N_sigma (full and window),
q0^L1 and q0^L2 for every toy in vectorized calls.
Baseline: what one would write with scipy, one fit per toy: q0^L2 with each bin's background
profiled in closed form and mu found by ``scipy.optimize.minimize_scalar`` on the profile
likelihood. The baseline is timed on a subset of toys and extrapolated to both hypotheses'
20000 toys (it only covers q0^L2, so the ratio understates the gain on the whole study).

Run: ``python benchmarks/bench_binned_study.py [--toys 20000] [--baseline-toys 300]``
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse
import time

import numpy as np
from scipy import optimize
from scipy.special import xlogy

from asymscan import q0_two_sample, templates
from asymscan.calibrate import poisson_toys
from asymscan.studies import binned_study


def profile_nll(mu: float, b: np.ndarray, a: np.ndarray, s: np.ndarray) -> float:
    """-ln L2 with each bin's background at its closed-form maximum for this mu."""
    u = mu * s
    n = a + b
    bkg = (n - 2 * u + np.sqrt((n - 2 * u) ** 2 + 8 * a * u)) / 4
    m = bkg + u
    return float(np.sum(m - xlogy(b, m) + bkg - xlogy(a, bkg)))


def scipy_q0_l2(b: np.ndarray, a: np.ndarray, s: np.ndarray) -> float:
    """Signed q0^L2 of one toy with a scipy 1-D fit."""
    lo = -np.sum(a) / np.sum(s) * 0.999
    hi = np.sum(b) / np.sum(s)
    res = optimize.minimize_scalar(
        profile_nll,
        bounds=(lo, hi),
        args=(b, a, s),
        method="bounded",
        options={"xatol": 1e-6},
    )
    q = 2 * (profile_nll(0.0, b, a, s) - res.fun)
    return float(np.sign(res.x) * max(q, 0.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--toys", type=int, default=20000)
    parser.add_argument("--baseline-toys", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    t, s = templates.flat((28, 28), 1e4), templates.rectangle((28, 28), 6)

    times = []
    for i in range(args.repeat):
        start = time.perf_counter()
        study = binned_study(t, s, n_toys=args.toys, rng=i)
        times.append(time.perf_counter() - start)
    fast = min(times)
    print(
        f"fast study: {args.toys} toys x 2 hypotheses x 4 statistics: best of {args.repeat}: "
        f"{fast:.2f} s (all: {', '.join(f'{x:.2f}' for x in times)})"
    )

    toys = poisson_toys(t, s, study.mu_inject, n=args.baseline_toys, rng=99)
    start = time.perf_counter()
    ref = np.array(
        [scipy_q0_l2(b, a, s) for b, a in zip(toys.b_signal, toys.a, strict=True)]
    )
    per_toy = (time.perf_counter() - start) / args.baseline_toys
    start = time.perf_counter()
    vec = q0_two_sample(toys.b_signal, toys.a, s).q0
    vec_time = time.perf_counter() - start
    print(
        f"check: max |q0 fast - q0 scipy| on {args.baseline_toys} toys = {np.max(np.abs(vec - ref)):.2e}"
    )

    baseline = per_toy * 2 * args.toys
    print(
        f"baseline: scipy q0^L2 per toy {per_toy * 1e3:.2f} ms -> {2 * args.toys} fits = {baseline:.1f} s "
        f"(extrapolated from {args.baseline_toys} toys)"
    )
    print(
        f"q0^L2 alone on {args.baseline_toys} toys: vectorized {vec_time * 1e3:.1f} ms vs scipy "
        f"{per_toy * args.baseline_toys * 1e3:.0f} ms: ratio {per_toy * args.baseline_toys / vec_time:.0f}x"
    )
    print(
        f"RATIO whole fast study / baseline q0^L2 fits only: {baseline / fast:.1f}x faster"
    )


if __name__ == "__main__":
    main()
