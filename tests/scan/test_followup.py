"""The neural follow-up of a scan's top regions: config, event collection, tests, outputs."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scan_factories import true_weights, write_efficiencies

from asymscan.cli import cli
from asymscan.config import config_from_dict, load_config
from asymscan.errors import ConfigError, DataError
from asymscan.nn import FitOptions, symmetrized_test
from asymscan.scan import run_scan
from asymscan.scan.followup import (
    _subsample,
    collect_samples,
    followup_targets,
    run_followup,
)
from asymscan.scan.output import write_results

#: Small, fast fits: 1-D samples aggregated into 64 fine bins, few starts.
FAST_FIELDS = {"n_starts": 8, "prune": (20, 4), "max_iter": 100, "bins": 64}
FAST = FitOptions(**FAST_FIELDS)


def make_events(n: int, rng: np.random.Generator, *, shift: float = 0.0) -> dict:
    """e-mu-like events; 4% in neither A nor B. ``shift`` moves m of B in the 1j category."""
    flav = rng.choice([11, 13, 15], n, p=[0.48, 0.48, 0.04])
    nj = rng.poisson(0.8, n)
    m = rng.normal(100.0, 20.0, n)
    m = np.where((flav == 13) & (nj == 1), m + shift, m)
    pt = rng.exponential(30.0, n) + 10.0
    return {"flav": flav, "nj": nj, "m": m, "pt": pt}


def make_config(followup: dict | None = None, **data):
    return config_from_dict(
        {
            "data": {"paths": ["events.parquet"]} | data,
            "symmetry": {"name": "e-mu vs mu-e", "a": "flav == 11", "b": "flav == 13"},
            "selections": [
                {
                    "name": "jets",
                    "categories": {"0j": "nj == 0", "1j": "nj == 1", "2j+": "nj >= 2"},
                }
            ],
            "observables": [
                {"name": "m", "bins": 16, "range": [40.0, 160.0]},
                {"name": "pt", "bins": 10, "range": [10.0, 110.0]},
            ],
            "scan": {"dims": [1], "toys": 0, "top": 10, "min_entries": 10},
            "followup": {"nn": True} | (followup or {}),
        }
    )


# --------------------------------------------------------------------------------------------
# a detector that sees A and B with different efficiencies (after tests/scan/scan_factories.py)


def make_detector_events(n: int, rng: np.random.Generator) -> dict:
    """Symmetric e-mu-like events (A/B a fair coin), each seen with its label's efficiency,
    and a generator weight ``w``: B is strongly depleted at low pT before correction."""
    ev = make_events(n, rng)
    ev["flav"] = np.where(rng.random(n) < 0.5, 11, 13)
    ev["w"] = rng.uniform(0.8, 1.2, n)
    wa, wb = true_weights(ev["pt"])
    keep = rng.random(n) < np.where(ev["flav"] == 11, 1 / wa, 1 / wb)
    return {k: v[keep] for k, v in ev.items()}


def make_weighted_config(efficiencies, followup: dict | None = None, **data):
    """make_config with the detector's corrections, data.weight and two systematics."""
    raw = make_config(followup, **data).model_dump()
    raw["data"]["weight"] = "w"
    raw["corrections"] = {"files": [str(efficiencies)]}
    raw["symmetry"]["weight_a"] = "1 / correction('eff_a', pt, 'nominal')"
    raw["symmetry"]["weight_b"] = "1 / correction('eff_b', pt, 'nominal')"
    raw["systematics"] = [
        {"name": "A efficiency", "correction": "eff_a", "up": "up", "down": "down"},
        {"name": "B efficiency", "correction": "eff_b", "up": "up", "down": "down"},
    ]
    return config_from_dict(raw)


# --------------------------------------------------------------------------------------------
# configuration


def test_followup_is_off_by_default():
    cfg = config_from_dict(
        {
            "data": {"paths": ["x.parquet"]},
            "symmetry": {"name": "s", "a": "f == 1", "b": "f == 2"},
            "observables": [{"name": "m", "bins": 4, "range": [0.0, 1.0]}],
        }
    )
    assert cfg.followup.nn is False
    assert (cfg.followup.regions, cfg.followup.permutations) == (3, 100)
    assert (cfg.followup.max_events, cfg.followup.seed) == (50_000, 0)


@pytest.mark.parametrize(
    ("followup", "data", "expected"),
    [
        (
            {"permutaions": 10},
            {},
            (
                "followup.permutaions: unknown key 'permutaions' in [followup]; "
                "did you mean 'permutations'?"
            ),
        ),
        (
            {"permutations": 0},
            {},
            "followup.permutations: Input should be greater than or equal to 1",
        ),
        ({"regions": 0}, {}, "followup.regions: Input should be greater than or equal"),
        ({"max_events": 99}, {}, "followup.max_events: Input should be greater than"),
        ({"nn": 1}, {}, "followup.nn: Input should be a valid boolean"),
        ({"seed": -1}, {}, "followup.seed"),
    ],
)
def test_bad_followup_config(followup, data, expected):
    with pytest.raises(ConfigError) as info:
        make_config(followup, **data)
    assert expected in str(info.value)


def test_bad_followup_config_from_toml(tmp_path):
    path = tmp_path / "scan.toml"
    path.write_text(
        '[data]\npaths = ["e.parquet"]\nweight = "w"\n'
        '[symmetry]\nname = "s"\na = "f == 1"\nb = "f == 2"\n'
        '[[observables]]\nname = "m"\nbins = 4\nrange = [0.0, 1.0]\n'
        "[followup]\nnn = true\npermutations = 0\ncolour = 1\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "scan.toml" in msg
    assert "followup.colour: unknown key 'colour' in [followup]" in msg
    assert "followup.permutations: Input should be greater than or equal to 1" in msg


def test_weighted_configurations_can_turn_the_followup_on(tmp_path):
    assert make_config({}, weight="w").followup.nn is True  # data.weight
    cfg = make_weighted_config(write_efficiencies(tmp_path / "eff.json"))
    assert cfg.followup.nn is True  # label-dependent weights and systematics
    assert cfg.data.weight is not None
    assert len(cfg.systematics) == 2


# --------------------------------------------------------------------------------------------
# which regions, which events


def test_targets_are_distinct_and_in_rank_order():
    cfg = make_config({"regions": 2})
    regions = [
        {"rank": 2, "selection": {"jets": "1j"}, "observables": ["m"]},
        {"rank": 1, "selection": {"jets": "1j"}, "observables": ["m"]},
        {"rank": 3, "selection": {}, "observables": ["pt"]},
        {"rank": 4, "selection": {}, "observables": ["m"]},
    ]
    assert followup_targets(cfg, regions) == [
        (1, ((("jets", "1j"),), ("m",))),
        (3, ((), ("pt",))),
    ]
    with pytest.raises(ConfigError, match="jets=3j is not a category"):
        followup_targets(
            cfg, [{"rank": 1, "selection": {"jets": "3j"}, "observables": ["m"]}]
        )
    with pytest.raises(ConfigError, match="not observables of the configuration"):
        followup_targets(cfg, [{"rank": 1, "selection": {}, "observables": ["mass"]}])


def test_samples_are_the_selected_events_in_range(rng, tmp_path):
    ev = make_events(3000, rng)
    ev["m"][:40] = np.nan  # non-finite and out-of-range values are left out
    ev["m"][40:80] = 500.0
    cfg = make_config()
    targets = [
        ((("jets", "1j"),), ("m",)),
        ((), ("m", "pt")),
        ((("jets", "2j+"),), ("pt",)),
    ]
    chunks = [{k: v[i : i + 1000] for k, v in ev.items()} for i in (0, 1000, 2000)]
    samples = collect_samples(cfg, targets, chunks)

    in_ab = (ev["flav"] == 11) | (ev["flav"] == 13)
    m_in = np.isfinite(ev["m"]) & (ev["m"] >= 40) & (ev["m"] < 160)
    pt_in = (ev["pt"] >= 10) & (ev["pt"] < 110)
    masks = [
        in_ab & (ev["nj"] == 1) & m_in,
        in_ab & m_in & pt_in,
        in_ab & (ev["nj"] >= 2) & pt_in,
    ]
    for (x, is_a, w), mask, (_, names) in zip(samples, masks, targets, strict=True):
        assert w is None  # unweighted
        assert x.shape == (mask.sum(), len(names))
        np.testing.assert_array_equal(x, np.stack([ev[n][mask] for n in names], axis=1))
        np.testing.assert_array_equal(is_a, ev["flav"][mask] == 11)

    # the same events read from a file, in chunks on the scan's reader
    pq.write_table(pa.table(ev), tmp_path / "events.parquet", row_group_size=700)
    from_file = collect_samples(
        make_config(paths=[str(tmp_path / "events.parquet")]), targets
    )
    for (x, is_a, _), (y, is_b, _) in zip(samples, from_file, strict=True):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(is_a, is_b)


def test_subsample_keeps_labels_and_draws_without_replacement():
    x = np.arange(1000.0)[:, None]
    is_a = np.arange(1000) % 3 == 0
    w = np.column_stack([np.arange(1000.0) + 1, 2 * np.arange(1000.0) + 1])
    seed = np.random.SeedSequence(5)
    y, is_b, w_y, done = _subsample(x, is_a, 200, seed, w)
    assert done
    assert len(np.unique(y)) == 200  # no event twice
    assert np.all(np.diff(y[:, 0]) > 0)  # original order
    np.testing.assert_array_equal(is_b, y[:, 0] % 3 == 0)  # labels travel with events
    np.testing.assert_array_equal(w_y, w[y[:, 0].astype(int)])  # and so do the weights
    y2, _, none, _ = _subsample(x, is_a, 200, np.random.SeedSequence(5))
    np.testing.assert_array_equal(y, y2)  # reproducible, with or without weights
    assert none is None
    same, _, same_w, done = _subsample(x, is_a, 1000, seed, w)
    assert not done
    assert same is x
    assert same_w is w


# --------------------------------------------------------------------------------------------
# the tests


@pytest.mark.usefixtures("one_thread")
def test_planted_difference_is_found(rng):
    ev = make_events(4000, rng, shift=12.0)
    cfg = make_config({"regions": 1, "permutations": 19, "seed": 3})
    result = run_scan(make_config({"nn": False}), events=ev)
    assert result.followup == []
    assert result.regions[0]["selection"] == {"jets": "1j"}
    calls = []
    rows = run_followup(
        cfg,
        result.regions,
        events=ev,
        options=FAST,
        progress=lambda d, n: calls.append((d, n)),
    )
    assert len(rows) == 1
    row = rows[0]
    assert row["rank"] == 1
    assert row["selection"] == {"jets": "1j"}
    assert row["observables"] == ["m"]
    assert row["skipped"] is None
    assert not row["subsampled"]
    assert row["n_a"] + row["n_b"] == row["n_selected"] > 1000
    assert row["permutation_p_value"] == pytest.approx(
        1 / 20
    )  # beyond every permutation
    assert row["permutations"] == 19
    assert row["t"] > 40
    assert row["chi2_p_value"] < 1e-5
    assert row["dof"] == 12
    assert calls[-1] == (19, 19)


@pytest.mark.usefixtures("one_thread")
def test_symmetric_events_are_not_significant(rng):
    ev = make_events(3000, rng)
    result = run_scan(make_config({"nn": False}), events=ev)
    cfg = make_config({"regions": 2, "permutations": 19, "seed": 1})
    rows = run_followup(cfg, result.regions, events=ev, options=FAST)
    assert len(rows) == 2
    for row in rows:
        assert row["permutation_p_value"] > 0.05
        assert row["permutation_z"] < 1.7


@pytest.mark.usefixtures("one_thread")
def test_large_selections_are_subsampled(rng):
    ev = make_events(4000, rng)
    regions = [{"rank": 1, "selection": {}, "observables": ["m"]}]
    cfg = make_config({"regions": 1, "permutations": 1, "max_events": 1000})
    (row,) = run_followup(cfg, regions, events=ev, options=FAST)
    ((x, is_a, _),) = collect_samples(cfg, [((), ("m",))], ev)
    assert row["subsampled"]
    assert row["n_selected"] == len(x) > 3000
    assert row["n_a"] + row["n_b"] == 1000
    assert row["n_a"] / 1000 == pytest.approx(is_a.mean(), abs=0.05)
    cfg = make_config({"regions": 1, "permutations": 1, "max_events": 50_000})
    (row,) = run_followup(cfg, regions, events=ev, options=FAST)
    assert not row["subsampled"]
    assert row["n_a"] + row["n_b"] == row["n_selected"]


@pytest.mark.usefixtures("one_thread")
def test_too_few_events_are_skipped_with_a_reason(rng):
    ev = make_events(400, rng)
    ev["flav"] = np.where(ev["nj"] >= 2, 11, ev["flav"])  # no B in 2j+
    regions = [{"rank": 1, "selection": {"jets": "2j+"}, "observables": ["m"]}]
    (row,) = run_followup(make_config({"regions": 1}), regions, events=ev, options=FAST)
    assert row["n_b"] == 0
    assert "too few events" in row["skipped"]
    assert row["t"] is None
    assert row["permutation_p_value"] is None


@pytest.mark.usefixtures("one_thread")
def test_run_scan_runs_the_followup_on_one_shot_chunks(rng):
    ev = make_events(600, rng)
    cfg = make_config({"regions": 1, "permutations": 2})
    chunks = iter(
        [{k: v[:300] for k, v in ev.items()}, {k: v[300:] for k, v in ev.items()}]
    )
    result = run_scan(cfg, events=chunks)
    assert len(result.followup) == 1
    assert result.followup[0]["rank"] == 1
    assert result.followup[0]["n_selected"] > 0
    assert result.to_dict()["followup"] == result.followup


@pytest.mark.usefixtures("one_thread")
def test_results_do_not_depend_on_the_executor_or_the_source(rng, tmp_path):
    ev = make_events(2000, rng, shift=5.0)
    pq.write_table(pa.table(ev), tmp_path / "events.parquet", row_group_size=500)
    cfg = make_config(
        {"regions": 2, "permutations": 8}, paths=[str(tmp_path / "events.parquet")]
    )
    regions = [
        {"rank": 1, "selection": {"jets": "1j"}, "observables": ["m"]},
        {"rank": 2, "selection": {}, "observables": ["pt"]},
    ]
    here = run_followup(cfg, regions, options=FAST)
    with ProcessPoolExecutor(2) as pool:
        assert run_followup(cfg, regions, options=FAST, executor=pool) == here
    assert run_followup(cfg, regions, options=FAST, events=ev) == here


# --------------------------------------------------------------------------------------------
# weighted events


def test_samples_carry_the_nominal_weights(rng, tmp_path):
    ev = make_detector_events(3000, rng)
    cfg = make_weighted_config(write_efficiencies(tmp_path / "eff.json"))
    targets = [((("jets", "1j"),), ("pt",)), ((), ("m", "pt"))]
    chunks = [{k: v[i : i + 700] for k, v in ev.items()} for i in range(0, 3000, 700)]
    in_ab = (ev["flav"] == 11) | (ev["flav"] == 13)
    m_in = (ev["m"] >= 40) & (ev["m"] < 160)
    pt_in = (ev["pt"] >= 10) & (ev["pt"] < 110)
    masks = [in_ab & (ev["nj"] == 1) & pt_in, in_ab & m_in & pt_in]
    wa, wb = true_weights(ev["pt"])
    for (_, is_a, w), mask in zip(
        collect_samples(cfg, targets, chunks), masks, strict=True
    ):
        assert w.shape == (mask.sum(), 2)
        np.testing.assert_allclose(w[:, 0], (ev["w"] * wa)[mask], rtol=1e-12)
        np.testing.assert_allclose(w[:, 1], (ev["w"] * wb)[mask], rtol=1e-12)
        np.testing.assert_array_equal(is_a, ev["flav"][mask] == 11)
    # only data.weight: the same weight whatever the label
    ((_, _, w),) = collect_samples(make_config({}, weight="w"), targets[:1], ev)
    np.testing.assert_array_equal(w[:, 0], w[:, 1])
    np.testing.assert_array_equal(w[:, 0], ev["w"][masks[0]])
    # a selection with no events: empty weights, not None
    ((_, _, w),) = collect_samples(cfg, targets[:1], {k: v[:0] for k, v in ev.items()})
    assert w.shape == (0, 2)


@pytest.mark.usefixtures("one_thread")
def test_weighted_followup_corrects_the_detector(rng, tmp_path):
    """A detector that loses B at low pT: unweighted, the pT spectra differ hugely; with the
    nominal corrections they agree, and the weighted permutations calibrate the test."""
    ev = make_detector_events(2500, rng)
    efficiencies = write_efficiencies(tmp_path / "eff.json")
    settings = {"regions": 1, "permutations": 19, "seed": 4}
    regions = [{"rank": 1, "selection": {}, "observables": ["pt"]}]
    weighted = make_weighted_config(efficiencies, settings)
    (row,) = run_followup(weighted, regions, events=ev, options=FAST)
    (plain,) = run_followup(make_config(settings), regions, events=ev, options=FAST)
    assert row["weights"] == "nominal corrections (w_a, w_b)"
    assert plain["weights"] is None
    assert row["skipped"] is None
    assert row["n_a"] + row["n_b"] == row["n_selected"] == plain["n_selected"] > 1000
    assert plain["permutation_p_value"] == pytest.approx(1 / 20)
    assert plain["t"] > 40
    assert row["permutation_p_value"] > 0.1
    assert row["t"] < plain["t"] / 3
    # the row's t is the weighted test of the collected events: A by w_a, B by w_b
    ((x, is_a, w),) = collect_samples(weighted, [((), ("pt",))], ev)
    direct = symmetrized_test(
        x[is_a], x[~is_a], w_a=w[is_a, 0], w_b=w[~is_a, 1], **FAST_FIELDS, rng=4
    )
    assert row["t"] == pytest.approx(direct.t, rel=1e-9)
    assert set(row) == set(plain)


@pytest.mark.usefixtures("one_thread")
def test_data_weight_alone_runs_the_followup(rng):
    ev = make_detector_events(1500, rng)
    ev["flav"] = np.where(rng.random(len(ev["flav"])) < 0.5, 11, 13)  # symmetric
    regions = [{"rank": 1, "selection": {}, "observables": ["m"]}]
    cfg = make_config({"regions": 1, "permutations": 4}, weight="w")
    (row,) = run_followup(cfg, regions, events=ev, options=FAST)
    assert row["weights"] == "data.weight"
    assert row["skipped"] is None
    assert row["permutations"] == 4
    assert np.isfinite(row["t"])


@pytest.mark.usefixtures("one_thread")
def test_run_scan_runs_the_weighted_followup(rng, tmp_path):
    ev = make_detector_events(1200, rng)
    cfg = make_weighted_config(
        write_efficiencies(tmp_path / "eff.json"), {"regions": 1, "permutations": 2}
    )
    result = run_scan(cfg, events=ev)
    (row,) = result.followup
    assert row["weights"] == "nominal corrections (w_a, w_b)"
    assert row["permutations"] == 2


@pytest.mark.parametrize(
    ("weight_b", "match"),
    [
        ("0 * pt", "zero or negative"),
        ("-1 / correction('eff_b', pt, 'nominal')", "zero or negative"),
        ("where(pt > 30, 1 / correction('eff_b', pt, 'nominal'), log(-pt))", "NaN"),
    ],
)
def test_bad_weights_are_errors(rng, tmp_path, weight_b, match):
    raw = make_weighted_config(write_efficiencies(tmp_path / "eff.json")).model_dump()
    raw["symmetry"]["weight_b"] = weight_b
    raw["systematics"] = []  # a systematic must vary a correction that the weights call
    regions = [{"rank": 1, "selection": {}, "observables": ["pt"]}]
    with pytest.raises(DataError, match=match):
        run_followup(
            config_from_dict(raw), regions, events=make_detector_events(300, rng)
        )


# --------------------------------------------------------------------------------------------
# outputs


def _write_config(tmp_path, followup: str) -> str:
    path = tmp_path / "scan.toml"
    path.write_text(
        '[data]\npaths = ["events.parquet"]\n'
        '[symmetry]\nname = "emu"\na = "flav == 11"\nb = "flav == 13"\n'
        '[[observables]]\nname = "m"\nbins = 12\nrange = [40.0, 160.0]\n'
        "[scan]\ntoys = 5\nmin_entries = 10\n" + followup
    )
    return str(path)


@pytest.mark.usefixtures("one_thread")
def test_cli_scan_writes_the_followup(rng, tmp_path):
    pq.write_table(pa.table(make_events(400, rng)), tmp_path / "events.parquet")
    config = _write_config(
        tmp_path, "[followup]\nnn = true\nregions = 1\npermutations = 2\n"
    )
    result = CliRunner().invoke(cli, ["scan", config, "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    (row,) = data["followup"]
    assert row["rank"] == 1
    assert row["observables"] == ["m"]
    assert row["permutations"] == 2
    assert row["permutation_p_value"] in (1 / 3, 2 / 3, 1.0)
    assert data["config"]["followup"]["nn"] is True
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Neural follow-up" in html
    assert "neural follow-up" in result.output


def test_cli_scan_without_followup_writes_an_empty_list(rng, tmp_path):
    pq.write_table(pa.table(make_events(400, rng)), tmp_path / "events.parquet")
    result = CliRunner().invoke(
        cli, ["scan", _write_config(tmp_path, ""), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["followup"] == []
    assert "Neural follow-up" not in (tmp_path / "out" / "report.html").read_text()


def test_outputs_hold_the_followup(rng, tmp_path):
    result = run_scan(make_config({"nn": False}), events=make_events(2000, rng))
    result.followup = [
        {
            "rank": 1,
            "selection": {"jets": "1j"},
            "observables": ["m"],
            "n_selected": 5000,
            "n_a": 400,
            "n_b": 500,
            "subsampled": True,
            "t": float("inf"),
            "dof": 12,
            "chi2_p_value": 0.0,
            "chi2_z": float("inf"),
            "converged": True,
            "permutation_p_value": 0.01,
            "permutation_p_value_error": 0.01,
            "permutation_z": 2.3,
            "permutations": 99,
            "skipped": None,
        }
    ]
    paths = write_results(result, tmp_path)
    data = json.loads(paths["results"].read_text())
    assert data["followup"][0]["t"] is None  # inf is not JSON: null
    html = paths["report"].read_text()
    assert "random 900 of 5000" in html
    assert "2.30" in html
