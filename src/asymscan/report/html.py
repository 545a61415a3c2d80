"""One self-contained ``report.html`` for a scan: opens in a browser from disk, no server."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from ..files import atomic_path

__all__ = ("write_report",)

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; }
th { background: #f0f0f0; } td.l { text-align: left; }
.box { background: #f7f7f7; border-left: 4px solid #d62728; padding: 0.6em 1em; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: 0.85em; }
.grid { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
"""


def _fmt(x: Any, spec: str = ".3g") -> str:
    return "n/a" if x is None else format(x, spec)


def _regions(regions: list[dict]) -> str:
    names = list(regions[0].get("systematics", {})) if regions else []
    syst = "".join(f"<th>{escape(n)}</th>" for n in names)
    if names:
        syst = f"<th>stat. only</th>{syst}"
    head = (
        "<tr><th>rank</th><th>selection</th><th>observables</th><th>window</th>"
        f"<th>N<sub>&sigma;</sub></th>{syst}<th>A</th><th>B</th><th>local p</th>"
        "<th>global p (toys)</th><th>global p (extrapolated)</th></tr>"
    )
    rows = []
    for r in regions:
        sel = _selection(r["selection"])
        win = "; ".join(
            f"{escape(o)} &isin; [{lo:g}, {hi:g})"
            for o, (lo, hi) in r["window"].items()
        )
        parts = ""
        if names:
            parts = f"<td>{r['nsigma_stat']:+.2f}</td>" + "".join(
                f"<td>&plusmn;{abs(r['systematics'][n]):.2f}</td>" for n in names
            )
        rows.append(
            f"<tr><td>{r['rank']}</td><td class=l>{escape(sel)}</td>"
            f"<td class=l>{escape(' vs '.join(r['observables']))}</td><td class=l>{win}</td>"
            f"<td>{r['nsigma']:+.2f}</td>{parts}<td>{r['n_a']:.4g}</td><td>{r['n_b']:.4g}</td>"
            f"<td>{_fmt(r['local_p'])}</td><td>{_fmt(r['global_p'])}</td>"
            f"<td>{_extrapolated_p(r)}</td></tr>"
        )
    note = ""
    if names:
        note = (
            "<p>N<sub>&sigma;</sub> includes the systematics as Gaussian nuisances; "
            "<i>stat. only</i> leaves them out, and each systematic's column is the shift "
            "of the stat.-only N<sub>&sigma;</sub> for a 1&sigma; pull of it.</p>"
        )
    return f"{note}<table>{head}{''.join(rows)}</table>"


def _corrections(c: dict | None) -> str:
    """What the scan corrected with, or nothing for an uncorrected scan."""
    if not c or not (c["weight_a"] or c["weight"] or c["normalize"] != "none"):
        return ""
    items = []
    if c["files"]:
        files = ", ".join(f"<code>{escape(Path(f).name)}</code>" for f in c["files"])
        items.append(f"efficiency maps: {files}")
    for key in ("weight", "weight_a", "weight_b"):
        if c[key]:
            items.append(f"{key} = <code>{escape(c[key])}</code>")
    for s in c["systematics"]:
        items.append(
            f"systematic <b>{escape(s['name'])}</b>: correction "
            f"<code>{escape(s['correction'])}</code>, {escape(s['nominal'])} &rarr; "
            f"{escape(s['up'])} / {escape(s['down'])}"
        )
    if c["normalize"] != "none":
        items.append(f"A scaled to the total of B ({escape(c['normalize'])})")
    lis = "".join(f"<li>{i}</li>" for i in items)
    return (
        "<h2>Corrections</h2><p>Histograms are corrected: each event carries the weight "
        "of its label.</p>"
        f"<ul>{lis}</ul>"
    )


def _followup(rows: list[dict]) -> str:
    """The neural follow-up's table, or nothing when it was not run."""
    if not rows:
        return ""
    head = (
        "<tr><th>rank</th><th>selection</th><th>observables</th><th>A</th><th>B</th>"
        "<th>t</th><th>dof</th><th>&chi;<sup>2</sup> p</th><th>permutations</th>"
        "<th>permutation p</th><th>Z</th></tr>"
    )
    out = []
    for r in rows:
        sel = _selection(r["selection"])
        obs = escape(" vs ".join(r["observables"]))
        if r["subsampled"]:
            obs += f" (random {r['n_a'] + r['n_b']} of {r['n_selected']})"
        cells = (
            f"<tr><td>{r['rank']}</td><td class=l>{escape(sel)}</td>"
            f"<td class=l>{obs}</td><td>{r['n_a']}</td><td>{r['n_b']}</td>"
        )
        if r.get("skipped"):
            cells += f"<td class=l colspan=6>skipped: {escape(r['skipped'])}</td></tr>"
        else:
            cells += (
                f"<td>{_fmt(r['t'], '.2f')}</td><td>{r['dof']}</td>"
                f"<td>{_fmt(r['chi2_p_value'])}</td><td>{r['permutations']}</td>"
                f"<td>{_fmt(r['permutation_p_value'])} &plusmn; "
                f"{_fmt(r['permutation_p_value_error'], '.2g')}</td>"
                f"<td>{_fmt(r['permutation_z'], '.2f')}</td></tr>"
            )
        out.append(cells)
    return (
        "<h2>Neural follow-up</h2><p>The symmetrized neural test (Bressler et al., fast "
        "fit) on the unbinned events of each region's selection in its observables (within "
        "their ranges), calibrated by permutations of the A/B labels: p = (k+1)/(n+1). "
        "The asymptotic &chi;<sup>2</sup> p-value is for reference only.</p>"
        f"<table>{head}{''.join(out)}</table>"
    )


def _events(events: dict) -> str:
    lines = [
        (
            f"{events['read']} events read: {events['a']} in A, {events['b']} in B, "
            f"{events['dropped']} in neither (dropped)."
        )
    ]
    for name in events["non_finite"]:
        nf, oor = events["non_finite"][name], events["out_of_range"][name]
        if nf or oor:
            lines.append(
                f"{escape(name)}: {nf} non-finite value(s), {oor} outside the range (not binned)."
            )
    return "<br>".join(lines)


def _tested(g: dict) -> str:
    """How many windows were tested, and the histograms in which none was."""
    if g.get("windows_tested") is None:
        return ""
    out = f"<br>{g['windows_tested']} windows tested (of {g['windows']} scanned)."
    untested = g.get("untested_histograms") or []
    if untested:
        items = "".join(
            f"<li>{escape(_selection(u['selection']))}: "
            f"{escape(' vs '.join(u['observables']))} ({u['events']} events)</li>"
            for u in untested
        )
        out += (
            f"<br>No window was tested in {len(untested)} histogram(s) (fewer events "
            f"than min_entries, or none):<ul>{items}</ul>"
        )
    return out


def _selection(selection: dict) -> str:
    """``family=category, ...``, or ``inclusive``; not escaped."""
    return ", ".join(f"{k}={v}" for k, v in selection.items()) or "inclusive"


def _extrapolated_p(region: dict[str, Any]) -> str:
    """A region's extrapolated global p-value, where the toys do not resolve it."""
    p = region.get("global_p_extrapolated")
    if p is None:
        return "&ndash;"
    return f"{p:.3g} &plusmn; {region['global_p_extrapolated_error']:.2g}"


def _extrapolated(e: dict[str, Any] | None) -> str:
    """The extrapolated global p-value, in words (empty when it was not computed)."""
    if e is None:
        return ""
    if e["p_value"] is None:
        return f" No extrapolated global p-value ({escape(e['method'])})."
    return (
        f" Extrapolated beyond the toys: global p = {e['p_value']:.3g} &plusmn; "
        f"{e['p_value_error']:.2g} (Z = {e['z']:.2f}; Bonferroni bound "
        f"{e['bonferroni']:.3g}). Method: {escape(e['method'])}."
    )


def write_report(
    results: dict[str, Any], figures: dict[str, Path], out: str | Path
) -> Path:
    """Write ``report.html`` in ``out`` from a scan's ``results.json`` content and its figures."""
    out = Path(out)
    g = results["global"]
    if g["toys"]:
        verdict = (
            f"Maximum |N<sub>&sigma;</sub>| = {g['max_abs_nsigma']:.2f} over everything scanned; "
            f"global p = {g['p_value']:.3g} &plusmn; {g['p_value_error']:.2g} "
            f"(Z = {g['z']:.2f}), from {escape(g['calibration'])}."
        )
    else:
        verdict = f"Maximum |N<sub>&sigma;</sub>| = {g['max_abs_nsigma']:.2f}; no toys were run, so no global p-value."
    verdict += _extrapolated(g.get("extrapolated"))
    verdict += _tested(g)
    regions = [p for k, p in figures.items() if k.startswith("region_")]
    images = "".join(
        f'<img src="{escape(p.name)}" alt="{escape(p.stem)}">' for p in regions
    )
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>asymscan report: {escape(results["config"]["symmetry"]["name"])}</title>
<style>{_STYLE}</style></head><body>
<h1>asymscan: {escape(results["config"]["symmetry"]["name"])}</h1>
<p>A = <code>{escape(results["config"]["symmetry"]["a"])}</code>, B = <code>{escape(results["config"]["symmetry"]["b"])}</code>.
N<sub>&sigma;</sub> &gt; 0 means B is in excess. Local p-values are two-sided and asymptotic (standard normal);
global p-values count the toys whose maximum over all windows and histograms is at least as large, (k+1)/(n+1).</p>
<div class=box>{verdict}</div>
{_corrections(results.get("corrections"))}
<h2>Regions of interest</h2>{_regions(results["regions"])}
{_followup(results.get("followup", []))}
<h2>Look-elsewhere calibration</h2><img src="{escape(figures["toys"].name)}" alt="toys">
<h2>Top regions</h2><div class=grid>{images}</div>
<h2>Events</h2><p>{_events(results["events"])}</p>
<h2>Configuration</h2><pre>{escape(json.dumps(results["config"], indent=2))}</pre>
<p>asymscan {escape(results["version"])}</p>
</body></html>
"""
    path = out / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return path
