"""Small synthetic e-mu-like datasets and configurations for the scan tests."""

from __future__ import annotations

import numpy as np

from asymscan.config import config_from_dict


def make_events(
    n: int, rng: np.random.Generator, *, signal: int = 0
) -> dict[str, np.ndarray]:
    """Symmetric background (label a fair coin), plus ``signal`` events in B near m = 125."""
    ev = {
        "flav": np.where(rng.random(n) < 0.5, 11, 13),
        "m": rng.exponential(50, n) + 20,
        "pt": rng.exponential(30, n) + 10,
        "nj": rng.poisson(1.0, n),
    }
    if signal:
        extra = {
            "flav": np.full(signal, 13),
            "m": rng.normal(125, 4, signal),
            "pt": rng.uniform(30, 60, signal),
            "nj": rng.poisson(1.0, signal),
        }
        ev = {k: np.concatenate([ev[k], extra[k]]) for k in ev}
    return ev


def make_config(**scan):
    settings = {
        "dims": [1, 2],
        "min_entries": 25,
        "toys": 50,
        "seed": 1,
        "top": 5,
    } | scan
    return config_from_dict(
        {
            "data": {"paths": ["events.parquet"]},
            "symmetry": {"name": "e-mu vs mu-e", "a": "flav == 11", "b": "flav == 13"},
            "selections": [
                {
                    "name": "jets",
                    "categories": {"0j": "nj == 0", "1j": "nj == 1", "2j+": "nj >= 2"},
                }
            ],
            "observables": [
                {"name": "m", "bins": 28, "range": [30.0, 170.0]},
                {"name": "pt", "bins": 13, "range": [10.0, 140.0]},
            ],
            "scan": settings,
        }
    )


# --------------------------------------------------------------------------------------------
# a detector that sees A and B differently, and its efficiency maps as a correctionlib file

PT_EDGES = [10.0, 20.0, 30.0, 45.0, 70.0, 140.0]
#: True efficiencies per pT bin of the "A" and "B" configurations, and their uncertainties.
EFF = {
    "eff_a": ([0.95, 0.95, 0.95, 0.95, 0.95], [0.02, 0.02, 0.02, 0.02, 0.02]),
    "eff_b": ([0.35, 0.5, 0.65, 0.8, 0.9], [0.08, 0.06, 0.04, 0.03, 0.03]),
}


def write_efficiencies(path):
    """A correctionlib file with ``eff_a`` and ``eff_b`` (pt, syst: nominal/up/down)."""
    import correctionlib.schemav2 as cs

    def binning(values):
        return cs.Binning(
            nodetype="binning", input="pt", edges=PT_EDGES, content=values, flow="clamp"
        )

    corrections = []
    for name, (eff, err) in EFF.items():
        content = [
            cs.CategoryItem(key="nominal", value=binning(eff)),
            cs.CategoryItem(
                key="up", value=binning([e + s for e, s in zip(eff, err, strict=True)])
            ),
            cs.CategoryItem(
                key="down",
                value=binning([e - s for e, s in zip(eff, err, strict=True)]),
            ),
        ]
        corrections.append(
            cs.Correction(
                name=name,
                version=1,
                inputs=[
                    cs.Variable(name="pt", type="real"),
                    cs.Variable(name="syst", type="string"),
                ],
                output=cs.Variable(name="efficiency", type="real"),
                data=cs.Category(nodetype="category", input="syst", content=content),
            )
        )
    cset = cs.CorrectionSet(schema_version=2, corrections=corrections)
    path.write_text(cset.model_dump_json(exclude_unset=True))
    return path


def true_weights(pt, theta=(0.0, 0.0)):
    """1/efficiency of each configuration at pT, the efficiencies' weights pulled by theta
    (linear in the weight, as the scan's nuisances are)."""
    idx = np.clip(np.searchsorted(PT_EDGES, pt, side="right") - 1, 0, len(PT_EDGES) - 2)
    out = []
    for (eff, err), t in zip(EFF.values(), theta, strict=True):
        e, s = np.asarray(eff)[idx], np.asarray(err)[idx]
        w, up, down = 1 / e, 1 / (e + s), 1 / (e - s)
        out.append(w + t * (up - down) / 2)
    return out


def make_detector_events(n, rng, *, theta=(0.0, 0.0), signal=0):
    """Symmetric events seen by a detector with efficiency 1/w_a in A and 1/w_b in B.

    Each event of a symmetric sample (label a fair coin) is kept with its label's efficiency,
    so the observed B is strongly depleted at low pT. ``theta`` pulls the true efficiencies
    away from the nominal maps (in units of their uncertainties).
    """
    ev = make_events(n, rng, signal=signal)
    wa, wb = true_weights(ev["pt"], theta)
    eff = np.where(ev["flav"] == 11, 1 / wa, 1 / wb)
    keep = rng.random(eff.size) < eff
    return {k: v[keep] for k, v in ev.items()}


def detector_config(efficiencies, *, systematics=True, **scan):
    """make_config with the corrections of the detector above (and its two systematics)."""
    data = make_config(**scan).model_dump()
    data["corrections"] = {"files": [str(efficiencies)]}
    data["symmetry"]["weight_a"] = "1 / correction('eff_a', pt, 'nominal')"
    data["symmetry"]["weight_b"] = "1 / correction('eff_b', pt, 'nominal')"
    if systematics:
        data["systematics"] = [
            {"name": "A efficiency", "correction": "eff_a", "up": "up", "down": "down"},
            {"name": "B efficiency", "correction": "eff_b", "up": "up", "down": "down"},
        ]
    return config_from_dict(data)
