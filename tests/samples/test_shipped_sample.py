"""The PYTHIA e-mu sample shipped in the package, and the demo scan on it, end to end.

These tests read the real pools (``asymscan/samples/data``), not synthetic ones: the symmetry
of the Standard-Model pools, where the signal lands, what the metadata records, and the
README's main job (``asymscan demo``) with and without the injected signal.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from asymscan.cli import cli
from asymscan.cli.scan import DEMO
from asymscan.generate import BACKGROUNDS, SIGNALS
from asymscan.samples import DEFAULT_POOLS, emu, pool_summary
from asymscan.samples._pools import find_pools, read_table

LUMI = DEMO["lumi"]


@pytest.fixture(scope="module")
def pools():
    return find_pools(DEFAULT_POOLS)


def test_every_pool_is_shipped_with_its_generation_record(pools):
    assert set(pools) == {*BACKGROUNDS, *SIGNALS}
    for name, info in pools.items():
        meta = info.metadata
        assert meta["process"] == name
        assert meta["generator"]["name"] == "PYTHIA"
        assert meta["generator"]["settings"]
        assert meta["sigma_selected_fb"] > 0
        assert meta["n_selected"] == info.n_selected
        assert meta["float_mantissa_bits"] == 14
        assert meta["seed"] == 2026
        assert "isolation_cone" in meta["detector"]
        assert all(s["pythia_seed"] > 0 and s["sigma_pb"] > 0 for s in meta["shards"])
        assert len(read_table(info, ["event"])) == info.n_selected


def test_shipped_pools_serve_the_demo_luminosity():
    summary = pool_summary()
    for name in BACKGROUNDS:
        assert summary[name].max_lumi_fb >= LUMI, name
        if summary[name].events > 10_000:
            # the big pools (99% of the events): the expected yield plus 5 sqrt of it fits,
            # so their Poisson draw never needs the whole pool
            assert summary[name].max_lumi_fb_5sigma >= LUMI, name
    data = emu(LUMI, rng=0, columns=["lead_flavour"])
    keys = set(zip(data["process"], data["shard"], data["event"], strict=True))
    assert len(keys) == len(data["process"])  # no event drawn twice


@pytest.mark.parametrize("name", BACKGROUNDS)
def test_standard_model_pools_are_e_mu_symmetric(pools, name):
    """The leading lepton is an electron in half of the SM events, within statistics."""
    flav = read_table(pools[name], ["lead_flavour"]).column(0).to_numpy()
    n_e = int((flav == 11).sum())
    p = stats.binomtest(n_e, len(flav), 0.5).pvalue
    assert p > 1e-3, f"{name}: {n_e} e-mu of {len(flav)}"


@pytest.mark.parametrize(
    ("channel", "prompt"), [("taumu", 13), ("taue", 11)], ids=["taumu", "taue"]
)
def test_lfv_signal_peaks_at_the_higgs_mass_with_a_prompt_lepton(
    pools, channel, prompt
):
    for name in (n for n in SIGNALS if n.endswith(channel)):
        table = read_table(pools[name], ["m_coll", "lead_flavour"])
        m_coll = table.column("m_coll").to_numpy()
        lead = table.column("lead_flavour").to_numpy()
        assert 115 < np.median(m_coll) < 130, name
        # the prompt lepton is hard: it leads in most events
        assert np.mean(lead == prompt) > 0.6, name


def _demo(tmp_path, *args):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--toys", "99", *args])
    assert result.exit_code == 0, result.output
    return json.loads((out / "results.json").read_text())


def test_demo_finds_the_injected_higgs_lfv_signal(tmp_path):
    data = _demo(tmp_path)
    top = data["regions"][0]
    lo, hi = top["window"]["m_coll"]
    assert lo <= 125 <= hi  # the top region covers the signal's collinear-mass peak
    assert top["nsigma"] > 0  # B = mu-e in excess, as H -> tau mu (tau -> e) gives
    assert data["global"]["p_value"] == pytest.approx(1 / 100)  # above every toy


def test_demo_without_signal_is_compatible_with_a_fluctuation(tmp_path):
    data = _demo(tmp_path, "--signal", "none")
    assert data["global"]["p_value"] > 0.01
    assert data["global"]["max_abs_nsigma"] < 5.5
