"""classifier_test: the weakly supervised classifier of Birman et al. 2022, Sec. 5 and Fig. 6."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from asymscan.errors import ConfigError, DataError, ShapeError
from asymscan.nn.classifier import ClassifierResult, classifier_test

FAST = {"epochs": 5, "n_bootstrap": 5}


def _null(seed, n=2000):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.normal(size=(n, 2))


@pytest.fixture(scope="module")
def excess():
    # B: 10% of a narrow bump at (3, 3), where the standard normal background is ~1e-4 as dense
    rng = np.random.default_rng(9)
    a = rng.normal(size=(2000, 2))
    b = np.concatenate(
        [rng.normal(size=(1800, 2)), rng.normal(3.0, 0.1, size=(200, 2))]
    )
    return a, b


def test_result_fields_and_reproducible():
    a, b = _null(0, 500)
    r1 = classifier_test(a, b, rng=3, **FAST)
    r2 = classifier_test(a, b, rng=np.random.SeedSequence(3), **FAST)
    assert isinstance(r1, ClassifierResult)
    assert r1.max_score == r2.max_score
    np.testing.assert_array_equal(r1.bootstrap, r2.bootstrap)
    assert r1.bootstrap.shape == (5,)
    assert r1.bootstrap_mean == pytest.approx(r1.bootstrap.mean())
    assert r1.bootstrap_std == pytest.approx(r1.bootstrap.std(ddof=1))
    k = int((r1.bootstrap >= r1.max_score).sum())
    assert r1.p_value == pytest.approx((k + 1) / 6)
    expected = (r1.max_score - r1.bootstrap_mean) / r1.bootstrap_std
    assert r1.n_sigma == pytest.approx(expected)
    assert (r1.n_a, r1.n_b, r1.test_fraction) == (500, 500, None)
    # the score callable is the trained network, and its maximum over A u B is the statistic
    s = r1.score(np.concatenate([a, b]))
    assert s.shape == (1000,)
    assert s.dtype == np.float64
    assert ((s >= 0) & (s <= 1)).all()
    assert s.max() == pytest.approx(r1.max_score, abs=1e-6)
    # a different seed gives a different result; a numpy Generator is accepted as well
    r3 = classifier_test(a, b, rng=4, **FAST)
    assert r3.max_score != r1.max_score
    r4 = classifier_test(a, b, rng=np.random.default_rng(3), **FAST)
    assert 0 <= r4.max_score <= 1


def test_bootstraps_are_independent_of_their_number():
    # each bootstrap has its own SeedSequence child: more bootstraps extend, not reshuffle
    a, b = _null(1, 300)
    r3 = classifier_test(a, b, rng=7, epochs=2, n_bootstrap=3)
    r5 = classifier_test(a, b, rng=7, epochs=2, n_bootstrap=5)
    assert r3.max_score == r5.max_score
    np.testing.assert_array_equal(r3.bootstrap, r5.bootstrap[:3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identical_distributions_stay_near_half(seed):
    # Balanced BCE on two samples from one density: the ideal score is 0.5 everywhere, and the
    # network only follows fluctuations. After 5 epochs (100 Adam steps) it is smooth on the
    # scale of ~100 events, where the B fraction fluctuates by ~0.5/sqrt(100) = 0.05; the
    # maximum over a few dozen such regions stays within ~0.15 of 0.5 (0.53-0.64 seen),
    # so 0.75 is a safe bound that a real signal (test below: > 0.9) clearly exceeds.
    a, b = _null(seed)
    r = classifier_test(a, b, rng=seed, **FAST)
    assert 0.5 <= r.max_score < 0.75
    assert (r.bootstrap < 0.75).all()
    assert r.p_value > 1 / 6  # the observed score is not above every bootstrap
    assert abs(r.n_sigma) < 3


def test_strong_excess_in_b_is_found(excess):
    a, b = excess
    r = classifier_test(
        a, b, rng=1, n_bootstrap=5
    )  # the paper's 20 epochs: learn the bump
    assert r.max_score > 0.95
    assert (r.bootstrap < r.max_score).all()
    assert r.p_value == pytest.approx(1 / 6)
    assert r.n_sigma > 5
    # B is label 1: the network scores the bump near 1 and the background region near 0.5
    bump, centre = r.score([[3.0, 3.0]])[0], r.score([[0.0, 0.0]])[0]
    assert bump > 0.9
    assert abs(centre - 0.5) < 0.15


def test_held_out_maximum(excess):
    a, b = excess
    r = classifier_test(a, b, rng=1, test_fraction=0.5, n_bootstrap=5)
    assert r.test_fraction == 0.5
    assert r.max_score > 0.9
    assert r.p_value == pytest.approx(1 / 6)
    # the held-out maximum is over 2000 of the 4000 events
    assert r.max_score <= r.score(np.concatenate([a, b])).max() + 1e-6


def test_defaults_match_the_paper(excess):
    params = inspect.signature(classifier_test).parameters
    defaults = {k: params[k].default for k in ("hidden", "epochs", "batch_size", "lr")}
    assert defaults == {
        "hidden": (50, 50, 50),
        "epochs": 20,
        "batch_size": 200,
        "lr": 1e-3,
    }
    assert params["n_bootstrap"].default == 10  # Fig. 6: 10 bootstrap samples
    assert params["test_fraction"].default is None  # maximum over all events
    a, b = excess
    r = classifier_test(a[:400], b[:400], rng=0)  # the defaults run end to end
    net = r.network
    linear = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linear] == [
        (2, 50),
        (50, 50),
        (50, 50),
        (50, 1),
    ]
    assert sum(isinstance(m, torch.nn.ReLU) for m in net.modules()) == 3
    assert isinstance(list(net.children())[-1], torch.nn.Sigmoid)
    assert r.bootstrap.shape == (10,)


def test_one_dimensional_and_unequal_sizes():
    rng = np.random.default_rng(5)
    a, b = rng.exponential(size=300), rng.exponential(size=700)
    r = classifier_test(a, b, rng=0, epochs=2, n_bootstrap=2, hidden=8)
    assert (r.n_a, r.n_b) == (300, 700)
    # balanced class weights: the no-signal score is ~0.5, not N_B/(N_A + N_B) = 0.7
    assert abs(float(np.median(r.score(a))) - 0.5) < 0.1
    assert r.score(np.array([0.5, 1.0])).shape == (2,)


@pytest.mark.parametrize(
    ("x_a", "x_b", "error", "match"),
    [
        (np.zeros((0, 2)), np.zeros((5, 2)), DataError, "0 event"),
        (np.zeros((1, 2)), np.zeros((5, 2)), DataError, "1 event"),
        (np.zeros((5, 2)), np.zeros((5, 3)), ShapeError, "observables"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2)), ShapeError, "shape"),
        ([0.0, np.nan, 1.0], [0.0, 1.0], DataError, "non-finite"),
        ([0.0, 1.0], [0.0, np.inf, 1.0], DataError, "non-finite"),
    ],
)
def test_bad_samples(x_a, x_b, error, match):
    with pytest.raises(error, match=match):
        classifier_test(x_a, x_b)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hidden": ()}, "hidden"),
        ({"hidden": (50, 0)}, "hidden"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"lr": -1e-3}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"n_bootstrap": 1}, "n_bootstrap"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"rng": "seed"}, "rng"),
        ({"device": "gpu0"}, "device"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        classifier_test([0.0, 1.0, 2.0], [0.5, 1.5], **kwargs)


def test_test_fraction_too_small_for_sample():
    with pytest.raises(DataError, match="test_fraction"):
        classifier_test([0.0, 1.0, 2.0], [0.5, 1.5], test_fraction=0.1, rng=0, epochs=1)


def test_score_rejects_wrong_dimension():
    a, b = _null(2, 100)
    r = classifier_test(a, b, rng=0, epochs=1, n_bootstrap=2)
    with pytest.raises(ShapeError, match="score expects"):
        r.score(np.zeros((3, 5)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ConfigError, match="cuda"):
        classifier_test([0.0, 1.0, 2.0], [0.5, 1.5], device="cuda")


def test_helpful_error_without_torch():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from asymscan.nn.classifier import classifier_test\n"
        "try:\n"
        "    classifier_test([0.0, 1.0, 2.0], [0.5, 1.5])\n"
        "except ModuleNotFoundError as err:\n"
        "    assert 'asymscan[nn]' in str(err), err\n"
        "    print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "ok"
