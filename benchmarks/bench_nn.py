"""Timing of the symmetrized NN test (Bressler et al.): fast fit vs the paper protocol, batching.

1. Time per symmetrized test at N ~ 2.2e5 (1-D, A and B from the exponential b0 = Exp(1) of
   Sec. III A): the fast fit (bounded projected Newton, binned, several starts) against the
   paper protocol (full-batch Adam, lr 1e-3, 5e5 epochs), the latter estimated as the measured
   time per Adam epoch on the same data times 5e5.
2. Throughput: 100 toys fitted together (one stacked computation) against 100 sequential fits,
   at N = 2e4 per toy (binned to 512 bins, 4 starts, 100 iterations each).

Run: ``python benchmarks/bench_nn.py [--repeat 1] [--toys 100] [--toy-events 20000]``; with
``--toys 20`` it takes a few minutes on 1 thread.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from asymscan.nn import fit as F
from asymscan.nn import symmetrized_test
from asymscan.nn.models import Network

D = torch.float64
N_BIG = 220_000
N_TOY = 20_000
N_TOYS = 100
EPOCHS_PAPER = 500_000


def _problems(xa: np.ndarray, xb: np.ndarray) -> tuple:
    x = np.concatenate([xa, xb])
    x = (x - x.mean()) / x.std()
    in_a = np.r_[np.ones(len(xa)), np.zeros(len(xb))]
    n_a, n_b = len(xa), len(xb)
    u = np.stack([np.full(len(x), n_a / len(x)), np.full(len(x), n_b / len(x))])
    return x, u, np.stack([in_a, 1 - in_a])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="tests at N ~ 2.2e5")
    parser.add_argument("--toys", type=int, default=N_TOYS)
    parser.add_argument("--toy-events", type=int, default=N_TOY)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    net = Network(1)

    # 1. time per symmetrized test at N ~ 2.2e5
    times, ts = [], []
    for k in range(args.repeat):
        xa = rng.exponential(size=N_BIG // 2)
        xb = rng.exponential(size=N_BIG // 2)
        t0 = time.perf_counter()
        res = symmetrized_test(xa, xb, rng=k)  # defaults: bound 30, bins "auto" (4096)
        times.append(time.perf_counter() - t0)
        ts.append(res.t)
    fast = float(np.mean(times))
    x, u, v = _problems(xa, xb)
    xt = torch.tensor(x, dtype=D)[:, None]
    ut, vt = torch.tensor(u, dtype=D), torch.tensor(v, dtype=D)
    F.fit_adam(net, xt, ut, vt, epochs=5, generator=torch.Generator().manual_seed(0))
    n_ep = 50
    t0 = time.perf_counter()
    F.fit_adam(net, xt, ut, vt, epochs=n_ep, generator=torch.Generator().manual_seed(0))
    per_epoch = (time.perf_counter() - t0) / n_ep
    paper = per_epoch * EPOCHS_PAPER
    print(f"symmetrized test, N = {N_BIG} (1-D, Exp(1)), 1 thread")
    print(f"  fast fit: {fast:.2f} s per test (t = {np.round(ts, 3).tolist()})")
    print(
        f"  paper protocol: {per_epoch * 1e3:.2f} ms per Adam epoch x {EPOCHS_PAPER:.0e}"
        f" = {paper:.0f} s per test"
    )
    print(f"  ratio paper / fast: {paper / fast:.0f}")
    print(f"  2000-toy null distribution with the fast fit: {2000 * fast / 60:.0f} min")

    # 2. batched toys against sequential fits
    xs, us, vs = [], [], []
    for _ in range(args.toys):
        x, u, v = _problems(
            rng.exponential(size=args.toy_events // 2),
            rng.exponential(size=args.toy_events // 2),
        )
        xs += [x, x]
        us.append(u)
        vs.append(v)
    xt = torch.tensor(np.array(xs), dtype=D)[..., None]
    ut = torch.tensor(np.concatenate(us), dtype=D)
    vt = torch.tensor(np.concatenate(vs), dtype=D)
    kw = {"clip": 30.0, "bins": 512, "n_starts": 4, "max_iter": 100}
    t0 = time.perf_counter()
    F.fit_newton(net, xt, ut, vt, generator=torch.Generator().manual_seed(1), **kw)
    together = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(args.toys):
        sl = slice(2 * k, 2 * k + 2)
        F.fit_newton(
            net,
            xt[sl],
            ut[sl],
            vt[sl],
            generator=torch.Generator().manual_seed(1),
            **kw,
        )
    sequential = time.perf_counter() - t0
    print(f"{args.toys} toys, N = {args.toy_events} each, {kw}")
    print(f"  together: {together:.1f} s, sequential: {sequential:.1f} s")
    print(f"  throughput ratio together / sequential: {sequential / together:.2f}")


if __name__ == "__main__":
    main()
