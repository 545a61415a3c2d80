"""User-supplied names in ``report.html`` and in the plots are text, never markup or mathtext.

Every string of the configuration (symmetry, selection family and category, observable,
systematic and correction names, expressions, correction file names) is written into the
report; a name such as ``<img src=x onerror=alert(1)>`` must appear as those characters, not
as an element, and a name such as ``$\\badcmd{$`` must neither crash matplotlib nor be typeset as
mathematics.
"""

from __future__ import annotations

import contextlib
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.text
import numpy as np
import pytest
from matplotlib import cbook

from asymscan.config import config_from_dict
from asymscan.report import scan_plots
from asymscan.scan import build_cells, scan_cells
from asymscan.scan.output import write_results

pytest.importorskip("correctionlib")

SYMMETRY = "<script>alert('sym')</script> \"e&mu\""
FAMILY = "<script>alert(1)</script>"
CATEGORIES = {
    "0j\"<i>'": "nj == 0",
    "1j &amp; $x_1$": "nj == 1",
    "$\\badcmd{$ <b>": "nj >= 2",
}
#: An empty category: its histograms test no window and the report lists them.
EMPTY = {"<img src=z onerror=alert(3)> $\\$": "nj == 99"}
OBSERVABLES = {
    "<img src=x onerror=alert(1)>": "m",
    "$x_1$ \\ _ 'p\"T' & co": "pt",
}
SYSTEMATIC = "<img src=y onerror=alert(2)> \"'&"
CORRECTION = 'eff<a>&"b'
CORRECTION_FILE = "e&f'<u>$x$.json"
WEIGHT = "1 / correction('eff<a>&\"b', pt, 'nominal')"

#: Every user string that the report must show as text.
USER_STRINGS = (
    SYMMETRY,
    FAMILY,
    *CATEGORIES,
    *EMPTY,
    *OBSERVABLES,
    SYSTEMATIC,
    CORRECTION,
    CORRECTION_FILE,
    WEIGHT,
    "flav < 12",
)

#: The elements and attributes the report itself writes.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "code", "sub",
    "sup", "div", "table", "tr", "th", "td", "img", "ul", "li", "b", "i", "br", "pre",
}  # fmt: skip
ATTRIBUTES = {"lang", "charset", "class", "src", "alt", "colspan"}


def _write_corrections(path: Path) -> Path:
    """A correctionlib file with one correction (pt, syst: nominal/up/down)."""
    import correctionlib.schemav2 as cs

    def binning(values):
        return cs.Binning(
            nodetype="binning",
            input="pt",
            edges=[10.0, 30.0, 60.0, 140.0],
            content=values,
            flow="clamp",
        )

    content = [
        cs.CategoryItem(key="nominal", value=binning([1.0, 1.0, 1.0])),
        cs.CategoryItem(key="up", value=binning([1.1, 1.05, 1.02])),
        cs.CategoryItem(key="down", value=binning([0.9, 0.95, 0.98])),
    ]
    correction = cs.Correction(
        name=CORRECTION,
        version=1,
        inputs=[
            cs.Variable(name="pt", type="real"),
            cs.Variable(name="syst", type="string"),
        ],
        output=cs.Variable(name="weight", type="real"),
        data=cs.Category(nodetype="category", input="syst", content=content),
    )
    cset = cs.CorrectionSet(schema_version=2, corrections=[correction])
    path.write_text(cset.model_dump_json(exclude_unset=True))
    return path


def _events(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "flav": np.where(rng.random(n) < 0.5, 11, 13),
        "m": rng.exponential(50, n) + 20,
        "pt": rng.exponential(30, n) + 10,
        "nj": rng.poisson(1.0, n),
    }


def _config(corrections: Path):
    return config_from_dict(
        {
            "data": {"paths": ["events.parquet"]},
            "symmetry": {
                "name": SYMMETRY,
                "a": "flav < 12",
                "b": "flav > 12",
                "weight_a": WEIGHT,
                "weight_b": WEIGHT,
            },
            "corrections": {"files": [str(corrections)]},
            "systematics": [
                {
                    "name": SYSTEMATIC,
                    "correction": CORRECTION,
                    "up": "up",
                    "down": "down",
                }
            ],
            "selections": [{"name": FAMILY, "categories": CATEGORIES | EMPTY}],
            "observables": [
                {"name": name, "expr": expr, "bins": 10, "range": [10.0, 150.0]}
                for name, expr in OBSERVABLES.items()
            ],
            "scan": {
                "dims": [1, 2],
                "min_entries": 5,
                "toys": 10,
                "seed": 3,
                "top": 40,
            },
        }
    )


class _Elements(HTMLParser):
    """Every element and attribute of a document, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def texts(monkeypatch):
    """The text artists of every figure ``scan_plots`` draws, collected before saving."""
    drawn: list[matplotlib.text.Text] = []
    original = scan_plots.figure

    @contextlib.contextmanager
    def recording(path, **kwargs):
        with original(path, **kwargs) as (fig, axes):
            yield fig, axes
            drawn.extend(fig.findobj(matplotlib.text.Text))

    monkeypatch.setattr(scan_plots, "figure", recording)
    return drawn


def _shown(t: matplotlib.text.Text) -> tuple[str, bool]:
    """What a text artist displays, and whether it is typeset as mathtext."""
    s = t.get_text()
    if not t.get_parse_math() or not cbook.is_math_text(s):
        return (s.replace(r"\$", "$") if t.get_parse_math() else s), False
    return s, True


def test_user_strings_are_text_in_the_report_and_plots(tmp_path, texts):
    rng = np.random.default_rng(7)
    corrections = _write_corrections(tmp_path / CORRECTION_FILE)
    config = _config(corrections)
    cells = build_cells([_events(4000, rng)], config)
    result = scan_cells(cells, config)
    out = tmp_path / "out"
    paths = write_results(result, out)  # plots the regions: must not raise

    html = paths["report"].read_text(encoding="utf-8")
    doc = _Elements()
    doc.feed(html)
    doc.close()
    assert {tag for tag, _ in doc.tags} <= TAGS
    images = []
    for tag, attrs in doc.tags:
        assert {k for k, _ in attrs} <= ATTRIBUTES, (tag, attrs)
        if tag == "img":
            src = dict(attrs)["src"]
            images.append(src)
            assert src in {p.name for p in paths.values()}
            assert (out / src).is_file()
    assert "toys.png" in images
    assert len(images) == 1 + min(10, len(result.regions))
    text = "".join(doc.text)
    for s in USER_STRINGS:
        assert s in text, s  # shown as written, so escaped rather than dropped
    tested = result.to_dict()["global"]
    assert f"{tested['windows_tested']} windows tested" in text
    untested = text[text.index("No window was tested") : text.index("Corrections")]
    assert f"{FAMILY}={next(iter(EMPTY))}" in untested

    # plots of more regions than the report's top 10: 1-D and 2-D, every selection
    first = {}
    for r in result.regions:
        h = cells.histograms[r["histogram"]]
        first.setdefault((h.ndim, h.selection), r)
    for k, region in enumerate(first.values()):
        scan_plots.plot_region(result, region, tmp_path / f"extra_{k}.png")
    plotted = [cells.histograms[r["histogram"]] for r in first.values()]
    assert {h.ndim for h in plotted} == {1, 2}
    shown = [_shown(t) for t in texts]
    for s, math in shown:
        if math:  # only the report's own labels are mathtext
            assert not any(u in s for u in (*CATEGORIES, *EMPTY, *OBSERVABLES)), s
    displayed = "\n".join(s for s, math in shown if not math)
    for h in plotted:
        for name in h.observables:
            assert name in displayed
        for _family, category in h.selection:
            assert category in displayed
    assert {c for h in plotted for _, c in h.selection} == set(CATEGORIES)
