"""Camera geometry, tail-cut cleaning and Hillas parameters against hand-made images."""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.spatial.distance import cdist  # noqa: E402

from course_utils.physics import hillas  # noqa: E402

#: The attributes listed in magic04.names (section 7), typed from the UCI description.
UCI_ATTRIBUTES = ["fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans", "fAlpha", "fDist"]


@pytest.fixture(scope="module")
def fine_camera():
    """A camera of small pixels (2 mm), so that sampled ellipses have exact moments."""
    return hillas.hexagonal_camera(n_rings=60, pixel_spacing=2.0)


def gaussian_image(geom, cx, cy, length, width, psi_deg, amplitude=1000.0):
    """A bivariate Gaussian of known spreads and orientation, sampled at the pixel centres."""
    psi = math.radians(psi_deg)
    dx, dy = geom.pix_x - cx, geom.pix_y - cy
    along = dx * math.cos(psi) + dy * math.sin(psi)
    across = -dx * math.sin(psi) + dy * math.cos(psi)
    return amplitude * np.exp(-0.5 * (along / length) ** 2 - 0.5 * (across / width) ** 2)


# --- geometry ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("n_rings", [0, 1, 2, 5, 18])
def test_pixel_count_is_centred_hexagonal_number(n_rings):
    geom = hillas.hexagonal_camera(n_rings, 30.0)
    assert geom.n_pixels == 1 + 3 * n_rings * (n_rings + 1)
    assert geom.pix_x[0] == 0 and geom.pix_y[0] == 0


def test_default_camera_is_about_a_thousand_pixels_of_a_tenth_of_a_degree():
    geom = hillas.hexagonal_camera()
    assert geom.n_pixels == 1027
    assert geom.pixel_spacing / hillas.MM_PER_DEG == pytest.approx(0.1, rel=0.02)
    assert geom.radius == pytest.approx(18 * 30.0)
    assert geom.pixel_area == pytest.approx(math.sqrt(3) / 2 * 900.0)


def test_neighbours_are_the_pixels_one_spacing_away():
    geom = hillas.hexagonal_camera(4, 30.0)
    d = cdist(np.c_[geom.pix_x, geom.pix_y], np.c_[geom.pix_x, geom.pix_y])
    brute = [set(np.flatnonzero(np.isclose(row, 30.0))) for row in d]
    listed = [set(n[n < geom.n_pixels].tolist()) for n in geom.neighbors]
    assert listed == brute
    assert len(listed[0]) == 6
    # all pixel centres distinct and at least one spacing apart
    np.fill_diagonal(d, np.inf)
    assert d.min() == pytest.approx(30.0)


@pytest.mark.parametrize("kwargs", [{"n_rings": -1}, {"n_rings": 2.5}, {"n_rings": True},
                                    {"pixel_spacing": 0.0}, {"pixel_spacing": float("nan")}])
def test_impossible_camera_is_refused(kwargs):
    with pytest.raises(ValueError):
        hillas.hexagonal_camera(**kwargs)


# --- cleaning ---------------------------------------------------------------------------------------------

def reference_tailcuts(geom, image, pic, bnd, keep_isolated=False):
    """Pixel-by-pixel tail cuts with neighbours found from distances (independent of geom.neighbors)."""
    pos = np.c_[geom.pix_x, geom.pix_y]
    adj = np.isclose(cdist(pos, pos), geom.pixel_spacing)
    picture = image >= pic
    boundary = image >= bnd
    keep = np.zeros_like(picture)
    for i in range(image.size):
        if picture[i] and (keep_isolated or boundary[adj[i]].any()):
            keep[i] = True
        elif boundary[i] and picture[adj[i]].any():
            keep[i] = True
    return keep


def test_tailcuts_hand_worked_example():
    geom = hillas.hexagonal_camera(4, 30.0)
    img = np.zeros(geom.n_pixels)
    centre = 0
    nb = geom.neighbors[centre][0]
    far = geom.n_pixels - 1
    lonely_boundary = geom.n_pixels - 20
    img[centre], img[nb], img[far], img[lonely_boundary] = 10.0, 4.0, 10.0, 4.0
    mask = hillas.tailcuts_clean(geom, img, 6.0, 3.0)
    assert set(np.flatnonzero(mask)) == {centre, nb}  # isolated picture and lone boundary pixels go
    kept = hillas.tailcuts_clean(geom, img, 6.0, 3.0, keep_isolated_pixels=True)
    assert set(np.flatnonzero(kept)) == {centre, nb, far}


def test_tailcuts_matches_reference_on_random_batches():
    geom = hillas.hexagonal_camera(6, 30.0)
    rng = np.random.default_rng(7)
    images = rng.exponential(2.5, (40, geom.n_pixels))
    for keep_isolated in (False, True):
        batch = hillas.tailcuts_clean(geom, images, 6.0, 3.0, keep_isolated_pixels=keep_isolated)
        for img, m in zip(images, batch):
            assert np.array_equal(m, reference_tailcuts(geom, img, 6.0, 3.0, keep_isolated))


def test_tailcuts_min_number_of_picture_neighbours():
    geom = hillas.hexagonal_camera(3, 30.0)
    img = np.zeros(geom.n_pixels)
    img[0] = 10.0
    img[geom.neighbors[0][0]] = 10.0
    assert hillas.tailcuts_clean(geom, img, 6, 3).sum() == 2
    assert hillas.tailcuts_clean(geom, img, 6, 3, min_number_picture_neighbors=2).sum() == 0


@pytest.mark.parametrize("images, pic, bnd", [
    (np.zeros(5), 6, 3),                      # wrong number of pixels
    (np.full(37, np.nan), 6, 3),              # NaN
    (np.zeros((0, 37)), 6, 3),                # no image
    (np.zeros(37), 3, 6),                     # boundary above picture
])
def test_tailcuts_bad_input(images, pic, bnd):
    geom = hillas.hexagonal_camera(3, 30.0)
    with pytest.raises(ValueError):
        hillas.tailcuts_clean(geom, images, pic, bnd)


# --- Hillas parameters ------------------------------------------------------------------------------------

@pytest.mark.parametrize("length, width, psi", [(20.0, 8.0, 30.0), (12.0, 12.0, 0.0), (15.0, 3.0, -70.0)])
def test_ellipse_of_known_length_width_and_angle(fine_camera, length, width, psi):
    cx, cy = 10.0, -5.0
    h = hillas.hillas_parameters(fine_camera, gaussian_image(fine_camera, cx, cy, length, width, psi)).iloc[0]
    assert h["fLength"] == pytest.approx(length, rel=2e-3)
    assert h["fWidth"] == pytest.approx(width, rel=2e-3)
    assert h["cen_x"] == pytest.approx(cx, abs=1e-3)
    assert h["cen_y"] == pytest.approx(cy, abs=1e-3)
    assert h["fDist"] == pytest.approx(math.hypot(cx, cy), abs=1e-3)
    # symmetric: the third moments vanish (up to the sampling on pixels; a cube root magnifies small values)
    assert abs(h["fM3Long"]) < 0.05 * length
    assert abs(h["fM3Trans"]) < 0.05 * length
    if length != width:  # the direction of a round image is undefined
        # the axis is oriented away from the source: psi or psi + 180
        delta = (h["psi"] - psi) % 180.0
        assert min(delta, 180 - delta) == pytest.approx(0.0, abs=0.05)
        e = np.array([math.cos(math.radians(h["psi"])), math.sin(math.radians(h["psi"]))])
        assert e @ np.array([cx, cy]) >= 0


def test_alpha_and_dist_from_the_geometry(fine_camera):
    # centroid at 50 mm along 36.87 deg; major axis turned by 25 deg from the line to the source
    cx, cy = 40.0, 30.0
    psi = math.degrees(math.atan2(cy, cx)) + 25.0
    h = hillas.hillas_parameters(fine_camera, gaussian_image(fine_camera, cx, cy, 15.0, 5.0, psi)).iloc[0]
    assert h["fDist"] == pytest.approx(50.0, abs=1e-3)
    assert h["fAlpha"] == pytest.approx(25.0, abs=0.05)
    # an axis pointing at the source gives alpha = 0, a perpendicular one 90
    along = hillas.hillas_parameters(fine_camera, gaussian_image(fine_camera, cx, cy, 15.0, 5.0, psi - 25)).iloc[0]
    across = hillas.hillas_parameters(fine_camera, gaussian_image(fine_camera, cx, cy, 15.0, 5.0, psi + 65)).iloc[0]
    assert along["fAlpha"] == pytest.approx(0.0, abs=0.05)
    assert across["fAlpha"] == pytest.approx(90.0, abs=0.05)


def test_moments_match_numpy_on_random_images():
    geom = hillas.hexagonal_camera(5, 30.0)
    rng = np.random.default_rng(3)
    images = rng.exponential(5.0, (20, geom.n_pixels)) * (rng.random((20, geom.n_pixels)) < 0.3)
    table = hillas.hillas_parameters(geom, images)
    for img, (_, h) in zip(images, table.iterrows()):
        cov = np.cov(geom.pix_x, geom.pix_y, aweights=img, ddof=0)
        eig, vec = np.linalg.eigh(cov)
        assert h["fLength"] == pytest.approx(math.sqrt(eig[1]), rel=1e-9)
        assert h["fWidth"] == pytest.approx(math.sqrt(max(eig[0], 0)), rel=1e-9, abs=1e-9)
        cx, cy = np.average(geom.pix_x, weights=img), np.average(geom.pix_y, weights=img)
        e = vec[:, 1] * (1 if vec[:, 1] @ [cx, cy] >= 0 else -1)
        t = np.array([-e[1], e[0]])
        rel = np.c_[geom.pix_x - cx, geom.pix_y - cy]
        assert h["fM3Long"] == pytest.approx(np.cbrt(np.average((rel @ e) ** 3, weights=img)), rel=1e-6, abs=1e-6)
        assert h["fM3Trans"] == pytest.approx(np.cbrt(np.average((rel @ t) ** 3, weights=img)), rel=1e-6, abs=1e-6)
        top = np.sort(img)[::-1]
        assert h["fSize"] == pytest.approx(math.log10(img.sum()))
        assert h["fConc1"] == pytest.approx(top[0] / img.sum())
        assert h["fConc"] == pytest.approx(top[:2].sum() / img.sum())
        assert h["fAsym"] == pytest.approx(rel[img.argmax()] @ e, abs=1e-9)
        assert 0 <= h["fAlpha"] <= 90


def test_tail_away_from_the_source_gives_positive_third_moment(fine_camera):
    # a bright core and a faint tail further from the source, along the line to it
    core = gaussian_image(fine_camera, 30.0, 0.0, 8.0, 4.0, 0.0, 1000.0)
    tail = gaussian_image(fine_camera, 55.0, 0.0, 12.0, 4.0, 0.0, 150.0)
    h = hillas.hillas_parameters(fine_camera, core + tail).iloc[0]
    assert h["fM3Long"] > 5.0
    assert h["fAsym"] < 0  # the brightest pixel lies on the source side of the centroid
    assert h["fAlpha"] == pytest.approx(0.0, abs=0.1)
    mirrored = hillas.hillas_parameters(fine_camera, gaussian_image(fine_camera, 30.0, 0, 8, 4, 0, 1000)
                                        + gaussian_image(fine_camera, 5.0, 0, 12, 4, 0, 150)).iloc[0]
    assert mirrored["fM3Long"] < -5.0


def test_hand_made_three_pixel_image():
    geom = hillas.hexagonal_camera(2, 30.0)
    img = np.zeros(geom.n_pixels)
    a, b = geom.neighbors[0][:2]
    img[[0, a, b]] = [10.0, 5.0, 5.0]
    h = hillas.hillas_parameters(geom, img).iloc[0]
    assert h["fSize"] == pytest.approx(math.log10(20.0))
    assert h["fConc1"] == pytest.approx(0.5)
    assert h["fConc"] == pytest.approx(0.75)
    assert h["n_pixels"] == 3
    assert h["cen_x"] == pytest.approx((5 * geom.pix_x[a] + 5 * geom.pix_x[b]) / 20)


def test_columns_are_the_magic_features_in_file_order():
    assert hillas.FEATURES == UCI_ATTRIBUTES
    assert hillas.HILLAS_COLUMNS[:10] == UCI_ATTRIBUTES


def test_physics_does_not_import_the_data_layer():
    code = ("import sys; from course_utils.physics import hillas; hillas.hexagonal_camera(2); "
            "bad = [m for m in sys.modules if m.startswith('course_utils.datasets')]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_rotation_by_sixty_degrees_leaves_the_parameters_unchanged():
    geom = hillas.hexagonal_camera(8, 30.0)
    rng = np.random.default_rng(11)
    img = gaussian_image(geom, 90.0, 40.0, 40.0, 15.0, 10.0) + rng.exponential(0.5, geom.n_pixels)
    c, s = math.cos(math.pi / 3), math.sin(math.pi / 3)
    rx, ry = c * geom.pix_x - s * geom.pix_y, s * geom.pix_x + c * geom.pix_y
    perm = cdist(np.c_[rx, ry], np.c_[geom.pix_x, geom.pix_y]).argmin(axis=1)  # pixel i goes to perm[i]
    rotated = np.zeros_like(img)
    rotated[perm] = img
    h0, h1 = hillas.hillas_parameters(geom, np.stack([img, rotated])).iloc[[0, 1]].to_dict("records")
    for key in ("fLength", "fWidth", "fSize", "fConc", "fConc1", "fAsym", "fM3Long", "fM3Trans", "fAlpha", "fDist"):
        assert h1[key] == pytest.approx(h0[key], rel=1e-6, abs=1e-6), key
    assert (h1["psi"] - h0["psi"]) % 360 == pytest.approx(60.0, abs=1e-6)


def test_mask_selects_the_pixels():
    geom = hillas.hexagonal_camera(3, 30.0)
    img = np.arange(geom.n_pixels, dtype=float)
    mask = np.zeros(geom.n_pixels, dtype=bool)
    mask[[0, 1, 2]] = True
    expected = hillas.hillas_parameters(geom, np.where(mask, img, 0.0))
    assert hillas.hillas_parameters(geom, img, mask).equals(expected)


def test_hillas_bad_input():
    geom = hillas.hexagonal_camera(3, 30.0)
    img = np.ones(geom.n_pixels)
    with pytest.raises(ValueError, match="no charge"):
        hillas.hillas_parameters(geom, np.zeros(geom.n_pixels))
    with pytest.raises(ValueError, match="negative"):
        hillas.hillas_parameters(geom, -img)
    with pytest.raises(ValueError, match="shape"):
        hillas.hillas_parameters(geom, img, np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="boolean"):
        hillas.hillas_parameters(geom, img, np.ones(geom.n_pixels))
    with pytest.raises(ValueError, match="n_pixels"):
        hillas.hillas_parameters(geom, np.ones((2, 5)))


def test_draw_camera_returns_a_figure():
    import matplotlib.pyplot as plt

    geom = hillas.hexagonal_camera(6, 30.0)
    img = gaussian_image(geom, 60.0, 20.0, 30.0, 10.0, 20.0)
    h = hillas.hillas_parameters(geom, img).iloc[0]
    fig = hillas.draw_camera(geom, img, hillas=h, title="test")
    assert fig.axes[0].get_title() == "test"
    assert len(fig.axes[0].patches) == 2  # the 1- and 2-sigma ellipses
    plt.close(fig)
    with pytest.raises(ValueError):
        hillas.draw_camera(geom, np.ones((2, geom.n_pixels)))
