"""Scans of 2e7 events under an address-space cap of 1.5 GiB, and the reading that allows it.

The acceptance point: 2e7 weighted events (the demo's corrected configuration: per-label
correctionlib weights and two systematics) and 2e7 events in a single Parquet row group
(the demo's unweighted configuration) are each scanned, with a few toys, in a process whose
address space is capped (``RLIMIT_AS``, set at the top of the child's script, before
anything is imported). Both must complete and be correct: every event read and counted, the
sum of the entries of every histogram equal to the events of its selection with all its
observables in range (counted here with numpy), and the single row group scanned exactly as
the same events written in many row groups.

Figures reached (the lowest cap that passes, found by bisection in steps of 0.05 GiB,
with the environment of :data:`CAPPED_ENV`; 2 cores, numpy 2.4, scipy 1.17, pyarrow 26;
VmHWM is the peak RSS, VmPeak the peak address space):

* 2e7 weighted events (2.2e6 units), row groups of 2.5e5, 4 toys: passes at 1.35 GiB,
  fails at 1.30 GiB (in the toys' relabelling; it passed once in four tries: the heap's
  layout varies) and at 1.25 GiB; VmHWM 1.0-1.1 GB, VmPeak 1.25-1.34 GiB; ~85 s.
  (Before the units were gathered in a store, and the membership built without a (units x
  histograms) table: VmHWM 1.3 GB, VmPeak 1.54 GiB uncapped, ~140 s.) With pyarrow's
  default mimalloc instead of Arrow's system allocator it fails at 1.5 GiB.
* 2e7 events in one row group (unweighted, 4.9e4 units), 4 toys: passes at 0.90 GiB,
  fails at 0.85 GiB; VmHWM 0.65 GB, VmPeak 0.90 GiB; ~21 s, of which the extrapolated
  tail (:mod:`asymscan.calibrate.tail`) takes ~13 s and sets the peak: the reading, binning
  and toys alone passed at 0.55 GiB (VmHWM 0.29 GB). Before row groups were cut into row
  ranges, the whole group was read at once: VmHWM 2.6 GB, VmPeak 4.1 GiB; it fails at 1.5
  GiB.

The non-slow tests check the pieces on small inputs: row groups larger than a work item are
read in row ranges with the same events in the same order, and weighted units gathered
chunk by chunk equal those of one chunk, also when the row hash collides.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from scan_factories import (
    detector_config,
    make_config,
    make_detector_events,
    make_events,
    write_efficiencies,
)

from asymscan.config import config_from_dict
from asymscan.scan import build_cells, fill_cells

N_EVENTS = 20_000_000
CAP_BYTES = int(1.5 * 2**30)
TOYS = 4

#: The capped scans' environment. An address-space cap counts what a process reserves, not
#: what it uses, so reservations that are never touched must be kept small: one BLAS and one
#: Arrow CPU thread (each thread reserves a stack, and BLAS a buffer per thread), one glibc
#: malloc arena (each further arena, one per thread by default, reserves 64 MiB of address
#: space), and Arrow's system allocator: pyarrow's default mimalloc reserves GiB-sized arenas
#: up front, which under the cap leaves numpy too little address space (the weighted scan
#: then fails even at 1.5 GiB).
CAPPED_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "1",
    "ARROW_DEFAULT_MEMORY_POOL": "system",
}

# Writes the demo's columns for N events (float32, int32) twice: in row groups of 2.5e5
# (many.parquet) and in one row group (one.parquet); prints what a correct scan must count.
_WRITE = """
import json, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
from asymscan.config import config_from_dict
from asymscan.scan.demo import demo_config
from asymscan.scan.layout import plan_histograms

folder, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(20261202)
f4 = np.float32
columns = {
    "lead_flavour": np.where(rng.random(n, dtype=f4) < 0.5, 11, 13).astype(np.int32),
    "lep1_pt": (rng.exponential(30, n) + 20).astype(f4),
    "lep2_pt": (rng.exponential(15, n) + 15).astype(f4),
    "lep1_eta": rng.uniform(-2.3, 2.3, n).astype(f4),
    "lep2_eta": rng.uniform(-2.3, 2.3, n).astype(f4),
    "m_coll": (rng.exponential(50, n) + 20).astype(f4),
    "met": rng.exponential(25, n).astype(f4),
    "n_jets": rng.poisson(1.0, n).astype(np.int32),
}
table = pa.table(columns)
for name, size in (("many", 250_000), ("one", n)):
    pq.write_table(table, f"{folder}/{name}.parquet", row_group_size=size,
                   use_dictionary=False)
del table
cfg = config_from_dict(demo_config("x.parquet", toys=1, seed=1))
nj = columns["n_jets"]
category = {"0j": nj == 0, "1j": nj == 1, "2j+": nj >= 2}
inside = {}
for o in cfg.observables:
    assert o.expr.text == o.name, o.expr.text
    x = columns[o.name]
    inside[o.name] = (x >= o.range[0]) & (x < o.range[1])
entries = []
for h in plan_histograms(cfg):
    ok = np.ones(n, dtype=bool)
    for _family, cat in h.selection:
        ok &= category[cat]
    for o in h.observables:
        ok &= inside[o]
    entries.append(int(ok.sum()))
print(json.dumps({
    "a": int((columns["lead_flavour"] == 11).sum()),
    "out_of_range": {k: int((~v).sum()) for k, v in inside.items()},
    "entries": entries,
}))
"""

# The capped scan: the cap is set before anything is imported. Peak RSS is VmHWM: ru_maxrss
# would start from the parent's RSS at the fork.
_SCAN = """
import resource, sys
cap = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
import json, time
from asymscan.config import config_from_dict
from asymscan.scan import fill_cells, scan_cells
from asymscan.scan.demo import demo_config

path, corrected, toys = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
cfg = config_from_dict(demo_config(path, toys=toys, seed=1, corrections=corrected))
start = time.perf_counter()
cells = fill_cells(cfg)
result = scan_cells(cells, cfg)
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(json.dumps({
    "seconds": time.perf_counter() - start,
    "peak_rss_mb": int(status["VmHWM"].split()[0]) / 1024,
    "vm_peak_mb": int(status["VmPeak"].split()[0]) / 1024,
    "units": cells.n_units,
    "events": cells.n_events,
    "weighted": cells.weights is not None,
    "counts": cells.counts,
    "entries": [int(h.bins(cells.entries).sum()) for h in cells.histograms],
    "max_abs_nsigma": result.max_abs_nsigma,
    "toys": result.toys.tolist(),
}))
"""


def _python(script: str, *args: object, env: dict[str, str] | None = None) -> dict:
    """Run ``script`` in a fresh interpreter; its last line of output (JSON), or the failure."""
    out = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        capture_output=True,
        text=True,
        env=None if env is None else os.environ | env,
        check=False,
    )
    if out.returncode != 0:
        return {"failed": f"exit status {out.returncode}:\n{out.stderr[-3000:]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def capped_scan(path: Path, *, corrected: bool, cap: int = CAP_BYTES, toys: int = TOYS):
    """The scan of ``path`` (the demo's configuration) in a process capped at ``cap`` bytes."""
    return _python(_SCAN, cap, path, "1" if corrected else "0", toys, env=CAPPED_ENV)


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """The inputs' expected counts, and the capped scans: the weighted one runs beside the
    two unweighted ones (one core each)."""
    folder = tmp_path_factory.mktemp("memory_cap")
    expected = _python(_WRITE, folder, N_EVENTS)
    assert "failed" not in expected, expected.get("failed")
    with ThreadPoolExecutor(1) as pool:
        weighted = pool.submit(capped_scan, folder / "many.parquet", corrected=True)
        one_group = capped_scan(folder / "one.parquet", corrected=False)
        many_groups = capped_scan(folder / "many.parquet", corrected=False)
        runs = {
            "weighted": weighted.result(),
            "one_group": one_group,
            "many_groups": many_groups,
        }
    for path in folder.iterdir():
        path.unlink()
    return expected, runs


def _check_counts(run: dict, expected: dict) -> None:
    """Every event read, in A or B as written, and binned where it should be."""
    assert "failed" not in run, run.get("failed")
    counts = run["counts"]
    assert counts["read"] == run["events"] == N_EVENTS
    assert (counts["a"], counts["b"]) == (expected["a"], N_EVENTS - expected["a"])
    assert counts["dropped"] == 0
    assert counts["out_of_range"] == expected["out_of_range"]
    assert set(counts["non_finite"].values()) == {0}
    assert run["entries"] == expected["entries"]
    assert len(run["toys"]) == TOYS
    assert np.all(np.isfinite(run["toys"]))
    assert np.isfinite(run["max_abs_nsigma"])


linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc are Linux's"
)


@pytest.mark.slow
@linux_only
def test_2e7_weighted_events_under_the_cap(capped):
    expected, runs = capped
    run = runs["weighted"]
    _check_counts(run, expected)
    assert run["weighted"]
    assert (
        run["units"] > 1_000_000
    )  # continuous weights: units are many, not compressed


@pytest.mark.slow
@linux_only
def test_2e7_events_in_one_row_group_under_the_cap(capped):
    expected, runs = capped
    one, many = runs["one_group"], runs["many_groups"]
    _check_counts(one, expected)
    _check_counts(many, expected)
    for key in ("units", "counts", "entries", "max_abs_nsigma", "toys"):
        assert one[key] == many[key], key


def _parquet(path: Path, columns: dict[str, np.ndarray], *, row_groups: list[int]):
    """Write ``columns`` with row groups of the given sizes, in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for size in row_groups:
            writer.write_table(table.slice(start, size), row_group_size=size)
            start += size
    assert start == table.num_rows


def test_large_row_groups_are_read_in_row_ranges(rng, tmp_path):
    """A row group of more than ``chunk_size`` events becomes near-equal row ranges, read
    alone (picklable items) with the events of the file in order; small groups stay whole."""
    from asymscan.data.io import read_item, work_items

    ev = make_events(12_000, rng)
    path = tmp_path / "events.parquet"
    _parquet(path, ev, row_groups=[1000, 7000, 1000, 1000, 2000])
    items = work_items([path], chunk_size=2500)
    assert [(i.part, i.rows) for i in items] == [
        ((0,), None),
        ((1,), (0, 2333)),
        ((1,), (2333, 4666)),
        ((1,), (4666, 7000)),
        ((2, 3, 4), None),
    ]
    items = [pickle.loads(pickle.dumps(i)) for i in items]
    for name in ("m", "nj"):
        got = np.concatenate([read_item(i, [name])[name] for i in items])
        np.testing.assert_array_equal(got, ev[name])
        assert got.dtype == ev[name].dtype


@pytest.mark.parametrize("weighted", [False, True])
def test_cells_do_not_depend_on_the_row_groups(rng, tmp_path, weighted):
    """The same events in one row group or in many fill identical cells."""
    if weighted:
        ev = make_detector_events(9000, rng)
        cfg = detector_config(write_efficiencies(tmp_path / "eff.json"))
    else:
        ev = make_events(9000, rng)
        cfg = make_config()
    reference = build_cells([ev], cfg)
    n = ev["m"].size
    many = [1000] * (n // 1000) + ([n % 1000] if n % 1000 else [])
    for name, groups in (("one", [n]), ("many", many)):
        path = tmp_path / f"{name}.parquet"
        _parquet(path, ev, row_groups=groups)
        data = cfg.model_dump()
        data["data"]["paths"] = [str(path)]
        cells = fill_cells(config_from_dict(data), chunk_size=700)
        assert (cells.cells != reference.cells).nnz == 0
        np.testing.assert_array_equal(cells.multiplicity, reference.multiplicity)
        np.testing.assert_array_equal(cells.n_a, reference.n_a)
        assert cells.counts == reference.counts
        if weighted:
            np.testing.assert_array_equal(cells.weights.a, reference.weights.a)
            np.testing.assert_array_equal(
                cells.weights.shift_b, reference.weights.shift_b
            )


@pytest.mark.parametrize("collision", ["none", "first chunk", "later chunk"])
def test_weighted_units_merged_chunk_by_chunk_are_exact(
    monkeypatch, rng, tmp_path, collision
):
    """Units gathered chunk by chunk (the store, indexed by the row hash) equal the units of
    one chunk, in the same order; a hash shared by different rows (forced here, within the
    first chunk or between a later chunk's row and one already stored) switches to the exact
    grouping, with the same result."""
    from asymscan.scan import layout

    ev = make_detector_events(6000, rng)
    cfg = detector_config(write_efficiencies(tmp_path / "eff.json"))
    n = ev["m"].size
    chunks = [{k: v[i : i + 500] for k, v in ev.items()} for i in range(0, n, 500)]
    real = layout._row_hash
    if collision == "first chunk":
        monkeypatch.setattr(
            layout, "_row_hash", lambda rows: rows[:, 0].view(np.uint64) % 3
        )
    elif collision == "later chunk":
        first = layout.chunk_units(chunks[0], cfg).rows[0]
        seen = {
            r.tobytes() for c in chunks[:5] for r in layout.chunk_units(c, cfg).rows[0]
        }
        late = next(
            r
            for r in layout.chunk_units(chunks[5], cfg).rows[0]
            if r.tobytes() not in seen
        )
        target = real(first[:1])[0]
        monkeypatch.setattr(
            layout,
            "_row_hash",
            lambda rows: np.where((rows == late).all(axis=1), target, real(rows)),
        )
    added = []
    add = layout._UnitStore.add
    monkeypatch.setattr(
        layout._UnitStore,
        "add",
        lambda self, *a: added.append(add(self, *a)) or added[-1],
    )
    cells = build_cells(chunks, cfg)
    assert (
        added
        == {
            "none": [True] * len(chunks),
            "first chunk": [False],
            "later chunk": [True] * 5 + [False],
        }[collision]
    )
    reference = build_cells([ev], cfg)
    assert cells.n_units == reference.n_units < n
    assert (cells.cells != reference.cells).nnz == 0
    np.testing.assert_array_equal(cells.multiplicity, reference.multiplicity)
    np.testing.assert_array_equal(cells.n_a, reference.n_a)
    np.testing.assert_array_equal(cells.weights.b, reference.weights.b)
    np.testing.assert_array_equal(cells.weights.shift_a, reference.weights.shift_a)
