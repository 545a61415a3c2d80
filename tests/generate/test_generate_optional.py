"""PYTHIA stays optional: importing asymscan does not need it; using it without it says how."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from asymscan.cli import cli
from asymscan.generate import PROCESSES, run_shard


def test_import_does_not_load_pythia_or_fastjet():
    code = (
        "import sys, asymscan, asymscan.generate, asymscan.cli; "
        "bad = {'pythia8mc', 'fastjet'} & set(sys.modules); "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def no_pythia(monkeypatch):
    monkeypatch.setitem(sys.modules, "pythia8mc", None)


@pytest.mark.usefixtures("no_pythia")
def test_missing_pythia_says_how_to_install_it():
    with pytest.raises(ModuleNotFoundError, match=r"asymscan\[pythia\]"):
        run_shard(PROCESSES["ww"], 10, 1)


@pytest.mark.usefixtures("no_pythia")
def test_cli_reports_missing_pythia(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "generate",
            "emu",
            "--processes",
            "ww",
            "--events",
            "10",
            "--workers",
            "1",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code != 0
    assert "asymscan[pythia]" in result.output
    assert not list(tmp_path.iterdir())
