"""``asymscan test``: a neural two-sample test from files, with permutations."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from asymscan.cli import cli

pytest.importorskip("torch")


@pytest.fixture
def samples(tmp_path):
    rng = np.random.default_rng(2)
    a = rng.exponential(size=400)
    b = np.concatenate([rng.exponential(size=400), rng.normal(1.6, 0.16, 120)])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    pq.write_table(pa.table({"x": a}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"x": b}), tmp_path / "b.parquet")
    return tmp_path


def test_symmetrized_test_with_permutations(samples):
    out = samples / "out"
    result = CliRunner().invoke(
        cli,
        [
            "test",
            str(samples / "a.npy"),
            str(samples / "b.npy"),
            "--permutations",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "test.json").read_text())
    assert data["t"] == pytest.approx(sum(data["parts"].values()))
    assert data["dof"] == 12
    assert len(data["permutation"]["null"]) == 2
    # A strong bump in B: beyond both relabellings, so p = 1/3.
    assert data["permutation"]["p_value"] == pytest.approx(1 / 3)
    assert (out / "test.png").read_bytes()[:4] == b"\x89PNG"


def test_columns_of_tabular_files_and_the_same_statistic(samples):
    runner = CliRunner()
    first = runner.invoke(
        cli,
        [
            "test",
            str(samples / "a.parquet"),
            str(samples / "b.parquet"),
            "--columns",
            "x",
            "--method",
            "delta",
            "--out",
            str(samples / "p"),
        ],
    )
    second = runner.invoke(
        cli,
        [
            "test",
            str(samples / "a.npy"),
            str(samples / "b.npy"),
            "--method",
            "delta",
            "--out",
            str(samples / "n"),
        ],
    )
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    t1 = json.loads((samples / "p" / "test.json").read_text())["t"]
    t2 = json.loads((samples / "n" / "test.json").read_text())["t"]
    assert t1 == pytest.approx(t2, rel=1e-9)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["a.parquet", "b.parquet"], "--columns"),
        (["a.npy", "missing.npy"], "does not exist"),
        (["a.parquet", "b.parquet", "--columns", "y"], "unknown column"),
    ],
)
def test_bad_input(samples, args, match):
    paths = [str(samples / a) if a.endswith((".npy", ".parquet")) else a for a in args]
    result = CliRunner().invoke(cli, ["test", *paths])
    assert result.exit_code != 0
    assert match in result.output


# --------------------------------------------------------------------------------------------
# weighted samples: --weight-a, --weight-b, --corrections


def eff_b(x):
    return 0.3 + 0.6 * x / (1 + x)


@pytest.fixture
def weighted(tmp_path):
    """Symmetric events seen with efficiency 0.95 in A and eff_b(x) in B, with the
    efficiencies as columns, and a correctionlib file of eff_b in bins of x."""
    import correctionlib.schemav2 as cs

    rng = np.random.default_rng(8)
    x = rng.exponential(size=700)
    in_a = rng.random(700) < 0.5
    keep = rng.random(700) < np.where(in_a, 0.95, eff_b(x))
    table = {"x": x, "ea": np.full(700, 0.95), "eb": eff_b(x)}
    for name, mask in (("a", keep & in_a), ("b", keep & ~in_a)):
        pq.write_table(
            pa.table({k: v[mask] for k, v in table.items()}),
            tmp_path / f"{name}.parquet",
        )
    edges = [0.0, 0.5, 1.0, 2.0, 4.0, 100.0]
    content = [float(eff_b((lo + hi) / 2)) for lo, hi in itertools.pairwise(edges)]
    cset = cs.CorrectionSet(
        schema_version=2,
        corrections=[
            cs.Correction(
                name="eff_b",
                version=1,
                inputs=[cs.Variable(name="x", type="real")],
                output=cs.Variable(name="efficiency", type="real"),
                data=cs.Binning(
                    nodetype="binning",
                    input="x",
                    edges=edges,
                    content=content,
                    flow="clamp",
                ),
            )
        ],
    )
    (tmp_path / "eff.json").write_text(cset.model_dump_json(exclude_unset=True))
    return tmp_path


def _run(path, *extra):
    return CliRunner().invoke(
        cli,
        [
            "test",
            str(path / "a.parquet"),
            str(path / "b.parquet"),
            "--columns",
            "x",
            "--seed",
            "2",
            *extra,
        ],
    )


def test_weighted_test_and_relabellings(weighted):
    from asymscan.nn import symmetrized_test

    out = weighted / "out"
    result = _run(
        weighted,
        "--weight-a",
        "1 / ea",
        "--weight-b",
        "1 / eb",
        "--permutations",
        "3",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "test.json").read_text())
    assert data["weights"] == {"a": "1 / ea", "b": "1 / eb", "corrections": []}
    assert "P(A) = w_b/(w_a+w_b)" in data["permutation"]["method"]
    assert len(data["permutation"]["null"]) == 3
    a, b = pq.read_table(weighted / "a.parquet"), pq.read_table(weighted / "b.parquet")
    xa, xb = a["x"].to_numpy(), b["x"].to_numpy()
    direct = symmetrized_test(
        xa, xb, w_a=1 / a["ea"].to_numpy(), w_b=1 / b["eb"].to_numpy(), rng=2
    )
    assert data["t"] == pytest.approx(direct.t, rel=1e-9)
    assert data["n_b"] == pytest.approx(float(np.sum(1 / b["eb"].to_numpy())))
    unweighted = symmetrized_test(xa, xb, rng=2)
    assert (
        abs(unweighted.t - direct.t) > 1
    )  # B is depleted at small x: the weights matter


def test_weights_from_correction_files(weighted):
    first = _run(
        weighted,
        "--weight-a",
        "1 / 0.95",
        "--weight-b",
        "1 / correction('eff_b', x)",
        "--corrections",
        str(weighted / "eff.json"),
        "--out",
        str(weighted / "c"),
    )
    assert first.exit_code == 0, first.output
    data = json.loads((weighted / "c" / "test.json").read_text())
    assert data["weights"]["corrections"] == [str(weighted / "eff.json")]
    b = pq.read_table(weighted / "b.parquet")["x"].to_numpy()
    edges = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 100.0])
    centres = (edges[:-1] + edges[1:]) / 2
    expected = np.sum(1 / eff_b(centres)[np.searchsorted(edges, b, side="right") - 1])
    assert data["n_b"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--weight-a", "1 / ea"], "--weight-a needs --weight-b"),
        (["--weight-b", "1 / eb"], "--weight-b needs --weight-a"),
        (
            ["--weight-a", "1 / ea", "--weight-b", "1 / eff"],
            "unknown column(s) 'eff'",
        ),
        (["--weight-a", "1 / ea", "--weight-b", "1 / (eb"], "invalid syntax"),
        (["--weight-a", "ea > 0", "--weight-b", "1 / eb"], "is a condition"),
        (
            ["--weight-a", "1 / ea", "--weight-b", "eb - 0.5"],
            "--weight-b is -0.",
        ),
        (["--weight-a", "1 / ea", "--weight-b", "log(eb - 0.5)"], "NaN or infinite"),
        (
            ["--weight-a", "1", "--weight-b", "1 / correction('eff_b', x)"],
            "give the correctionlib file(s) with --corrections",
        ),
        (["--corrections", "eff.json"], "--corrections is read by --weight-a"),
        (
            ["--weight-a", "1", "--weight-b", "1", "--corrections", "missing.json"],
            "missing.json",
        ),
    ],
)
def test_bad_weights(weighted, args, match):
    args = [str(weighted / a) if a.endswith(".json") else a for a in args]
    result = _run(weighted, *args)
    assert result.exit_code != 0
    assert match in result.output


def test_npy_samples_have_no_columns_to_weight(samples):
    result = CliRunner().invoke(
        cli,
        [
            "test",
            str(samples / "a.npy"),
            str(samples / "b.npy"),
            "--weight-a",
            "1",
            "--weight-b",
            "2",
        ],
    )
    assert result.exit_code != 0
    assert "a .npy array has none" in result.output
