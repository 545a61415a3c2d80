"""A flavour-dependent detector for the e-mu sample, and its measured efficiency maps.

The shipped pools were generated with a detector that finds electrons and muons alike, so the
e-mu (A: electron leading) and mu-e (B: muon leading) samples are symmetric up to statistics.
A real detector does not: electrons are identified and isolated less efficiently than muons,
worst at low pT and in the barrel-endcap crack, and their triggers differ too. Because the
electron is the soft lepton in B and the hard one in A, such differences make A and B differ
with no new physics at all: the e <-> mu symmetry of Birman et al. 2022 holds for the events
produced, and the detector's efficiencies must be corrected for before the test.

This module holds

- :class:`EfficiencyMap`: one efficiency binned in (pT, |eta|) with its stated uncertainty;
- :class:`Detector`: the four maps ``electron_idiso``, ``muon_idiso`` (identification x
  isolation) and ``electron_trigger``, ``muon_trigger`` (single-lepton trigger, per leg), and the
  event efficiency

  .. math:: \\epsilon = \\epsilon^{id}_e(e)\\, \\epsilon^{id}_\\mu(\\mu)\\,
     [1 - (1 - \\epsilon^{trig}_e(e))(1 - \\epsilon^{trig}_\\mu(\\mu))]

  (either lepton fires the trigger);
- :data:`REALISTIC`: the realistic detector, whose maps are also the *measured* maps shipped as
  a correctionlib file, :data:`REALISTIC_EFFICIENCIES`; :func:`realistic_detector` makes one
  whose truth differs from the measurement by some sigma (e.g. electron ID x iso +1.5 sigma
  below 25 GeV) to test what wrong maps do;
- :data:`REALISTIC_WEIGHTS`, :data:`REALISTIC_SYSTEMATICS`: the per-event weights (one per
  label) and systematics as expressions and entries for a scan configuration, and
  :func:`event_weights`, the same weights computed directly with correctionlib.

Regenerate the shipped file with ``python -m asymscan.samples.detector``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError

__all__ = (
    "ABSETA_EDGES",
    "EFFICIENCY_COLUMNS",
    "MAP_NAMES",
    "PT_EDGES",
    "REALISTIC",
    "REALISTIC_EFFICIENCIES",
    "REALISTIC_SYSTEMATICS",
    "REALISTIC_WEIGHTS",
    "SYSTS",
    "Detector",
    "EfficiencyMap",
    "event_weights",
    "realistic_detector",
    "write_corrections",
)

#: The names of a detector's maps (and of the corrections in the correctionlib file).
MAP_NAMES = ("electron_idiso", "muon_idiso", "electron_trigger", "muon_trigger")

#: The values of the ``syst`` input of every correction.
SYSTS = ("nominal", "up", "down")

#: The shipped correctionlib file of the measured maps (those of :data:`REALISTIC`).
REALISTIC_EFFICIENCIES = Path(__file__).parent / "data" / "realistic_efficiencies.json"

#: Lowest efficiency a map (or a shifted truth, or the "down" variation) takes.
EFFICIENCY_FLOOR = 1e-3

#: Decimals the variations and shifted values are rounded to.
DECIMALS = 9

_LEPTON_COLUMNS = ("lep1_pt", "lep1_eta", "lep2_pt", "lep2_eta")
#: Columns the event efficiency reads (the weights need all but ``lead_flavour``).
EFFICIENCY_COLUMNS = ("lead_flavour", *_LEPTON_COLUMNS)

_Table = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class EfficiencyMap:
    """One efficiency, binned in lepton pT and |eta|, with its stated (absolute) uncertainty.

    A value ``x`` falls in bin ``i`` when ``edges[i] <= x < edges[i + 1]``; values outside the
    edges are clamped to the first or last bin (correctionlib's ``flow="clamp"``).

    Attributes
    ----------
    pt_edges
        pT bin edges in GeV, increasing (the last may be ``inf``).
    abseta_edges
        |eta| bin edges, increasing.
    values
        Efficiencies, one row per pT bin, one column per |eta| bin, in (0, 1].
    errors
        Stated absolute uncertainties, same shape, >= 0.
    """

    pt_edges: tuple[float, ...]
    abseta_edges: tuple[float, ...]
    values: _Table
    errors: _Table

    def __post_init__(self) -> None:
        shape = (len(self.pt_edges) - 1, len(self.abseta_edges) - 1)
        for name, edges in (
            ("pt_edges", self.pt_edges),
            ("abseta_edges", self.abseta_edges),
        ):
            if len(edges) < 2 or not np.all(np.diff(edges) > 0):
                msg = f"{name} must be at least two increasing numbers, got {edges}"
                raise ConfigError(msg)
        for name, table in (("values", self.values), ("errors", self.errors)):
            if np.shape(table) != shape:
                msg = f"{name} has shape {np.shape(table)}; the edges need {shape} (pT, |eta|)"
                raise ConfigError(msg)
        values, errors = np.asarray(self.values), np.asarray(self.errors)
        if not np.all((values > 0) & (values <= 1)):
            msg = (
                f"efficiencies must lie in (0, 1], got {values.min()} .. {values.max()}"
            )
            raise ConfigError(msg)
        if not np.all(errors >= 0):
            msg = f"uncertainties must be >= 0, got a minimum of {errors.min()}"
            raise ConfigError(msg)

    @property
    def shape(self) -> tuple[int, int]:
        """(pT bins, |eta| bins)."""
        return len(self.pt_edges) - 1, len(self.abseta_edges) - 1

    def table(self, syst: str = "nominal") -> np.ndarray:
        """The binned efficiencies: ``"nominal"``, or +-1 stated uncertainty (``"up"``/``"down"``).

        The variations are clamped to [:data:`EFFICIENCY_FLOOR`, 1] and rounded to
        :data:`DECIMALS` decimals, so that they are written to JSON exactly.
        """
        values, errors = np.asarray(self.values), np.asarray(self.errors)
        if syst == "nominal":
            return values
        if syst == "up":
            return np.round(np.minimum(values + errors, 1.0), DECIMALS)
        if syst == "down":
            return np.round(np.maximum(values - errors, EFFICIENCY_FLOOR), DECIMALS)
        msg = f"unknown syst {syst!r}; choose one of {', '.join(SYSTS)}"
        raise ConfigError(msg)

    def bin_index(self, pt: Any, abseta: Any) -> tuple[np.ndarray, np.ndarray]:
        """The (clamped) pT and |eta| bin indices of each lepton."""
        return _index(self.pt_edges, pt), _index(self.abseta_edges, abseta)

    def evaluate(self, pt: Any, abseta: Any, syst: str = "nominal") -> np.ndarray:
        """Efficiency of leptons of transverse momentum ``pt`` (GeV) and ``abseta`` = |eta|.

        The same numbers as the correctionlib file :func:`write_corrections` writes.
        """
        i, j = self.bin_index(pt, abseta)
        return self.table(syst)[i, j]

    def pt_bins(
        self, min_pt: float | None = None, max_pt: float | None = None
    ) -> np.ndarray:
        """Indices of the pT bins lying entirely inside [``min_pt``, ``max_pt``]."""
        lo = -math.inf if min_pt is None else float(min_pt)
        hi = math.inf if max_pt is None else float(max_pt)
        if not lo < hi:
            msg = f"min_pt must be below max_pt, got min_pt={min_pt}, max_pt={max_pt}"
            raise ConfigError(msg)
        edges = np.asarray(self.pt_edges, dtype=float)
        inside = (edges[:-1] >= lo) & (edges[1:] <= hi)
        return np.flatnonzero(inside)

    def shifted(
        self,
        n_sigma: float,
        *,
        min_pt: float | None = None,
        max_pt: float | None = None,
    ) -> EfficiencyMap:
        """This map with the values moved by ``n_sigma`` x their uncertainty.

        Only the pT bins lying entirely inside [``min_pt``, ``max_pt``] move (all when neither
        is given; the last bin reaches infinity). The results are clamped to
        [:data:`EFFICIENCY_FLOOR`, 1]; the stated uncertainties stay as they are.

        Raises
        ------
        ConfigError
            For a non-finite ``n_sigma``, or a pT range that holds no whole bin.
        """
        if not math.isfinite(n_sigma):
            msg = f"n_sigma must be finite, got {n_sigma}"
            raise ConfigError(msg)
        rows = self.pt_bins(min_pt, max_pt)
        if rows.size == 0:
            msg = (
                f"no pT bin lies entirely inside [{min_pt}, {max_pt}] GeV; the edges are "
                f"{list(self.pt_edges)}"
            )
            raise ConfigError(msg)
        values = np.array(self.values, dtype=float)
        values[rows] += n_sigma * np.asarray(self.errors)[rows]
        values = np.round(np.clip(values, EFFICIENCY_FLOOR, 1.0), DECIMALS)
        return EfficiencyMap(
            self.pt_edges, self.abseta_edges, _as_table(values), self.errors
        )


def _index(edges: tuple[float, ...], x: Any) -> np.ndarray:
    i = np.searchsorted(
        np.asarray(edges, dtype=float), np.asarray(x, dtype=float), "right"
    )
    return np.clip(i - 1, 0, len(edges) - 2)


def _as_table(a: Any) -> _Table:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(a))


def _columns(
    columns: Mapping[str, Any], names: tuple[str, ...]
) -> dict[str, np.ndarray]:
    missing = [n for n in names if n not in columns]
    if missing:
        msg = f"the event efficiency needs the column(s) {', '.join(missing)}; got {sorted(columns)}"
        raise DataError(msg)
    return {n: np.asarray(columns[n]) for n in names}


@dataclass(frozen=True)
class Detector:
    """Lepton efficiencies of a detector: identification x isolation and trigger, per flavour.

    Attributes
    ----------
    electron_idiso, muon_idiso
        Identification x isolation efficiency of the electron and of the muon.
    electron_trigger, muon_trigger
        Efficiency of the single-electron and single-muon trigger, per lepton.
    description
        Free text (not compared), e.g. how the truth was shifted.

    Examples
    --------
    >>> eff = REALISTIC.efficiency(20.0, 0.3, 50.0, 0.3)
    >>> round(float(eff), 3)
    0.787
    """

    electron_idiso: EfficiencyMap
    muon_idiso: EfficiencyMap
    electron_trigger: EfficiencyMap
    muon_trigger: EfficiencyMap
    description: str = field(default="", compare=False)

    @property
    def maps(self) -> dict[str, EfficiencyMap]:
        """The maps by name (:data:`MAP_NAMES`)."""
        return {name: getattr(self, name) for name in MAP_NAMES}

    def efficiency(
        self,
        electron_pt: Any,
        electron_abseta: Any,
        muon_pt: Any,
        muon_abseta: Any,
        syst: str | Mapping[str, str] = "nominal",
    ) -> np.ndarray:
        """Probability that an event with this electron and this muon is observed.

        ``idiso_e(e) * idiso_mu(mu) * [1 - (1 - trig_e(e)) * (1 - trig_mu(mu))]``.
        ``syst`` is one of :data:`SYSTS` for every map, or a mapping map name -> syst (the
        others nominal).
        """
        systs = _systs(syst)
        e = (electron_pt, np.abs(electron_abseta))
        mu = (muon_pt, np.abs(muon_abseta))
        idiso = self.electron_idiso.evaluate(
            *e, systs["electron_idiso"]
        ) * self.muon_idiso.evaluate(*mu, systs["muon_idiso"])
        trig_e = self.electron_trigger.evaluate(*e, systs["electron_trigger"])
        trig_mu = self.muon_trigger.evaluate(*mu, systs["muon_trigger"])
        return idiso * (1.0 - (1.0 - trig_e) * (1.0 - trig_mu))

    def label_efficiencies(
        self, columns: Mapping[str, Any], syst: str | Mapping[str, str] = "nominal"
    ) -> tuple[np.ndarray, np.ndarray]:
        """Efficiency of each event if labelled A (electron = lep1) and if labelled B.

        Parameters
        ----------
        columns
            Needs ``lep1_pt``, ``lep1_eta``, ``lep2_pt``, ``lep2_eta``.
        syst
            As in :meth:`efficiency`.

        Returns
        -------
        eff_a, eff_b
            Electron = lep1 and muon = lep2; electron = lep2 and muon = lep1.
        """
        c = _columns(columns, _LEPTON_COLUMNS)
        l1 = (c["lep1_pt"], c["lep1_eta"])
        l2 = (c["lep2_pt"], c["lep2_eta"])
        eff_a = self.efficiency(*l1, *l2, syst=syst)
        return eff_a, self.efficiency(*l2, *l1, syst=syst)

    def event_efficiency(self, columns: Mapping[str, Any]) -> np.ndarray:
        """Efficiency of each event as labelled: electron = lep1 if ``lead_flavour == 11``.

        Parameters
        ----------
        columns
            Needs ``lead_flavour`` (11 or 13), ``lep1_pt``, ``lep1_eta``, ``lep2_pt``,
            ``lep2_eta``.

        Raises
        ------
        DataError
            If a column is missing or ``lead_flavour`` is not 11 or 13.
        """
        flavour = _columns(columns, ("lead_flavour",))["lead_flavour"]
        bad = ~np.isin(flavour, (11, 13))
        if bad.any():
            msg = f"lead_flavour must be 11 or 13, got {np.unique(flavour[bad])[:5].tolist()}"
            raise DataError(msg)
        eff_a, eff_b = self.label_efficiencies(columns)
        return np.where(flavour == 11, eff_a, eff_b)

    def shifted(
        self,
        shifts: Mapping[str, float],
        *,
        min_pt: float | None = None,
        max_pt: float | None = None,
    ) -> Detector:
        """This detector with maps moved by some number of their stated uncertainties.

        Parameters
        ----------
        shifts
            Map name (:data:`MAP_NAMES`) -> number of sigma (signed).
        min_pt, max_pt
            Move only the pT bins lying entirely inside [``min_pt``, ``max_pt``] GeV.

        Raises
        ------
        ConfigError
            For an unknown map name, a non-finite shift, or a pT range holding no whole bin.
        """
        unknown = sorted(set(shifts) - set(MAP_NAMES))
        if unknown:
            msg = f"unknown map(s) {unknown} in shifts; the maps are {', '.join(MAP_NAMES)}"
            raise ConfigError(msg)
        maps = {
            name: self.maps[name].shifted(n, min_pt=min_pt, max_pt=max_pt)
            for name, n in shifts.items()
        }
        text = self.description
        if shifts:
            what = ", ".join(f"{name} {n:+g} sigma" for name, n in shifts.items())
            if min_pt is not None or max_pt is not None:
                what += f" for {min_pt} <= pT <= {max_pt} GeV"
            text = f"{self.description or 'detector'} shifted: {what}"
        return Detector(**{**self.maps, **maps}, description=text)


def _systs(syst: str | Mapping[str, str]) -> dict[str, str]:
    if isinstance(syst, str):
        systs = dict.fromkeys(MAP_NAMES, syst)
    else:
        unknown = sorted(set(syst) - set(MAP_NAMES))
        if unknown:
            msg = (
                f"unknown map(s) {unknown} in syst; the maps are {', '.join(MAP_NAMES)}"
            )
            raise ConfigError(msg)
        systs = {name: syst.get(name, "nominal") for name in MAP_NAMES}
    bad = sorted({s for s in systs.values() if s not in SYSTS})
    if bad:
        msg = f"unknown syst {bad}; choose one of {', '.join(SYSTS)}"
        raise ConfigError(msg)
    return systs


# --------------------------------------------------------------------------------------------
# the realistic detector

#: pT bin edges (GeV) of every map; leptons are selected above 15 GeV.
PT_EDGES = (15.0, 20.0, 25.0, 30.0, 40.0, 60.0, 100.0, math.inf)
#: |eta| bin edges: barrel, outer barrel, the ECAL barrel-endcap crack, endcap (|eta| < 2.3).
ABSETA_EDGES = (0.0, 0.8, 1.444, 1.566, 2.3)

# rows: pT bins of PT_EDGES; columns: |eta| bins of ABSETA_EDGES
_ELECTRON_IDISO = (
    (0.780, 0.760, 0.620, 0.720),
    (0.830, 0.810, 0.670, 0.770),
    (0.870, 0.850, 0.720, 0.820),
    (0.900, 0.880, 0.760, 0.860),
    (0.925, 0.910, 0.800, 0.890),
    (0.940, 0.930, 0.830, 0.915),
    (0.950, 0.940, 0.850, 0.925),
)
_ELECTRON_IDISO_ERR = (
    (0.030, 0.030, 0.045, 0.035),
    (0.022, 0.022, 0.035, 0.026),
    (0.015, 0.015, 0.025, 0.018),
    (0.010, 0.010, 0.018, 0.012),
    (0.006, 0.006, 0.012, 0.008),
    (0.005, 0.005, 0.010, 0.007),
    (0.008, 0.008, 0.015, 0.010),
)
_MUON_IDISO = (
    (0.915, 0.905, 0.905, 0.895),
    (0.935, 0.925, 0.925, 0.915),
    (0.950, 0.940, 0.940, 0.930),
    (0.960, 0.952, 0.952, 0.945),
    (0.970, 0.963, 0.963, 0.955),
    (0.974, 0.968, 0.968, 0.960),
    (0.975, 0.970, 0.970, 0.962),
)
_MUON_IDISO_ERR = (
    (0.015, 0.015, 0.018, 0.017),
    (0.011, 0.011, 0.013, 0.012),
    (0.008, 0.008, 0.010, 0.009),
    (0.005, 0.005, 0.006, 0.006),
    (0.003, 0.003, 0.004, 0.004),
    (0.003, 0.003, 0.004, 0.004),
    (0.004, 0.004, 0.005, 0.005),
)
_ELECTRON_TRIGGER = (
    (0.500, 0.480, 0.400, 0.450),
    (0.700, 0.680, 0.600, 0.650),
    (0.850, 0.830, 0.750, 0.800),
    (0.900, 0.890, 0.820, 0.870),
    (0.930, 0.920, 0.860, 0.910),
    (0.940, 0.935, 0.880, 0.925),
    (0.950, 0.940, 0.890, 0.930),
)
_ELECTRON_TRIGGER_ERR = (
    (0.030, 0.030, 0.045, 0.035),
    (0.020, 0.020, 0.030, 0.024),
    (0.015, 0.015, 0.022, 0.018),
    (0.010, 0.010, 0.015, 0.012),
    (0.005, 0.005, 0.008, 0.006),
    (0.005, 0.005, 0.008, 0.006),
    (0.008, 0.008, 0.012, 0.010),
)
_MUON_TRIGGER = (
    (0.600, 0.580, 0.580, 0.550),
    (0.800, 0.780, 0.780, 0.750),
    (0.880, 0.860, 0.860, 0.840),
    (0.910, 0.890, 0.890, 0.870),
    (0.925, 0.905, 0.905, 0.890),
    (0.930, 0.910, 0.910, 0.895),
    (0.930, 0.910, 0.910, 0.895),
)
_MUON_TRIGGER_ERR = (
    (0.015, 0.015, 0.018, 0.017),
    (0.010, 0.010, 0.012, 0.011),
    (0.008, 0.008, 0.009, 0.009),
    (0.005, 0.005, 0.006, 0.006),
    (0.003, 0.003, 0.004, 0.004),
    (0.003, 0.003, 0.004, 0.004),
    (0.004, 0.004, 0.005, 0.005),
)

#: The realistic detector: its maps are also the measured maps of :data:`REALISTIC_EFFICIENCIES`.
#: Electron ID x iso 0.62-0.78 at 15-20 GeV (the crack worst) rising to 0.85-0.95 above
#: 100 GeV, muon ID x iso 0.90-0.92 to 0.96-0.975; per-leg trigger efficiencies with a turn-on
#: from 0.40-0.60 at 15-20 GeV (standing in for the e-mu cross triggers' legs) to 0.89-0.95.
REALISTIC = Detector(
    electron_idiso=EfficiencyMap(
        PT_EDGES, ABSETA_EDGES, _ELECTRON_IDISO, _ELECTRON_IDISO_ERR
    ),
    muon_idiso=EfficiencyMap(PT_EDGES, ABSETA_EDGES, _MUON_IDISO, _MUON_IDISO_ERR),
    electron_trigger=EfficiencyMap(
        PT_EDGES, ABSETA_EDGES, _ELECTRON_TRIGGER, _ELECTRON_TRIGGER_ERR
    ),
    muon_trigger=EfficiencyMap(
        PT_EDGES, ABSETA_EDGES, _MUON_TRIGGER, _MUON_TRIGGER_ERR
    ),
    description="realistic",
)


def realistic_detector(
    shifts: Mapping[str, float] | None = None,
    *,
    min_pt: float | None = None,
    max_pt: float | None = None,
) -> Detector:
    """The realistic detector, with its true maps optionally moved away from the measured ones.

    The measured maps (:data:`REALISTIC_EFFICIENCIES`, :data:`REALISTIC_WEIGHTS`) stay those of
    :data:`REALISTIC`; the returned detector is the *truth* :func:`asymscan.samples.emu` draws
    with, so a shift tests what maps wrong by some sigma do to a scan.

    Parameters
    ----------
    shifts
        Map name (:data:`MAP_NAMES`) -> number of stated uncertainties to move its values by.
    min_pt, max_pt
        Move only the pT bins lying entirely inside [``min_pt``, ``max_pt``] GeV.

    Raises
    ------
    ConfigError
        For an unknown map name, a non-finite shift, or a pT range holding no whole bin.

    Examples
    --------
    The electron ID x iso truth 1.5 sigma above its measurement below 25 GeV:

    >>> truth = realistic_detector({"electron_idiso": 1.5}, max_pt=25.0)
    >>> truth.electron_idiso.values[0][0], REALISTIC.electron_idiso.values[0][0]
    (0.825, 0.78)
    """
    return REALISTIC.shifted(shifts or {}, min_pt=min_pt, max_pt=max_pt)


# --------------------------------------------------------------------------------------------
# correctionlib


def _correctionlib(module: str = "correctionlib") -> ModuleType:
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        msg = f"{module} is required for the efficiency maps: pip install correctionlib"
        raise ModuleNotFoundError(msg) from err


_DESCRIPTIONS = {
    "electron_idiso": "electron identification x isolation efficiency",
    "muon_idiso": "muon identification x isolation efficiency",
    "electron_trigger": "single-electron trigger efficiency, per electron",
    "muon_trigger": "single-muon trigger efficiency, per muon",
}


def _edge(x: float) -> float | str:
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _correction_set(detector: Detector) -> Any:
    """The maps of ``detector`` as a correctionlib ``CorrectionSet`` (schema v2 model).

    Each of :data:`MAP_NAMES` is a correction with inputs ``pt`` (GeV), ``abseta`` and
    ``syst`` (``"nominal"``, ``"up"``, ``"down"``: +-1 stated uncertainty, clamped), binned with
    ``flow="clamp"``.
    """
    cs = _correctionlib("correctionlib.schemav2")
    out = []
    for name, emap in detector.maps.items():
        content = [
            cs.CategoryItem(
                key=syst,
                value=cs.MultiBinning(
                    nodetype="multibinning",
                    inputs=["pt", "abseta"],
                    edges=[
                        [_edge(x) for x in emap.pt_edges],
                        [_edge(x) for x in emap.abseta_edges],
                    ],
                    content=[float(v) for v in emap.table(syst).ravel()],
                    flow="clamp",
                ),
            )
            for syst in SYSTS
        ]
        out.append(
            cs.Correction(
                name=name,
                description=(
                    f"{_DESCRIPTIONS[name]} of the asymscan realistic e-mu detector; syst: "
                    "nominal, up/down = +-1 stated uncertainty (clamped to (0, 1])"
                ),
                version=1,
                inputs=[
                    cs.Variable(name="pt", type="real", description="lepton pT [GeV]"),
                    cs.Variable(name="abseta", type="real", description="lepton |eta|"),
                    cs.Variable(
                        name="syst", type="string", description="nominal, up or down"
                    ),
                ],
                output=cs.Variable(name="efficiency", type="real"),
                data=cs.Category(nodetype="category", input="syst", content=content),
            )
        )
    return cs.CorrectionSet(
        schema_version=2,
        description=(
            "Measured lepton efficiency maps of the asymscan realistic e-mu detector "
            "(asymscan.samples.detector); regenerate with python -m asymscan.samples.detector"
        ),
        corrections=out,
    )


def write_corrections(path: str | Path, detector: Detector = REALISTIC) -> Path:
    """Write the maps of ``detector`` as a correctionlib JSON file (schema v2).

    Four corrections (:data:`MAP_NAMES`), each with inputs ``(pt: real, abseta: real, syst:
    string)``, ``syst`` one of ``"nominal"``, ``"up"``, ``"down"`` (the nominal maps +-1 stated
    uncertainty, clamped to (0, 1]); pT and |eta| outside the edges are clamped. The shipped
    :data:`REALISTIC_EFFICIENCIES` is this file for :data:`REALISTIC`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    text = _correction_set(detector).model_dump_json(exclude_unset=True, indent=1)
    path.write_text(text + "\n")
    return path


@functools.lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, size: int) -> Any:
    return _correctionlib().CorrectionSet.from_file(path)


def event_weights(
    columns: Mapping[str, Any],
    corrections_path: str | Path = REALISTIC_EFFICIENCIES,
    syst: str | Mapping[str, str] = "nominal",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-event weights 1 / efficiency for both labels, evaluated with correctionlib.

    The reference for :data:`REALISTIC_WEIGHTS`: ``weight_a`` treats the event as labelled A
    (electron = lep1, muon = lep2), ``weight_b`` as labelled B (electron = lep2, muon = lep1).
    Under the e <-> mu symmetry an observed event is in A with probability
    ``weight_b / (weight_a + weight_b)``.

    Parameters
    ----------
    columns
        Needs ``lep1_pt``, ``lep1_eta``, ``lep2_pt``, ``lep2_eta``.
    corrections_path
        A correctionlib file with the four corrections of :data:`MAP_NAMES`.
    syst
        ``"nominal"``, ``"up"`` or ``"down"`` for every map, or a mapping map name -> syst
        (the others nominal).

    Returns
    -------
    weight_a, weight_b
        float64 arrays.
    """
    systs = _systs(syst)
    path = Path(corrections_path)
    st = path.stat()
    cset = _load(str(path), st.st_mtime_ns, st.st_size)
    c = _columns(columns, _LEPTON_COLUMNS)
    l1 = (c["lep1_pt"].astype(np.float64), np.abs(c["lep1_eta"]).astype(np.float64))
    l2 = (c["lep2_pt"].astype(np.float64), np.abs(c["lep2_eta"]).astype(np.float64))

    def eff(
        e: tuple[np.ndarray, np.ndarray], mu: tuple[np.ndarray, np.ndarray]
    ) -> np.ndarray:
        def ev(name: str, lep: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            return np.asarray(cset[name].evaluate(*lep, systs[name]), dtype=np.float64)

        trig = 1.0 - (1.0 - ev("electron_trigger", e)) * (1.0 - ev("muon_trigger", mu))
        return ev("electron_idiso", e) * ev("muon_idiso", mu) * trig

    return 1.0 / eff(l1, l2), 1.0 / eff(l2, l1)


# --------------------------------------------------------------------------------------------
# expressions for a scan configuration


def _weight_expression(electron: str, muon: str, syst: str = "nominal") -> str:
    def c(name: str, lep: str) -> str:
        return f"correction('{name}', {lep}_pt, abs({lep}_eta), '{syst}')"

    return (
        f"1 / ({c('electron_idiso', electron)} * {c('muon_idiso', muon)} * "
        f"(1 - (1 - {c('electron_trigger', electron)}) * (1 - {c('muon_trigger', muon)})))"
    )


#: Per-event weights as expressions (asymscan expression language with ``correction(...)``):
#: ``weight_a`` = 1 / event efficiency with electron = lep1, muon = lep2; ``weight_b`` with
#: electron = lep2, muon = lep1. Read the corrections from :data:`REALISTIC_EFFICIENCIES`.
REALISTIC_WEIGHTS: dict[str, str] = {
    "weight_a": _weight_expression("lep1", "lep2"),
    "weight_b": _weight_expression("lep2", "lep1"),
}

#: Systematics entries for a scan configuration: the electron and muon ID x iso maps moved by
#: +-1 stated uncertainty (their ``syst`` input set to "up"/"down"). The trigger maps are left
#: out by default: their uncertainties are smaller where most events lie, and two nuisances
#: keep the scan cheap; add ``{"name": ..., "correction": "electron_trigger", ...}`` entries
#: in the same form to include them.
REALISTIC_SYSTEMATICS: list[dict[str, str]] = [
    {
        "name": "electron efficiency",
        "correction": "electron_idiso",
        "up": "up",
        "down": "down",
    },
    {"name": "muon efficiency", "correction": "muon_idiso", "up": "up", "down": "down"},
]


def main(argv: list[str] | None = None) -> None:
    """Regenerate the shipped file: ``python -m asymscan.samples.detector [PATH]``."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    path = write_corrections(args[0] if args else REALISTIC_EFFICIENCIES)
    n = len(json.loads(path.read_text())["corrections"])
    print(f"wrote {n} corrections to {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
