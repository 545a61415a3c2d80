"""Timing of the symmetrized NN test (Bressler et al.): fast fit vs the paper protocol, batching.

1. Time per symmetrized test at N ~ 2.2e5 (1-D, A and B from the exponential b0 = Exp(1) of
   Sec. III A, N_A = N_B): the fast fit with its defaults (bounded projected Newton on 512
   fine bins, 32 starts pruned to 8 after 30 iterations, 300 iterations) against the paper
   protocol (full-batch Adam, lr 1e-3, 5e5 epochs), the latter estimated as the measured time
   per Adam epoch on the same data times 5e5.
2. Throughput of ``--toys`` toys (N = ``--toy-events`` each) fitted in one stacked computation
   (``pooled_tests`` with ``batch_size = toys``) and in batches of 4, against one at a time,
   and how many toys get the same t every way: the problems are the same, but rounding that
   depends on the batch shape can steer the non-convex fit of a few toys to another optimum.

Run: ``python benchmarks/bench_nn.py [--repeat 3] [--toys 100] [--toy-events 20000]
[--device cpu|cuda]`` (about 15 minutes on one CPU thread with the defaults).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from asymscan.nn import FitOptions, pooled_tests
from asymscan.nn import fit as F
from asymscan.nn.models import Network

D = torch.float64
N_BIG = 220_000
EPOCHS_PAPER = 500_000


def _pairs(rng: np.random.Generator, n_pairs: int, n: int) -> list[tuple]:
    return [
        (
            rng.exponential(size=rng.poisson(n / 2)),
            rng.exponential(size=rng.poisson(n / 2)),
        )
        for _ in range(n_pairs)
    ]


def _adam_epoch_seconds(xa: np.ndarray, xb: np.ndarray, device: str) -> float:
    """Seconds per full-batch Adam epoch of the symmetrized loss (f and g together)."""
    x = np.concatenate([xa, xb])
    in_a = np.r_[np.ones(len(xa)), np.zeros(len(xb))]
    n_a, n_b = len(xa), len(xb)
    xt = torch.tensor(x, dtype=D, device=device)[:, None]
    ut = torch.tensor(
        np.stack([np.full(len(x), n_a / len(x)), np.full(len(x), n_b / len(x))]),
        dtype=D,
        device=device,
    )
    vt = torch.tensor(np.stack([in_a, 1 - in_a]), dtype=D, device=device)
    net = Network(1)
    gen = torch.Generator().manual_seed(0)
    F.fit_adam(net, xt, ut, vt, epochs=5, generator=gen)
    n_ep = 50
    t0 = time.perf_counter()
    F.fit_adam(net, xt, ut, vt, epochs=n_ep, generator=gen)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / n_ep


def _timed(
    pairs: list, batch_size: int, options: FitOptions
) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    res = pooled_tests("symmetrized", pairs, batch_size=batch_size, options=options)
    return time.perf_counter() - t0, np.array([r.t for r in res])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="tests at N ~ 2.2e5")
    parser.add_argument("--toys", type=int, default=100)
    parser.add_argument("--toy-events", type=int, default=20_000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    options = FitOptions(rng=1, device=args.device)
    print(f"device {args.device}, torch {torch.__version__}, 1 CPU thread")

    # 1. time per symmetrized test at N ~ 2.2e5
    big = _pairs(rng, args.repeat, N_BIG)
    seconds, ts = _timed(big, 1, options)
    fast = seconds / args.repeat
    per_epoch = _adam_epoch_seconds(*big[0], args.device)
    paper = per_epoch * EPOCHS_PAPER
    print(f"symmetrized test, N ~ {N_BIG} (1-D, Exp(1)), fast-fit defaults")
    print(f"  fast fit: {fast:.2f} s per test (t = {np.round(ts, 2).tolist()})")
    print(
        f"  paper protocol: {per_epoch * 1e3:.2f} ms per Adam epoch x {EPOCHS_PAPER:.0e}"
        f" = {paper:.0f} s per test"
    )
    print(f"  ratio paper / fast: {paper / fast:.0f}")
    print(f"  2000-toy null distribution, one core: {2000 * fast / 60:.0f} min")

    # 2. batched toys against one at a time
    toys = _pairs(rng, args.toys, args.toy_events)
    opts = FitOptions(rng=1, bins=512, device=args.device)
    one, t_one = _timed(toys, 1, opts)
    four, t_four = _timed(toys, 4, opts)
    together, t_all = _timed(toys, args.toys, opts)
    print(f"{args.toys} toys, N ~ {args.toy_events} each (512 bins)")
    for label, other in (("batches of 4", t_four), ("all together", t_all)):
        diff = np.abs(other - t_one)
        print(
            f"  t {label} vs one at a time: {int((diff < 1e-6).sum())}/{args.toys} equal "
            f"to 1e-6, max |diff| {diff.max():.3g}, mean t {other.mean():.3f} vs "
            f"{t_one.mean():.3f}"
        )
    for label, sec in (
        (f"all {args.toys} together", together),
        ("batches of 4", four),
        ("one at a time", one),
    ):
        print(f"  {label:>18}: {sec:7.1f} s, {args.toys / sec:.3f} toys/s")
    print(f"  throughput ratio together / one at a time: {one / together:.2f}")
    print(f"  throughput ratio batches of 4 / one at a time: {one / four:.2f}")


if __name__ == "__main__":
    main()
