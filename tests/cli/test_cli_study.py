"""``asymscan study binned`` end to end, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from asymscan import __version__, templates
from asymscan.cli import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_study_binned_writes_numbers_and_plots(tmp_path):
    out = tmp_path / "study"
    result = CliRunner().invoke(
        cli, ["study", "binned", "--toys", "300", "--seed", "3", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "study.json").read_text())
    assert data["asimov_z"]["q0_L2"] == pytest.approx(3.53, abs=0.01)
    assert data["settings"]["seed"] == 3
    for name in data["figures"].values():
        png = (out / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(png) > 10_000
    assert not list(out.glob(".*.tmp")), "temporary files left behind"


def test_study_binned_from_template_file(tmp_path):
    path = tmp_path / "templates.npz"
    np.savez(
        path,
        background=templates.flat((10, 10), 300.0),
        signal=templates.gaussian((10, 10), sigma=1.5),
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        [
            "study",
            "binned",
            "--templates",
            str(path),
            "--toys",
            "200",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "study.json").read_text())
    assert data["settings"]["templates"] == str(path)
    assert data["asimov_z"]["q0_L1"] == pytest.approx(5.0, rel=1e-6)


def test_study_binned_bad_template_file(tmp_path):
    path = tmp_path / "templates.npz"
    np.savez(path, background=templates.flat((10, 10), 300.0))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["study", "binned", "--templates", str(path), "--out", str(out)]
    )
    assert result.exit_code != 0
    assert "signal" in result.output
    assert not out.exists(), "no output folder for a failed run"


def test_study_binned_rejects_bad_options(tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        cli, ["study", "binned", "--toys", "0", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "--toys" in result.output
    result = runner.invoke(
        cli, ["study", "binned", "--preset", "nope", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "nope" in result.output


def test_result_files_get_the_usual_permissions(tmp_path):
    import os

    from asymscan.report import write_json

    path = write_json(tmp_path / "x.json", {"a": 1})
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_result_files_are_standard_json(tmp_path):
    import json

    from asymscan.report import write_json

    path = write_json(
        tmp_path / "x.json", {"z": float("-inf"), "p": [0.5, float("nan")], "n": 3}
    )

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    assert json.loads(path.read_text(), parse_constant=refuse) == {
        "z": None,
        "p": [0.5, None],
        "n": 3,
    }


def test_study_nn_quick_writes_numbers_and_plots(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "nn"
    args = ["study", "nn", "--preset", "quick", "--parts", "null,epochs"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads((out / "study.json").read_text())
    assert set(data["figures"]) == {"null", "epochs"}
    assert data["config"]["seed"] == 1
    assert "chi2_12" in result.output
    for name in data["figures"].values():
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a rerun with --resume reads the parts back: the same numbers
    again = CliRunner().invoke(cli, [*args, "--resume", "--out", str(out)])
    assert again.exit_code == 0, again.output
    data2 = json.loads((out / "study.json").read_text())
    assert data2["null"] == data["null"]


def test_study_nn_bad_part(tmp_path):
    pytest.importorskip("torch")
    result = CliRunner().invoke(
        cli,
        ["study", "nn", "--preset", "quick", "--parts", "nul", "--out", str(tmp_path)],
    )
    assert result.exit_code != 0
    assert "unknown study part" in result.output
