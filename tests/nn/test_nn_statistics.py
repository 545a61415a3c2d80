"""nplm_test, symmetrized_test and delta_test: closed forms, invariants and bad input."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymscan.errors import ConfigError, DataError, ShapeError
from asymscan.nn import NNTestResult, delta_test, nplm_test, symmetrized_test


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(11)
    return rng.exponential(size=120), rng.exponential(size=150)


def test_symmetrized_result(samples):
    a, b = samples
    res = symmetrized_test(a, b, rng=1, n_starts=4, max_iter=100)
    assert isinstance(res, NNTestResult)
    assert res.t >= 0
    assert res.t == pytest.approx(sum(res.parts.values()))
    assert set(res.parts) == {"t_A+B(A)", "t_A+B(B)"}
    assert all(v >= 0 for v in res.parts.values())
    assert res.dof == 12
    assert res.p_value == pytest.approx(
        float(__import__("scipy").stats.chi2.sf(res.t, 12))
    )
    assert 0 <= res.p_value <= 1
    grid = np.linspace(0, 3, 7)
    for name in ("f", "g", "sigma", "delta"):
        assert res.functions[name](grid).shape == (7,)
    # Eqs. (31)-(32): delta = (f' - g')/2
    f, g = res.functions["f"](grid), res.functions["g"](grid)
    expect = 0.5 * (f - g + math.log(res.n_a / res.n_b))
    np.testing.assert_allclose(
        res.functions["delta"](grid), expect, rtol=1e-12, atol=1e-12
    )


def test_symmetrized_zero_for_identical_samples():
    # A = B: every event appears once in A and once in the pool-normalised reference: f = g = 0
    x = np.random.default_rng(2).normal(size=40)
    res = symmetrized_test(x, x, rng=0, n_starts=3, max_iter=50)
    assert abs(res.t) < 1e-9
    res_d = delta_test(x, x, rng=0, n_starts=3, max_iter=50)
    assert abs(res_d.t) < 1e-9


def test_symmetrized_finite_where_nplm_diverges():
    # x* = 10 present in A, absent from B: the unclipped NPLM loss is unbounded below
    b = np.linspace(0.0, 1.0, 40)
    a = np.concatenate([b, [10.0]])
    nplm = nplm_test(a, b, rng=0, n_starts=3, max_iter=100)
    assert nplm.t > 1e3
    assert not nplm.converged
    sym = symmetrized_test(a, b, rng=0, n_starts=3, max_iter=300)
    assert math.isfinite(sym.t)
    # Appendix D: fitting x* alone is worth at most a few units of t
    assert 0 <= sym.t < 20
    clipped = nplm_test(a, b, weight_clipping=1.0, rng=0, n_starts=3, max_iter=100)
    assert math.isfinite(clipped.t)
    assert clipped.t < nplm.t


def test_nplm_fixed_n_expected_closed_form():
    # data = reference events, N_A(H0) fixed: best f = log(N / N_A(H0)), 13 degrees of freedom
    x = np.linspace(-1, 1, 30)
    res = nplm_test(x, x, n_expected=18.0, rng=0, n_starts=2, max_iter=100)
    t_star = 2 * (30 * math.log(30 / 18.0) - 30 + 18.0)
    assert abs(res.t - t_star) < 1e-6
    assert res.dof == 13
    np.testing.assert_allclose(res.functions["f"](x), math.log(30 / 18.0), atol=1e-5)
    assert nplm_test(x, x, rng=0, n_starts=2, max_iter=50).dof == 12


def test_paper_protocol_runs_and_fast_is_not_worse(samples):
    a, b = samples
    paper = symmetrized_test(a, b, fit="paper", epochs=300, rng=3)
    fast = symmetrized_test(a, b, rng=3, n_starts=4, max_iter=200)
    assert paper.fit == "paper"
    assert not paper.converged
    assert fast.t >= paper.t - 1e-3


def test_weights_and_nd():
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(50, 2)), rng.normal(size=(60, 2))
    wa, wb = rng.uniform(0.5, 1.5, 50), rng.uniform(0.5, 1.5, 60)
    res = symmetrized_test(a, b, w_a=wa, w_b=wb, rng=0, n_starts=3, max_iter=80)
    assert res.n_a == pytest.approx(wa.sum())
    assert res.dof == 2 * 4 + 4 + 4 + 1 - 1
    assert res.functions["f"](a).shape == (50,)
    assert res.t >= 0
    deep = delta_test(a, b, hidden=(3, 2), rng=0, n_starts=2, max_iter=30)
    assert deep.t >= -1e-9


def test_unit_weights_equal_no_weights(samples):
    a, b = samples
    r1 = nplm_test(a, b, weight_clipping=2.0, rng=4, n_starts=2, max_iter=60)
    r2 = nplm_test(
        a,
        b,
        w_data=np.ones(len(a)),
        w_ref=np.ones(len(b)),
        weight_clipping=2.0,
        rng=4,
        n_starts=2,
        max_iter=60,
    )
    assert r1.t == pytest.approx(r2.t, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("fn", [nplm_test, symmetrized_test, delta_test])
def test_bad_input(fn):
    good = np.linspace(0, 1, 10)
    with pytest.raises(DataError, match="at least 2"):
        fn([], good)
    with pytest.raises(DataError, match="at least 2"):
        fn(good, [0.5])
    with pytest.raises(DataError, match="non-finite"):
        fn(np.r_[good, np.nan], good)
    with pytest.raises(DataError, match="non-finite"):
        fn(good, np.r_[good, np.inf])
    with pytest.raises(ShapeError, match="observables"):
        fn(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ShapeError):
        fn(np.zeros((2, 3, 4)), good)
    kw = "w_data" if fn is nplm_test else "w_a"
    with pytest.raises(DataError, match="negative"):
        fn(good, good, **{kw: -np.ones(10)})
    with pytest.raises(ShapeError, match="one weight per event"):
        fn(good, good, **{kw: np.ones(3)})
    with pytest.raises(ConfigError, match="fit"):
        fn(good, good, fit="sgd")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu():
    good = np.linspace(0, 1, 10)
    with pytest.raises(ConfigError, match="cuda"):
        symmetrized_test(good, good, device="cuda")
    with pytest.raises(ConfigError, match="device"):
        nplm_test(good, good, device="tpu-not-a-device")


def test_nplm_bad_options():
    good = np.linspace(0, 1, 10)
    with pytest.raises(ConfigError, match="weight_clipping"):
        nplm_test(good, good, weight_clipping=-1)
    with pytest.raises(DataError, match="n_expected"):
        nplm_test(good, good, n_expected=0.0)
    with pytest.raises(ConfigError, match="weight_clipping, not weight_bound"):
        nplm_test(good, good, weight_bound=3.0)
    with pytest.raises(ConfigError, match="the fit options are"):
        nplm_test(good, good, n_start=3)
    with pytest.raises(ConfigError, match="n_starts must be a positive integer"):
        nplm_test(good, good, n_starts=0)


def test_import_without_torch_and_helpful_error():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import asymscan, asymscan.nn\n"
        "try:\n"
        "    asymscan.nn.symmetrized_test([0.0, 1.0, 2.0], [0.5, 1.5])\n"
        "except ModuleNotFoundError as err:\n"
        "    assert 'asymscan[nn]' in str(err), err\n"
        "    print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
