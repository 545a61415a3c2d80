"""Tests of the background and signal templates and of reading them from files."""

from __future__ import annotations

import sys

import hist
import numpy as np
import pytest

from asymscan import DataError, ShapeError
from asymscan.templates import (
    flat,
    from_histogram,
    gaussian,
    load_templates,
    normalise,
    rectangle,
)


def test_flat_background():
    t = flat()
    assert t.shape == (28, 28)
    assert np.all(t == 1e4)  # Sec. 4: 1e4 entries per bin
    np.testing.assert_array_equal(flat((3, 4, 2), 25.0), np.full((3, 4, 2), 25.0))
    assert flat(5, 100.0).shape == (5,)
    assert flat(5, 100).dtype == float


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan])
def test_flat_rejects_non_positive_values(value):
    with pytest.raises(DataError, match="positive value per bin"):
        flat((2, 2), value)


@pytest.mark.parametrize("shape", [(), (3, 0), (-2,), 0])
def test_bad_template_shapes(shape):
    with pytest.raises(ShapeError, match="positive lengths"):
        flat(shape)


def test_rectangle_is_centred_and_normalised():
    s = rectangle()
    assert s.shape == (28, 28)
    assert s.sum() == pytest.approx(1.0, rel=1e-14)
    expected = np.zeros((28, 28))
    expected[11:17, 11:17] = 1 / 36  # (28 - 6) // 2 = 11
    np.testing.assert_allclose(s, expected, rtol=1e-14)
    # odd leftovers go after the rectangle: 7 bins, size 2 -> bins 2, 3
    np.testing.assert_allclose(rectangle(7, 2), [0, 0, 0.5, 0.5, 0, 0, 0])
    # one size per axis, 3-D
    r = rectangle((5, 6, 3), (2, 3, 1))
    assert r.sum() == pytest.approx(1.0)
    nz = np.argwhere(r > 0)
    np.testing.assert_array_equal(nz.min(axis=0), [1, 1, 1])
    np.testing.assert_array_equal(nz.max(axis=0), [2, 3, 1])
    assert np.allclose(r[r > 0], 1 / 6)


def test_rectangle_with_start():
    s = rectangle((6, 8), (2, 3), start=(0, 5))
    assert s.sum() == pytest.approx(1.0)
    assert np.all(s[0:2, 5:8] == pytest.approx(1 / 6))
    assert s[2:, :].sum() == 0
    assert s[:, :5].sum() == 0
    np.testing.assert_allclose(rectangle(5, 2, start=3), [0, 0, 0, 0.5, 0.5])
    np.testing.assert_allclose(rectangle((4, 4), 4, start=0), np.full((4, 4), 1 / 16))


def test_rectangle_errors():
    with pytest.raises(ShapeError, match=r"size \(7, 7\) does not fit"):
        rectangle((6, 6), 7)
    with pytest.raises(ShapeError, match="does not fit"):
        rectangle((6, 6), 0)
    with pytest.raises(ShapeError, match="does not fit"):
        rectangle((6, 6), (2, 2, 2))
    with pytest.raises(ShapeError, match="falls outside"):
        rectangle((6, 6), 3, start=(4, 0))
    with pytest.raises(ShapeError, match="falls outside"):
        rectangle((6, 6), 3, start=-1)


def test_gaussian_peak_symmetry_and_normalisation():
    s = gaussian((28, 28), sigma=2.0)
    assert s.sum() == pytest.approx(1.0, rel=1e-14)
    # centred between bins 13 and 14 on both axes: four equal maxima, mirror symmetric
    np.testing.assert_allclose(s, s[::-1, :], rtol=1e-12)
    np.testing.assert_allclose(s, s[:, ::-1], rtol=1e-12)
    np.testing.assert_allclose(s, s.T, rtol=1e-12)
    assert s[13, 13] == pytest.approx(s.max(), rel=1e-14)
    # peak on a bin, with the Gaussian profile around it (bin units)
    g = gaussian((9, 11), mean=(3.0, 6.0), sigma=(1.0, 2.5))
    assert np.unravel_index(np.argmax(g), g.shape) == (3, 6)
    assert g[4, 6] / g[3, 6] == pytest.approx(np.exp(-0.5 / 1.0**2), rel=1e-12)
    assert g[3, 8] / g[3, 6] == pytest.approx(np.exp(-0.5 * 4 / 2.5**2), rel=1e-12)
    assert g[2, 6] == pytest.approx(g[4, 6], rel=1e-12)
    # correlation: symmetric under a half turn about the centre, not under a mirror
    c = gaussian((15, 15), sigma=2.0, rho=0.6)
    np.testing.assert_allclose(c, c[::-1, ::-1], rtol=1e-12)
    np.testing.assert_allclose(c, c.T, rtol=1e-12)
    assert c[9, 9] > c[9, 5]  # mass along the diagonal (rho > 0)
    assert not np.allclose(c, c[::-1, :])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": (5,)}, ShapeError, "gaussian templates are 2-D"),
        ({"shape": (5, 5, 5)}, ShapeError, "gaussian templates are 2-D"),
        ({"sigma": 0.0}, DataError, "sigma > 0"),
        ({"sigma": (1.0, -1.0)}, DataError, "sigma > 0"),
        ({"rho": 1.0}, DataError, "-1 < rho < 1"),
        ({"rho": -1.5}, DataError, "-1 < rho < 1"),
    ],
)
def test_gaussian_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        gaussian(**kwargs)


def test_normalise_and_from_histogram():
    s = normalise(np.array([[1.0, 3.0], [0.0, 4.0]]))
    np.testing.assert_allclose(s, [[0.125, 0.375], [0.0, 0.5]])
    with pytest.raises(DataError, match="no positive entry"):
        normalise(np.zeros(3))
    with pytest.raises(DataError, match="negative count"):
        normalise(np.array([1.0, -1.0, 2.0]))
    h = hist.Hist.new.Reg(3, 0, 3).Reg(2, 0, 2).Double()
    h[...] = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(from_histogram(h), np.arange(6.0).reshape(3, 2))
    np.testing.assert_allclose(normalise(h), np.arange(6.0).reshape(3, 2) / 15)
    with pytest.raises(DataError, match="non-finite"):
        from_histogram(np.array([1.0, np.inf]))


def test_load_templates_from_npz(tmp_path):
    t = flat((4, 5), 30.0)
    s_raw = 7.0 * rectangle((4, 5), 2)
    path = tmp_path / "templates.npz"
    np.savez(path, background=t, signal=s_raw, extra=np.ones(2))
    bkg, sig = load_templates(path)
    np.testing.assert_array_equal(bkg, t)
    np.testing.assert_allclose(sig, rectangle((4, 5), 2), rtol=1e-14)  # renormalised
    bkg2, _ = load_templates(str(path))  # a str works too
    np.testing.assert_array_equal(bkg2, t)


def test_load_templates_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_templates(tmp_path / "missing.npz")
    txt = tmp_path / "templates.txt"
    txt.write_text("1 2 3\n")
    with pytest.raises(DataError, match=r"expected a \.npz or \.root file"):
        load_templates(txt)
    only_bkg = tmp_path / "only_background.npz"
    np.savez(only_bkg, background=np.ones((2, 2)))
    with pytest.raises(DataError, match=r"lacks array\(s\) \['signal'\]"):
        load_templates(only_bkg)
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, background=np.ones((2, 2)), signal=np.ones((2, 3)))
    with pytest.raises(ShapeError, match="different shapes"):
        load_templates(mismatch)
    negative = tmp_path / "negative.npz"
    np.savez(negative, background=-np.ones((2, 2)), signal=np.ones((2, 2)))
    with pytest.raises(DataError, match="negative count"):
        load_templates(negative)
    no_signal = tmp_path / "no_signal.npz"
    np.savez(no_signal, background=np.ones((2, 2)), signal=np.zeros((2, 2)))
    with pytest.raises(DataError, match="no positive entry"):
        load_templates(no_signal)


def test_load_templates_from_root(tmp_path):
    uproot = pytest.importorskip("uproot")
    h = hist.Hist.new.Reg(3, 0, 3).Reg(2, 0, 2).Double()
    h[...] = np.arange(1.0, 7.0).reshape(3, 2)
    path = tmp_path / "templates.root"
    with uproot.recreate(path) as f:
        f["background"] = h
        f["signal"] = (
            np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 0.0]]),
            np.arange(4.0),
            np.arange(3.0),
        )
    bkg, sig = load_templates(path)
    np.testing.assert_array_equal(bkg, np.arange(1.0, 7.0).reshape(3, 2))
    np.testing.assert_allclose(sig, [[0.25, 0.0], [0.0, 0.5], [0.25, 0.0]])
    partial = tmp_path / "partial.root"
    with uproot.recreate(partial) as f:
        f["background"] = h
    with pytest.raises(DataError, match=r"lacks histogram\(s\) \['signal'\]"):
        load_templates(partial)


def test_root_without_uproot_names_the_extra(tmp_path, monkeypatch):
    path = tmp_path / "templates.root"
    path.write_bytes(b"not really root")
    monkeypatch.setitem(sys.modules, "uproot", None)  # makes `import uproot` fail
    with pytest.raises(ModuleNotFoundError, match=r"asymscan\[root\]"):
        load_templates(path)
