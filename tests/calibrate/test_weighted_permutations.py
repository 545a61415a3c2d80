"""Permutation calibration of weighted samples: label-independent weights keep N_A, label-
dependent ones relabel each event A with probability w_b / (w_a + w_b)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from asymscan import DataError
from asymscan.calibrate.empirical import permutation_null


class Recorder:
    """A statistic that records the samples and weights it is given (x = event index)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, a, b, w_a=None, w_b=None) -> float:
        self.calls.append((np.asarray(a), np.asarray(b), w_a, w_b))
        return float(len(a))


def old_permutation_null(statistic, a, b, n_permutations, seed):
    """The unweighted algorithm before weights existed, copied: the reference stream."""
    pooled = np.concatenate([a, b])
    null = []
    for child in np.random.SeedSequence(seed).spawn(n_permutations):
        order = np.random.default_rng(child).permutation(len(pooled))
        null.append(statistic(pooled[order[: len(a)]], pooled[order[len(a) :]]))
    return np.array(null), statistic(a, b)


def mean_difference(a, b):
    return float(np.mean(a) - np.mean(b))


# --------------------------------------------------------------------------------------------
# the relabellings


def test_unweighted_null_is_the_old_one():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=23), rng.normal(0.2, 1, size=31)
    ref, observed = old_permutation_null(mean_difference, a, b, 200, seed=17)
    for batch_size in (1, 7):
        res = permutation_null(
            mean_difference, a, b, n_permutations=200, seed=17, batch_size=batch_size
        )
        np.testing.assert_array_equal(res.null, ref)
        assert res.observed == observed
        assert res.method == "200 permutations of A u B"


@pytest.mark.parametrize("two_columns", [False, True])
def test_label_independent_weights_keep_the_permutations_and_n_a(two_columns):
    n_a, n_b = 12, 17
    w = np.random.default_rng(0).uniform(0.5, 2.0, n_a + n_b)
    w_a, w_b = w[:n_a], w[n_a:]
    if two_columns:  # equal columns are label-independent too
        w_a, w_b = np.column_stack([w_a, w_a]), np.column_stack([w_b, w_b])
    rec = Recorder()
    res = permutation_null(
        rec,
        np.arange(n_a),
        np.arange(n_a, n_a + n_b),
        weights_a=w_a,
        weights_b=w_b,
        n_permutations=300,
        seed=5,
    )
    assert "N_A fixed" in res.method
    observed, *relabelled = rec.calls
    np.testing.assert_array_equal(observed[2], w[:n_a])
    rec_old = Recorder()
    old_permutation_null(rec_old, np.arange(n_a), np.arange(n_a, n_a + n_b), 300, 5)
    for (a, b, wa, wb), (a_old, b_old, _, _) in zip(
        relabelled, rec_old.calls, strict=False
    ):
        assert len(a) == n_a
        np.testing.assert_array_equal(a, a_old)  # the unweighted permutations
        np.testing.assert_array_equal(b, b_old)
        np.testing.assert_array_equal(wa, w[a])  # each event keeps its weight
        np.testing.assert_array_equal(wb, w[b])


def test_label_dependent_relabelling_frequencies_and_weights():
    rng = np.random.default_rng(11)
    n_a, n_b, n_perm = 25, 15, 4000
    w = np.column_stack(
        [rng.uniform(0.5, 3.0, n_a + n_b), rng.uniform(0.5, 3.0, n_a + n_b)]
    )
    rec = Recorder()
    res = permutation_null(
        rec,
        np.arange(n_a),
        np.arange(n_a, n_a + n_b),
        weights_a=w[:n_a],
        weights_b=w[n_a:],
        n_permutations=n_perm,
        seed=3,
    )
    assert "relabellings of A u B with P(A) = w_b/(w_a+w_b)" in res.method
    observed, *relabelled = rec.calls
    np.testing.assert_array_equal(observed[2], w[:n_a, 0])  # A's events weigh w_a
    np.testing.assert_array_equal(observed[3], w[n_a:, 1])  # B's events weigh w_b
    in_a = np.zeros(n_a + n_b)
    sizes = []
    for a, b, wa, wb in relabelled:
        np.testing.assert_array_equal(
            np.sort(np.concatenate([a, b])), np.arange(n_a + n_b)
        )
        np.testing.assert_array_equal(wa, w[a, 0])  # the weight of the new label
        np.testing.assert_array_equal(wb, w[b, 1])
        in_a[a] += 1
        sizes.append(len(a))
    p = w[:, 1] / w.sum(1)
    z = (in_a - n_perm * p) / np.sqrt(n_perm * p * (1 - p))
    assert np.abs(z).max() < 4.5
    assert stats.chi2.sf((z**2).sum(), len(z)) > 1e-3
    assert np.std(sizes) > 1  # N_A is not fixed
    assert np.mean(sizes) == pytest.approx(p.sum(), abs=0.2)


def test_empty_relabelled_samples_reach_the_statistic():
    rec = Recorder()
    w = np.array([[2.0, 1.0]])  # P(A) = 1/3 for the event of A, 2/3 for that of B
    res = permutation_null(
        rec, [0.0], [1.0], weights_a=w, weights_b=w[:, ::-1], n_permutations=900, seed=1
    )
    sizes = np.array([len(a) for a, *_ in rec.calls[1:]])
    # not redrawn: A is empty with probability 2/3 x 1/3 = 2/9, and B too
    assert np.mean(sizes == 0) == pytest.approx(2 / 9, abs=0.05)
    assert np.mean(sizes == 2) == pytest.approx(2 / 9, abs=0.05)
    empty = next(c for c in rec.calls[1:] if len(c[0]) == 0)
    assert empty[0].shape == (0,)
    assert empty[2].shape == (0,)
    assert len(res.null) == 900


def test_executor_gives_the_same_weighted_null():
    from concurrent.futures import ProcessPoolExecutor

    rng = np.random.default_rng(2)
    a, b = rng.exponential(size=60), rng.exponential(size=40)
    w_a = np.column_stack([np.full(60, 1.05), 1 / eff_b(a)])
    w_b = np.column_stack([np.full(40, 1.05), 1 / eff_b(b)])
    kw = {"weights_a": w_a, "weights_b": w_b, "n_permutations": 40, "seed": 9}
    here = permutation_null(weighted_z2, a, b, **kw, batch_size=6)
    with ProcessPoolExecutor(2) as pool:
        there = permutation_null(weighted_z2, a, b, **kw, executor=pool)
    np.testing.assert_array_equal(here.null, there.null)


# --------------------------------------------------------------------------------------------
# calibration: data symmetric after correction, strongly label-dependent efficiencies


def eff_a(x):
    return np.full_like(x, 0.95)


def eff_b(x):
    return 0.3 + 0.6 * x / (1 + x)


def corrected_dataset(rng, n):
    """Symmetric events (x ~ exponential, a fair-coin label), each kept with the efficiency
    of its label; the weights are 1/efficiency of each label."""
    x = rng.exponential(size=n)
    label_a = rng.random(n) < 0.5
    keep = rng.random(n) < np.where(label_a, eff_a(x), eff_b(x))
    x, label_a = x[keep], label_a[keep]
    w = np.column_stack([1 / eff_a(x), 1 / eff_b(x)])
    return x[label_a], x[~label_a], w[label_a], w[~label_a]


def weighted_z2(a, b, w_a=None, w_b=None):
    """z^2 of the difference of the weighted means plus z^2 of that of the weighted totals."""
    w_a = np.ones(len(a)) if w_a is None else w_a
    w_b = np.ones(len(b)) if w_b is None else w_b

    def mean(x, w):
        total = w.sum()
        mu = (w * x).sum() / total
        return mu, (w**2 * (x - mu) ** 2).sum() / total**2

    (m_a, v_a), (m_b, v_b) = mean(a, w_a), mean(b, w_b)
    z_mean = (m_a - m_b) / np.sqrt(v_a + v_b)
    z_total = (w_a.sum() - w_b.sum()) / np.sqrt((w_a**2).sum() + (w_b**2).sum())
    return float(z_mean**2 + z_total**2)


def randomized_p(null, rng):
    """(k + U)/(n + 1), k null values above the observed one: exactly uniform."""
    k = int((null.null > null.observed).sum())
    return (k + rng.random()) / (len(null.null) + 1)


def test_weighted_p_values_are_uniform_and_the_wrong_null_is_not():
    rng = np.random.default_rng(2026)
    right, wrong = [], []
    for i in range(300):
        a, b, w_a, w_b = corrected_dataset(rng, 300)
        null = permutation_null(
            weighted_z2, a, b, weights_a=w_a, weights_b=w_b, n_permutations=99, seed=i
        )
        right.append(randomized_p(null, rng))
        # the wrong null: N_A fixed, each event keeping the weight it was observed with
        naive = permutation_null(
            weighted_z2,
            a,
            b,
            weights_a=w_a[:, 0],
            weights_b=w_b[:, 1],
            n_permutations=99,
            seed=i,
        )
        wrong.append(randomized_p(naive, rng))
    assert stats.kstest(right, "uniform").pvalue > 0.01
    assert stats.kstest(wrong, "uniform").pvalue < 1e-6


@pytest.mark.slow
def test_weighted_symmetrized_test_is_calibrated():
    torch = pytest.importorskip("torch")
    from asymscan.nn import FitOptions, PooledStatistic

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        options = FitOptions(n_starts=4, prune=None, max_iter=60, bins=64, rng=0)
        statistic = PooledStatistic(options=options, batch_size=20)
        rng = np.random.default_rng(7)
        p = []
        for i in range(30):
            a, b, w_a, w_b = corrected_dataset(rng, 380)
            null = permutation_null(
                statistic,
                a,
                b,
                weights_a=w_a,
                weights_b=w_b,
                n_permutations=19,
                seed=i,
                batch_size=20,
            )
            assert np.all(np.isfinite(null.null))
            p.append(randomized_p(null, rng))
    finally:
        torch.set_num_threads(before)
    assert stats.kstest(p, "uniform").pvalue > 0.01


# --------------------------------------------------------------------------------------------
# the neural statistic with weights


def test_pooled_statistic_takes_weights_and_empty_samples():
    torch = pytest.importorskip("torch")
    from asymscan.errors import ShapeError
    from asymscan.nn import FitOptions, PooledStatistic, symmetrized_test

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng(3)
        a, b, w_a, w_b = corrected_dataset(rng, 120)
        opts = {"n_starts": 2, "max_iter": 30, "rng": 1}
        stat = PooledStatistic(options=FitOptions(**opts), batch_size=4)
        alone = symmetrized_test(a, b, w_a=w_a[:, 0], w_b=w_b[:, 1], **opts)
        assert stat(a, b, w_a=w_a[:, 0], w_b=w_b[:, 1]) == pytest.approx(
            alone.t, abs=1e-8
        )
        assert stat(a, b) != pytest.approx(alone.t, abs=1e-3)  # the weights matter
        t = stat.many(
            [(a, b), (a[:0], b), (a, b[:0]), (a[:1], b)],
            weights=[
                (w_a[:, 0], w_b[:, 1]),
                (w_a[:0, 0], w_b[:, 1]),
                (w_a[:, 0], w_b[:0, 1]),
                (w_a[:1, 0], w_b[:, 1]),
            ],
        )
        assert t[0] == pytest.approx(alone.t, abs=1e-8)
        assert t[1] == t[2] == 0.0  # an empty sample: t = 0 exactly
        assert np.isfinite(t[3])
        assert t[3] >= -1e-9  # one event is fitted
        with pytest.raises(ShapeError, match="weight pairs"):
            stat.many([(a, b)], weights=[])
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize(
    ("weights_a", "weights_b", "match"),
    [
        (np.ones(3), None, "weights_a is given but weights_b is None"),
        (None, np.ones(4), "weights_b is given but weights_a is None"),
        (
            np.ones(4),
            np.ones(4),
            r"weights_a must have shape \(3,\) .* got shape \(4,\)",
        ),
        (np.ones((3, 3)), np.ones(4), r"or \(3, 2\) .* got shape \(3, 3\)"),
        (np.ones(3), np.ones((4, 2, 1)), r"weights_b must have shape \(4,\)"),
        (
            np.array([1.0, np.nan, 1.0]),
            np.ones(4),
            (
                r"weights_a has non-finite weights \(NaN or inf\) for 1 event\(s\), "
                "first nan for event 1 of A"
            ),
        ),
        (
            np.ones(3),
            np.full((4, 2), np.inf),
            "weights_b has non-finite .* for 4 event",
        ),
        (["a", "b", "c"], np.ones(4), "must be an array of numbers"),
        (
            np.array([[1.0, 2.0], [-1.0, 1.0], [1.0, 1.0]]),
            np.ones(4),
            (
                r"weights_a has 1 weight\(s\) <= 0, first -1.0 for event 1 of A \(the "
                r"weight if in A\); label-dependent weights must be positive"
            ),
        ),
        (
            np.array([[1.0, 2.0], [1.0, 1.0], [1.0, 1.0]]),
            np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
            r"weights_b has 1 weight\(s\) <= 0, first 0.0 for event 2 of B \(the weight if in B\)",
        ),
        (
            np.ones(3),
            np.array([[1.0, 1.0], [1.0, np.nan], [1.0, 1.0], [1.0, 1.0]]),
            "non-finite weight",
        ),
    ],
)
def test_bad_weights(weights_a, weights_b, match):
    with pytest.raises(DataError, match=match):
        permutation_null(
            mean_difference,
            np.arange(3.0),
            np.arange(4.0),
            weights_a=weights_a,
            weights_b=weights_b,
            n_permutations=5,
        )


def test_zero_label_independent_weights_are_the_statistics_business():
    def total(a, b, w_a=None, w_b=None):
        return float(w_a.sum() - w_b.sum())

    res = permutation_null(
        total,
        np.arange(3.0),
        np.arange(4.0),
        weights_a=np.array([0.0, 1.0, 1.0]),
        weights_b=np.ones(4),
        n_permutations=20,
    )
    assert res.observed == -2.0
    assert "N_A fixed" in res.method
