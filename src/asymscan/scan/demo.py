"""The demo scan: a data set assembled from the shipped e-mu sample, with an LFV Higgs signal.

The symmetry is e <-> mu: sample A is e-mu (leading lepton an electron), sample B mu-e. The
signal H -> tau mu, tau -> e nu nu mostly has a prompt, hard muon, so it lands in B, near
m_coll ~ 125 GeV. The demo's settings (20 fb^-1, H -> tau mu at BR = 2%, 1000 toys) are
``asymscan.cli.scan.DEMO``. With a realistic detector (``--detector realistic``) electrons
and muons are found with different efficiencies, and the scan corrects with the shipped maps
and their systematics. Everything the scan needs is written beside its results: the events
(``demo_events.parquet``), the configuration (``demo.toml``) and, when corrected, the efficiency
maps, so the demo can be rerun with ``asymscan scan``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..config import Config, config_from_dict
from ..files import atomic_path

__all__ = ("demo_config", "demo_events", "write_demo_inputs")

_OBSERVABLES = (
    ("m_coll", 28, (30.0, 170.0)),
    ("lep1_pt", 28, (10.0, 150.0)),
    ("met", 20, (0.0, 100.0)),
)


def demo_config(
    events_path: str | Path,
    *,
    toys: int,
    seed: int,
    followup: bool = False,
    corrections: bool = False,
    corrections_file: str | Path | None = None,
) -> dict[str, Any]:
    """The demo's configuration as a dictionary (the content of ``demo.toml``).

    ``followup`` turns on the neural follow-up of the top regions (``[followup] nn``).
    ``corrections`` corrects for the realistic detector: the shipped efficiency maps
    (``[corrections]``), per-label weights (``weight_a``, ``weight_b``) and the maps'
    uncertainties as systematics (:data:`asymscan.samples.REALISTIC_WEIGHTS`,
    :data:`asymscan.samples.REALISTIC_SYSTEMATICS`), read from ``corrections_file``
    (default the shipped :data:`asymscan.samples.REALISTIC_EFFICIENCIES`).
    """
    data: dict[str, Any] = {
        "data": {"paths": [str(events_path)]},
        "symmetry": {
            "name": "e-mu vs mu-e",
            "a": "lead_flavour == 11",
            "b": "lead_flavour == 13",
        },
        "selections": [
            {
                "name": "jets",
                "categories": {
                    "0j": "n_jets == 0",
                    "1j": "n_jets == 1",
                    "2j+": "n_jets >= 2",
                },
            }
        ],
        "observables": [
            {"name": n, "bins": b, "range": [lo, hi]} for n, b, (lo, hi) in _OBSERVABLES
        ],
        "scan": {
            "dims": [1, 2],
            "min_entries": 25,
            "toys": toys,
            "seed": seed,
            "top": 20,
        },
    }
    if followup:
        data["followup"] = {"nn": True, "seed": seed}
    if corrections:
        from ..samples import (
            REALISTIC_EFFICIENCIES,
            REALISTIC_SYSTEMATICS,
            REALISTIC_WEIGHTS,
        )

        files = [str(corrections_file or REALISTIC_EFFICIENCIES)]
        data["corrections"] = {"files": files}
        data["symmetry"] |= dict(REALISTIC_WEIGHTS)
        data["systematics"] = [dict(s) for s in REALISTIC_SYSTEMATICS]
    return data


def demo_events(
    *,
    lumi: float,
    signal: str | None,
    branching_ratio: float,
    seed: int,
    pools: str | Path | None = None,
    detector: Any = None,
) -> dict:
    """Events of the demo: ``asymscan.samples.emu`` at ``lumi`` with the signal injected,
    seen by ``detector`` (None: electrons and muons alike; ``"realistic"``)."""
    from ..samples import emu

    return emu(
        lumi=lumi,
        signal=signal,
        branching_ratio=branching_ratio if signal else 0.0,
        rng=seed,
        pools=pools,
        detector=detector,
    )


def _toml(data: dict[str, Any]) -> str:
    """The demo configuration as TOML (strings, numbers, lists and one inline table)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return (
                "{ "
                + ", ".join(f"{value(k)} = {value(x)}" for k, x in v.items())
                + " }"
            )
        return repr(v)

    lines = []
    for table in ("data", "corrections", "symmetry", "scan", "followup"):
        if table not in data:
            continue
        lines.append(f"[{table}]")
        lines += [f"{k} = {value(v)}" for k, v in data[table].items()]
        lines.append("")
    for array in ("selections", "observables", "systematics"):
        for entry in data.get(array, []):
            lines.append(f"[[{array}]]")
            lines += [f"{k} = {value(v)}" for k, v in entry.items()]
            lines.append("")
    return "\n".join(lines)


def write_demo_inputs(
    events: dict,
    out: str | Path,
    *,
    toys: int,
    seed: int,
    followup: bool = False,
    corrections: bool = False,
) -> tuple[Config, Path]:
    """Write ``demo_events.parquet`` and ``demo.toml`` into ``out``; returns the config and its path.

    ``followup`` turns on the neural follow-up (``[followup] nn = true``), ``corrections``
    the realistic detector's corrections and systematics (:func:`demo_config`).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    events_path = out / "demo_events.parquet"
    with atomic_path(events_path) as tmp:
        pq.write_table(pa.table(events), tmp)
    maps = None
    if corrections:  # a copy beside the results, so that demo.toml reruns as it ran
        from ..samples import REALISTIC_EFFICIENCIES

        maps = out / REALISTIC_EFFICIENCIES.name
        with atomic_path(maps) as tmp:
            shutil.copyfile(REALISTIC_EFFICIENCIES, tmp)
    data = demo_config(
        events_path.name,
        toys=toys,
        seed=seed,
        followup=followup,
        corrections=corrections,
        corrections_file=None if maps is None else maps.name,
    )
    config_path = out / "demo.toml"
    with atomic_path(config_path) as tmp:
        tmp.write_text(_toml(data))
    return config_from_dict(data, base_dir=out, source=str(config_path)), config_path
