"""Runs you can trust: Ctrl-C and SIGKILL part-way through the toys, and reused output folders."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scan_factories import make_events

from asymscan.cli import cli

TOYS = 3000


@pytest.fixture
def config_file(tmp_path, rng):
    pq.write_table(pa.table(make_events(20000, rng)), tmp_path / "events.parquet")
    lines = [
        "[data]",
        'paths = ["events.parquet"]',
        "[symmetry]",
        'name = "e-mu vs mu-e"',
        'a = "flav == 11"',
        'b = "flav == 13"',
        "[scan]",
        f"dims = [1, 2]\nmin_entries = 25\ntoys = {TOYS}\nseed = 1\ntop = 5",
        "[[selections]]",
        'name = "jets"',
        'categories = { "0j" = "nj == 0", "1j" = "nj == 1", "2j+" = "nj >= 2" }',
        "[[observables]]",
        'name = "m"\nbins = 28\nrange = [30.0, 170.0]',
        "[[observables]]",
        'name = "pt"\nbins = 13\nrange = [10.0, 140.0]',
    ]
    path = tmp_path / "scan.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _start(config_file, out, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asymscan",
            "scan",
            str(config_file),
            "--out",
            str(out),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def _wait_for_shards(out, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    start = time.monotonic()
    while len(list((out / "shards").glob("item_*.npy"))) < n:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() - start < timeout, "no shard finished"
        time.sleep(0.05)


def _alive(processes) -> list:
    return [
        p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]


@pytest.mark.parametrize("workers", [None, "2"])
def test_ctrl_c_keeps_finished_shards_and_resume_is_identical(
    config_file, tmp_path, workers
):
    extra = () if workers is None else ("--workers", workers)
    out = tmp_path / "out"
    proc = _start(config_file, out, *extra)
    _wait_for_shards(out, 2, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert time.monotonic() - sent < 5, output
    assert proc.returncode == 130, output
    assert "interrupted:" in output
    assert "--resume" in output
    saved = len(list((out / "shards").glob("item_*.npy")))
    assert 2 <= saved < TOYS // 50
    assert not (out / "results.json").exists()
    time.sleep(1.0)
    assert not _alive(children)

    resumed = _start(config_file, out, "--resume", *extra)
    resumed.communicate(timeout=600)
    assert resumed.returncode == 0
    reference = _start(config_file, tmp_path / "reference")
    reference.communicate(timeout=600)
    got = json.loads((out / "results.json").read_text())["global"]
    want = json.loads((tmp_path / "reference" / "results.json").read_text())["global"]
    assert got == want


def test_sigkill_then_resume_is_identical_and_no_worker_survives(config_file, tmp_path):
    out = tmp_path / "out"
    proc = _start(config_file, out, "--workers", "2")
    _wait_for_shards(out, 3, proc)
    children = psutil.Process(proc.pid).children(recursive=True)
    assert children
    proc.kill()
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 5
    while _alive(children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(children)
    resumed = _start(config_file, out, "--resume")
    resumed.communicate(timeout=600)
    assert resumed.returncode == 0
    reference = _start(config_file, tmp_path / "reference")
    reference.communicate(timeout=600)
    got = json.loads((out / "results.json").read_text())["global"]
    want = json.loads((tmp_path / "reference" / "results.json").read_text())["global"]
    assert got == want


def _scan(config_file, out, *extra: str):
    return CliRunner().invoke(
        cli,
        ["scan", str(config_file), "--out", str(out), *extra],
        catch_exceptions=False,
    )


def test_a_reused_output_folder_is_never_silently_mixed_or_deleted(
    config_file, tmp_path
):
    out = tmp_path / "out"
    text = config_file.read_text().replace(f"toys = {TOYS}", "toys = 100")
    config_file.write_text(text)
    assert _scan(config_file, out).exit_code == 0
    (out / "region_99.png").write_bytes(b"stale plot of an earlier run")
    (out / "notes.txt").write_text("the user's own file")
    before = sorted(p.name for p in out.iterdir())

    again = _scan(config_file, out)  # neither --resume nor --overwrite
    assert again.exit_code != 0
    assert "--overwrite" in again.output
    assert sorted(p.name for p in out.iterdir()) == before  # nothing deleted

    config_file.write_text(text.replace("seed = 1", "seed = 2"))
    mismatch = _scan(config_file, out, "--resume")
    assert mismatch.exit_code != 0
    assert "different: seed)" in mismatch.output
    assert not (out / "results.json").exists()  # no old result beside the kept shards

    fresh = _scan(config_file, out, "--overwrite")
    assert fresh.exit_code == 0
    assert not (out / "region_99.png").exists()
    assert (out / "notes.txt").exists()
    assert json.loads((out / "results.json").read_text())["config"]["scan"]["seed"] == 2


def test_names_with_rich_markup_are_printed_as_written(tmp_path, rng):
    """Category names like "[/x]" or "[red]" are text in the summary, not rich markup."""
    pq.write_table(pa.table(make_events(4000, rng)), tmp_path / "events.parquet")
    (tmp_path / "scan.toml").write_text(
        "[data]\npaths = ['events.parquet']\n[symmetry]\nname = 's'\na = 'flav == 11'\n"
        "b = 'flav == 13'\n[scan]\ntoys = 0\n[[selections]]\nname = '[red]jets'\n"
        "categories = { '[/x]' = 'nj == 0', '[bold]' = 'nj >= 1' }\n"
        "[[observables]]\nname = 'm'\nbins = 28\nrange = [30.0, 170.0]\n"
    )
    result = _scan(tmp_path / "scan.toml", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "[red]jets=" in result.output
