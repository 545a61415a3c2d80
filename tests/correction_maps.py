"""Small correctionlib efficiency maps for the tests (pt x |eta|, with systematic strings)."""

from __future__ import annotations

import correctionlib.schemav2 as cs


def efficiency(name, pt_edges, eta_edges, maps, flow="error"):
    """A correction ``name(pt, abseta, syst)``: one pt x |eta| map per ``syst`` key of
    ``maps`` (values row-major over the pt then |eta| bins)."""

    def binning(values):
        return cs.MultiBinning(
            nodetype="multibinning",
            inputs=["pt", "abseta"],
            edges=[pt_edges, eta_edges],
            content=values,
            flow=flow,
        )

    return cs.Correction(
        name=name,
        version=1,
        inputs=[
            cs.Variable(name="pt", type="real"),
            cs.Variable(name="abseta", type="real"),
            cs.Variable(name="syst", type="string"),
        ],
        output=cs.Variable(name="weight", type="real"),
        data=cs.Category(
            nodetype="category",
            input="syst",
            content=[cs.CategoryItem(key=k, value=binning(v)) for k, v in maps.items()],
        ),
    )
