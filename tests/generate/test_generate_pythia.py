"""e-mu pools generated with PYTHIA 8: a few hundred events per pool, checked against physics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from click.testing import CliRunner

from asymscan.cli import cli
from asymscan.data import hep
from asymscan.errors import ConfigError
from asymscan.generate import (
    BACKGROUNDS,
    COLUMNS,
    expected_events,
    generate_emu,
    read_pool,
)

pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

N_EVENTS = dict.fromkeys(BACKGROUNDS, 300) | {
    "ttbar": 400,
    "ggh_taumu": 300,
    "ggh_taue": 300,
}


@pytest.fixture(scope="module")
def pools(tmp_path_factory):
    out = tmp_path_factory.mktemp("pools")
    calls = []
    result = generate_emu(
        out,
        list(N_EVENTS),
        n_events=N_EVENTS,
        seed=11,
        workers=2,
        progress=lambda name, done, total: calls.append((name, done, total)),
    )
    return result, calls


def test_every_pool_written_with_progress(pools):
    result, calls = pools
    assert set(result) == set(N_EVENTS)
    for name, pool in result.items():
        assert pool.path.name == f"{name}.parquet"
        assert (name, N_EVENTS[name], N_EVENTS[name]) in calls
        assert not list(pool.path.parent.glob(".*.tmp"))
        # the bar moves within a shard (batches reported from the worker processes)
        seen = [done for pool_name, done, _ in calls if pool_name == name]
        assert seen == sorted(seen)
        assert any(0 < done < N_EVENTS[name] for done in seen), name


def test_columns_and_metadata(pools):
    result, _ = pools
    for name, pool in result.items():
        cols, meta = read_pool(pool.path)
        assert list(cols) == ["shard", *COLUMNS]
        n = len(cols["event"])
        assert n == meta["n_selected"] == pool.n_selected
        assert meta["n_generated"] == N_EVENTS[name]
        assert meta["efficiency"] == pytest.approx(n / N_EVENTS[name])
        assert meta["sigma_pythia_pb"] > 0
        assert 0 < meta["sigma_pythia_err_pb"] < meta["sigma_pythia_pb"]
        assert meta["detector"]["electron"] == meta["detector"]["muon"]
        assert "Beams:eCM = 13000." in meta["generator"]["settings"]
        assert meta["sigma_selected_fb"] == pytest.approx(
            meta["sigma_eff_pb"] * 1e3 * meta["efficiency"]
        )
        assert np.all(cols["lep1_pt"] >= cols["lep2_pt"])
        assert np.all(cols["lep2_pt"] > 15)
        assert np.all(np.abs(cols["lep1_eta"]) < 2.3)
        assert np.all(cols["m_coll"] >= cols["m_ll"] * (1 - 1e-6))
        lead = (cols["lep1_pt"], cols["lep1_eta"], cols["lep1_phi"])
        sub = (cols["lep2_pt"], cols["lep2_eta"], cols["lep2_phi"])
        want = hep.m_coll(*lead, *sub, cols["met"], cols["met_phi"])
        np.testing.assert_allclose(cols["m_coll"], want, rtol=1e-4)
        assert np.all(np.isin(cols["lead_flavour"], [11, 13]))
        assert np.all(cols["n_bjets"] <= cols["n_jets"])


def test_cross_sections_fold_in_the_forced_decays(pools):
    result, _ = pools
    dy = result["dy_tautau"].metadata
    # one tau -> e nu nu, the other -> mu nu nu, either way round: 2 BR_e BR_mu
    assert dy["tau_factor"] == pytest.approx(2 * 0.1773 * 0.1731, rel=0.01)
    assert dy["sigma_eff_pb"] == pytest.approx(dy["sigma_pythia_pb"] * dy["tau_factor"])
    assert dy["shards"][0]["tau_table_events"] == [150, 150]
    # W -> l nu is in PYTHIA's own cross section: ttbar (LO) ~ 500 pb x (3 x 0.108)^2
    assert 40 < result["ttbar"].metadata["sigma_eff_pb"] < 70
    sig = result["ggh_taumu"].metadata
    assert sig["sigma_eff_pb"] == pytest.approx(
        sig["sigma_pythia_pb"] * sig["tau_factor"] / sig["higgs_open_fraction"]
    )
    # gg -> H at LO (~25 pb) times BR(tau -> e nu nu), per unit BR(H -> tau mu)
    assert 3.0 < sig["sigma_eff_pb"] < 6.0


def test_selected_leptons_have_opposite_charges(pools):
    result, _ = pools
    for pool in result.values():
        cols, _ = read_pool(pool.path)
        assert np.all(cols["lep1_charge"] * cols["lep2_charge"] == -1)
        assert set(np.unique(cols["lep1_charge"])) <= {-1, 1}


def test_emu_and_mue_fractions_are_equal_in_the_sm(pools):
    result, _ = pools
    lead = np.concatenate(
        [read_pool(result[name].path)[0]["lead_flavour"] for name in BACKGROUNDS]
    )
    n = len(lead)
    assert n > 150
    f = np.mean(lead == 11)
    assert abs(f - 0.5) < 4 * math.sqrt(0.25 / n), (f, n)


def test_signal_collinear_mass_peaks_at_the_higgs_mass(pools):
    result, _ = pools
    for name, prompt in (("ggh_taumu", 13), ("ggh_taue", 11)):
        cols, _ = read_pool(result[name].path)
        assert len(cols["event"]) > 50
        assert abs(np.median(cols["m_coll"]) - 125.0) < 20.0
        # the prompt lepton is usually the harder: the signal sits in one sample
        assert np.mean(cols["lead_flavour"] == prompt) > 0.6


def test_yields_scale_with_luminosity_and_branching_ratio(pools):
    result, _ = pools
    bkg, sig = result["ttbar"], result["ggh_taumu"]
    one = expected_events(bkg, 1.0)
    assert one == pytest.approx(bkg.sigma_selected_fb)
    assert expected_events(bkg, 20.0) == pytest.approx(20 * one)
    assert expected_events(bkg.metadata, 0.0) == 0.0
    s = expected_events(sig, 10.0, branching_ratio=0.01)
    assert s == pytest.approx(0.1 * sig.sigma_selected_fb)
    assert expected_events(sig, 20.0, 0.01) == pytest.approx(2 * s)
    assert expected_events(sig, 10.0, 0.005) == pytest.approx(s / 2)
    with pytest.raises(ConfigError, match="branching ratio"):
        expected_events(sig, 10.0)
    with pytest.raises(ConfigError, match="background"):
        expected_events(bkg, 10.0, 0.01)


def test_same_pools_whatever_the_executor(tmp_path):
    distributed = pytest.importorskip("distributed")
    kw = {"n_events": 80, "seed": 5, "shard_size": 40}
    one = generate_emu(tmp_path / "one", "ggh_tautau", workers=1, **kw)
    two = generate_emu(tmp_path / "two", "ggh_tautau", workers=2, **kw)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        dask = generate_emu(
            tmp_path / "dask", "ggh_tautau", scheduler=cluster.scheduler_address, **kw
        )
    a, meta_a = read_pool(one["ggh_tautau"].path)
    assert len(meta_a["shards"]) == 2
    assert len(a["event"]) > 0
    for other in (two, dask):
        b, meta_b = read_pool(other["ggh_tautau"].path)
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
        assert meta_a["sigma_pythia_pb"] == meta_b["sigma_pythia_pb"]


def test_cli_generate_emu(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "emu",
            "--processes",
            "vbfh_taue",
            "--events",
            "100",
            "--workers",
            "1",
            "--seed",
            "3",
            "--flavour-dependent-detector",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "vbfh_taue" in result.output
    _, meta = read_pool(tmp_path / "vbfh_taue.parquet")
    assert meta["detector"]["muon"]["isolation"] == 0.25
    assert meta["seed"] == 3
    bad = CliRunner().invoke(cli, ["generate", "emu", "--processes", "zz"])
    assert bad.exit_code != 0
    assert "unknown process" in bad.output
