"""``asymscan demo`` on synthetic pools: the injected signal is found, the inputs are kept."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import write_pool

from asymscan.cli import cli

SM = {
    "ttbar": (6000, 60.0),
    "ww": (3000, 30.0),
    "dy_tautau": (5000, 50.0),
    "ggh_ww": (300, 3.0),
    "vbfh_ww": (100, 1.0),
    "ggh_tautau": (200, 2.0),
    "vbfh_tautau": (100, 1.0),
}


@pytest.fixture(scope="module")
def demo_pools(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo_pools")
    for i, (name, (n, sigma)) in enumerate(SM.items()):
        write_pool(out, name, n, sigma, rng=i)
    # The signal: mu-e events (leading muon) at m_coll = 125 GeV.
    for j, name in enumerate(("ggh_taumu", "vbfh_taumu", "ggh_taue", "vbfh_taue")):
        write_pool(
            out,
            name,
            3000,
            1000.0,
            rng=100 + j,
            fixed={"m_coll": 125.0, "lead_flavour": 13},
        )
    return out


def _run(pools, out, *extra, toys=19):
    args = [
        "demo",
        "--pools",
        str(pools),
        "--out",
        str(out),
        "--lumi",
        "40",
        "--toys",
        str(toys),
        *extra,
    ]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


def test_demo_finds_the_injected_signal(demo_pools, tmp_path):
    data = _run(demo_pools, tmp_path / "sig", "--branching-ratio", "0.01")
    top = data["regions"][0]
    lo, hi = top["window"]["m_coll"]
    assert lo <= 125 < hi
    assert top["nsigma"] > 0  # B (mu-e) in excess
    assert data["global"]["p_value"] == pytest.approx(1 / 20)
    for name in ("demo.toml", "demo_events.parquet", "report.html", "regions.parquet"):
        assert (tmp_path / "sig" / name).exists()


def test_demo_without_signal_and_rerun_from_its_config(demo_pools, tmp_path):
    data = _run(
        demo_pools, tmp_path / "bkg", "--signal", "none", "--seed", "2", toys=99
    )
    # Symmetric data: the observed maximum is an ordinary draw among the toys'.
    assert data["global"]["p_value"] > 0.05
    rerun = CliRunner().invoke(
        cli,
        ["scan", str(tmp_path / "bkg" / "demo.toml"), "--out", str(tmp_path / "again")],
    )
    assert rerun.exit_code == 0, rerun.output
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    assert again["global"] == data["global"]


def test_demo_without_pools_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        cli, ["demo", "--pools", str(tmp_path / "none"), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code != 0
    assert "pool" in result.output
    assert not (tmp_path / "out").exists()
