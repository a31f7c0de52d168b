"""Bright targets: the resolved or point-like object an observation is pointed at.

A target is one of four shapes, each rendered flux-exactly on the image grid:

- ``gaussian``: an elliptical Gaussian (point-like to a few arcsec);
- ``multi``: two to four Gaussian components around a centre (a clumpy source,
  a merger, a jet and core);
- ``disc``: a uniform elliptical disc (a protoplanetary disc, a planet);
- ``ring``: an elliptical annulus (a ring-like disc, an Einstein ring).

Its truth row gives the integrated flux, the flux-weighted centre and the
FWHM and position angle of the Gaussian with the same second moments, so that
a catalogue's deconvolved size can be scored against it whatever the shape.
"""

import numpy as np

from ._sky import FWHM_TO_SIGMA, render_sky

__all__ = ["TARGET_SHAPES", "draw_targets", "render_targets", "empty_targets"]

TARGET_SHAPES = ("gaussian", "multi", "disc", "ring")
#: Two targets of a field lie at least this far apart beyond their extents (0.75 x their sizes).
MIN_GAP_ARCSEC = 2.0
_OVERSAMPLE = 4  # sub-pixels per pixel and axis for the discs and rings: their edges are sharp


def empty_targets():
    """The targets of a field without any (a dict of empty arrays)."""
    return {
        "x": np.zeros(0),
        "y": np.zeros(0),
        "flux": np.zeros(0),
        "fwhm_maj": np.zeros(0),
        "fwhm_min": np.zeros(0),
        "pa": np.zeros(0),
        "shape": np.zeros(0, dtype="<U8"),
        "components": [],
    }


def draw_targets(rng, config):
    """Draw the bright targets of one image (none unless ``config.targets.fraction > 0``).

    Nothing is drawn from ``rng`` when the fraction is 0, so a population
    without targets gives the same images as before targets existed.

    Parameters
    ----------
    rng : `numpy.random.Generator`
        Source of the random draws.
    config : `~astro_i2i.simulate.SimulationConfig`
        Its ``targets`` and ``image`` sections.

    Returns
    -------
    targets : dict
        ``x``, ``y`` (0-based pixel of the flux-weighted centre), ``flux``
        (integrated, Jy), ``fwhm_maj``, ``fwhm_min`` (arcsec, of the Gaussian
        with the same second moments), ``pa`` (deg east of north), ``shape``
        (one of `TARGET_SHAPES`), and ``components``: per target, the list of
        ``(kind, parameters)`` that `render_targets` draws.
    """
    t, image = config.targets, config.image
    if t.fraction <= 0 or rng.uniform() >= t.fraction:
        return empty_targets()
    n = int(rng.integers(t.n_min, t.n_max + 1))
    scale = image.pixel_scale_arcsec
    centre = image.size / 2
    weights = np.array([t.weight_gaussian, t.weight_multi, t.weight_disc, t.weight_ring], dtype=float)
    targets = empty_targets()
    rows = {k: [] for k in ("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa", "shape")}
    placed = []  # (x, y, size) of the targets so far
    for _ in range(n):
        flux = float(np.exp(rng.uniform(np.log(t.flux_min_jy), np.log(t.flux_max_jy))))
        # Sizes log-uniform: as many point-like targets as resolved ones.
        size = float(np.exp(rng.uniform(np.log(t.size_min_arcsec), np.log(t.size_max_arcsec))))
        # Two targets are two objects: their edges at least MIN_GAP apart (closer, they are one target's
        # components, which "multi" draws), up to 50 tries.
        for _ in range(50):
            radius = t.max_radius_arcsec * np.sqrt(rng.uniform()) / scale
            angle = rng.uniform(0, 2 * np.pi)
            x0, y0 = centre + radius * np.cos(angle), centre + radius * np.sin(angle)
            if all(np.hypot(x0 - x1, y0 - y1) * scale >= 0.75 * (size + s1) + MIN_GAP_ARCSEC for x1, y1, s1 in placed):
                break
        placed.append((x0, y0, size))
        shape = TARGET_SHAPES[int(rng.choice(4, p=weights / weights.sum()))]
        axis_ratio = float(rng.uniform(0.3, 1.0))
        pa = float(rng.uniform(0, 180))
        if shape == "gaussian":
            components = [("gaussian", (x0, y0, flux, size, size * axis_ratio, pa))]
        elif shape == "multi":
            k = int(rng.integers(2, 5))
            shares = rng.dirichlet(np.full(k, 1.5))
            components = []
            for share in shares:
                offset = 0.5 * size * np.sqrt(rng.uniform()) / scale
                phi = rng.uniform(0, 2 * np.pi)
                part = float(np.exp(rng.uniform(np.log(max(0.1, 0.15 * size)), np.log(max(0.15, 0.5 * size)))))
                components.append(("gaussian", (x0 + offset * np.cos(phi), y0 + offset * np.sin(phi), flux * share,
                                                part, part * float(rng.uniform(0.5, 1.0)), float(rng.uniform(0, 180)))))
        elif shape == "disc":
            components = [("disc", (x0, y0, flux, size, axis_ratio, pa, 0.0))]
        else:
            components = [("ring", (x0, y0, flux, size, axis_ratio, pa, float(rng.uniform(0.4, 0.8))))]
        targets["components"].append(components)
        moments = _moments(components, scale)
        for key, value in zip(("x", "y", "fwhm_maj", "fwhm_min", "pa", "flux"), moments):
            rows[key].append(flux * value if key == "flux" else value)
        rows["shape"].append(shape)
    for key, values in rows.items():
        targets[key] = np.asarray(values, dtype="<U8" if key == "shape" else float)
    return targets


def _ellipse_stamp(x0, y0, diameter_pix, axis_ratio, pa, inner, size):
    """Flux fractions (summing to 1) of a uniform elliptical disc or annulus, oversampled, and its slices."""
    a = diameter_pix / 2
    half = int(np.ceil(a)) + 2
    x_lo, x_hi = max(int(x0) - half, 0), min(int(x0) + half + 1, size)
    y_lo, y_hi = max(int(y0) - half, 0), min(int(y0) + half + 1, size)
    if x_lo >= x_hi or y_lo >= y_hi:
        return None, None
    f = _OVERSAMPLE
    sub = (np.arange(f) + 0.5) / f - 0.5
    yy = (np.arange(y_lo, y_hi)[:, None] + sub[None, :]).ravel()
    xx = (np.arange(x_lo, x_hi)[:, None] + sub[None, :]).ravel()
    dy, dx = np.meshgrid(yy - y0, xx - x0, indexing="ij")
    theta = np.radians(pa)
    along = -dx * np.sin(theta) + dy * np.cos(theta)
    across = dx * np.cos(theta) + dy * np.sin(theta)
    r2 = (along / a) ** 2 + (across / max(a * axis_ratio, 0.25)) ** 2
    inside = (r2 <= 1.0) & (r2 >= inner**2)
    stamp = inside.reshape(y_hi - y_lo, f, x_hi - x_lo, f).sum(axis=(1, 3)).astype(float)
    total = stamp.sum()
    if total == 0:  # smaller than a sub-pixel: a point
        stamp[int(np.clip(round(y0) - y_lo, 0, y_hi - y_lo - 1)), int(np.clip(round(x0) - x_lo, 0, x_hi - x_lo - 1))] = 1
        total = 1.0
    return stamp / total, (slice(y_lo, y_hi), slice(x_lo, x_hi))


def render_targets(targets, size, pixel_scale_arcsec, *, sky=None):
    """Add the targets to ``sky`` (or to a new zero image), Jy/pixel; returns the image (float64).

    Parameters
    ----------
    targets : dict
        As `draw_targets` gives; its ``components`` are drawn.
    size : int
        Side of the square image in pixels.
    pixel_scale_arcsec : float
        Pixel size, arcsec.
    sky : `~numpy.ndarray`, optional
        A sky model (Jy/pixel) to add the targets to; default None, zeros.

    Returns
    -------
    sky : `~numpy.ndarray`
        ``(size, size)`` float64, Jy/pixel (a new array: ``sky`` is copied
        unless it is already float64).
    """
    out = np.zeros((size, size), dtype=np.float64) if sky is None else np.asarray(sky, dtype=np.float64)
    for components in targets["components"]:
        gaussians = [p for kind, p in components if kind == "gaussian"]
        if gaussians:
            values = np.asarray(gaussians, dtype=float).T
            out += render_sky(dict(zip(("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa"), values)), size,
                              pixel_scale_arcsec, dtype=np.float64)  # fmt: skip
        for kind, (x0, y0, flux, diameter, axis_ratio, pa, inner) in (c for c in components if c[0] != "gaussian"):
            stamp, window = _ellipse_stamp(x0, y0, diameter / pixel_scale_arcsec, axis_ratio, pa, inner, size)
            if stamp is not None:
                out[window] += flux * stamp
    return out


def _moments(components, scale):
    """Flux-weighted centre (pixels), FWHM (arcsec) and PA (deg) of the Gaussian of the same second moments, and
    the share of the nominal flux the pixels hold (sub-pixel Gaussians are sampled at pixel centres: up to 2 %
    off), so that the truth is the flux in the image."""
    cx = np.mean([c[1][0] for c in components])
    cy = np.mean([c[1][1] for c in components])
    size = 2 * int(max(_extent(c, scale) + np.hypot(c[1][0] - cx, c[1][1] - cy) for c in components)) + 8
    ox, oy = int(cx) - size // 2, int(cy) - size // 2
    shifted = [(kind, (p[0] - ox, p[1] - oy, *p[2:])) for kind, p in components]
    image = render_targets({"components": [shifted]}, size, scale)
    total = image.sum()
    yy, xx = np.mgrid[:size, :size]
    mx, my = (image * xx).sum() / total, (image * yy).sum() / total
    cxx = (image * (xx - mx) ** 2).sum() / total
    cyy = (image * (yy - my) ** 2).sum() / total
    cxy = (image * (xx - mx) * (yy - my)).sum() / total
    # East is -x: rotate into (east, north) = (-x, y) before reading off the major axis.
    cov = np.array([[cxx, -cxy], [-cxy, cyy]])
    values, vectors = np.linalg.eigh(cov)
    major = vectors[:, 1]
    pa = float(np.degrees(np.arctan2(major[0], major[1])) % 180)
    to_fwhm = scale / FWHM_TO_SIGMA
    nominal = sum(p[2] for _, p in components)
    return (mx + ox, my + oy, float(np.sqrt(max(values[1], 0)) * to_fwhm), float(np.sqrt(max(values[0], 0)) * to_fwhm),
            pa, float(total / nominal))  # fmt: skip


def _extent(component, scale):
    kind, p = component
    return (3 * p[3] if kind == "gaussian" else p[3]) / scale + 2
