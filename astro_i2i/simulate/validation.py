"""Compare the simulator with images made by CASA itself (simobserve + tclean)."""

from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.table import Table
from scipy import ndimage, optimize

from ..exceptions import InputError
from ..io import fit_psf_beam, read_image
from ._observe import Observation
from .config import SimulationConfig

__all__ = ["radial_autocorrelation", "mask_radius", "compare_with_casa"]


def radial_autocorrelation(image, max_lag=20):
    """Azimuthally averaged autocorrelation of the finite pixels, lags 0..max_lag, normalised to 1 at 0."""
    valid = np.isfinite(image)
    values = np.where(valid, image - np.nanmean(image), 0.0)
    shape = [2 * s for s in image.shape]
    f_values = np.fft.rfft2(values, s=shape)
    f_valid = np.fft.rfft2(valid.astype(float), s=shape)
    products = np.fft.irfft2(f_values * np.conj(f_values), s=shape)
    counts = np.fft.irfft2(f_valid * np.conj(f_valid), s=shape)
    products = np.fft.fftshift(products)
    counts = np.fft.fftshift(counts)
    cy, cx = shape[0] // 2, shape[1] // 2
    window = slice(cy - max_lag, cy + max_lag + 1), slice(cx - max_lag, cx + max_lag + 1)
    corr = products[window] / np.maximum(counts[window], 1)
    yy, xx = np.mgrid[-max_lag : max_lag + 1, -max_lag : max_lag + 1]
    radius = np.rint(np.hypot(yy, xx)).astype(int)
    keep = radius <= max_lag
    profile = np.bincount(radius[keep], corr[keep]) / np.bincount(radius[keep])
    return profile / profile[0]


def mask_radius(image):
    """Radius (pixels) of a disc with the same area as the finite pixels."""
    return float(np.sqrt(np.isfinite(image).sum() / np.pi))


def _noise_rms(image):
    _, _, std = sigma_clipped_stats(image[np.isfinite(image)], sigma=3.0)
    return float(std)


def _centroid(image, x, y, sigma_pix, radius=6):
    """Position of a source near (x, y): least-squares fit of a round Gaussian of width ``sigma_pix``.

    Fitting the whole main lobe is far less sensitive to noise than the peak pixel.
    """
    ny, nx = image.shape
    box = np.nan_to_num(image[max(int(y) - 2 * radius, 0) : int(y) + 2 * radius + 1,
                              max(int(x) - 2 * radius, 0) : int(x) + 2 * radius + 1], nan=-np.inf)  # fmt: skip
    py, px = np.unravel_index(np.argmax(box), box.shape)
    py, px = py + max(int(y) - 2 * radius, 0), px + max(int(x) - 2 * radius, 0)
    yy, xx = np.mgrid[max(py - radius, 0) : min(py + radius + 1, ny), max(px - radius, 0) : min(px + radius + 1, nx)]
    values = image[yy, xx]
    keep = np.isfinite(values)
    yy, xx, values = yy[keep], xx[keep], values[keep]

    def residual(params):
        amplitude, x0, y0 = params
        return amplitude * np.exp(-0.5 * ((xx - x0) ** 2 + (yy - y0) ** 2) / sigma_pix**2) - values

    fit = optimize.least_squares(residual, [image[py, px], px, py])
    return fit.x[1], fit.x[2]


def _plane(path):
    with fits.open(path) as hdulist:
        data = np.asarray(hdulist[0].data, dtype=np.float64)
    return data.reshape(data.shape[-2:])


def compare_with_casa(reference_dir, *, images=None, config=None, seed=0, snr_min=5.0):
    """Simulate CASA's reference observations with astro-i2i and compare.

    Parameters
    ----------
    reference_dir : path-like
        Folder with CASA's ``dirty_XXX.fits``, ``psf_XXX.fits``, ``sky_XXX.fits``,
        ``pb_000.fits``, ``images.ecsv`` and ``truth.ecsv``.
    images : list of str, optional
        Image labels (``'000'``...); all of ``images.ecsv`` by default.
    config : `SimulationConfig`, optional
    seed : int, optional
        Seed of our noise realisations.
    snr_min : float, optional
        Sources whose peak in CASA's dirty image is above this many noise
        sigma are used for the position check, which compares positions
        fitted in CASA's dirty image and in our noise-free one.

    Returns
    -------
    result : dict
        ``beams`` (per-image rows: ours and CASA's BMAJ, BMIN, BPA), ``noise``
        (RMS ours and CASA's on empty fields), ``autocorrelation`` (Pearson
        correlation of the two radial profiles, and the profiles),
        ``mask_radius``, ``primary_beam_max_difference``, ``positions``
        (per-source offsets between peak positions, pixels).
    """
    reference_dir = Path(reference_dir)
    if not (reference_dir / "images.ecsv").exists():
        raise InputError(reference_dir, "no images.ecsv: not a CASA reference folder")
    config = config or SimulationConfig()
    table = Table.read(reference_dir / "images.ecsv")
    truth = Table.read(reference_dir / "truth.ecsv")
    labels = [str(label) for label in table["image"]] if images is None else list(images)
    rng = np.random.default_rng(seed)
    beams, noise, ours_ac, casa_ac, positions, radii = [], [], [], [], [], []
    pb_difference = None
    for row in table:
        label = str(row["image"])
        if label not in labels:
            continue
        observation = Observation(config, float(row["dec_deg"]))
        casa_dirty = read_image(reference_dir / f"dirty_{label}.fits")
        wcs = casa_dirty.wcs
        ours_beam = fit_psf_beam(observation.psf(), wcs)
        casa_beam = casa_dirty.beam
        beams.append({
            "image": label,
            "ours": [ours_beam.major.to_value(u.arcsec), ours_beam.minor.to_value(u.arcsec), ours_beam.pa.to_value(u.deg)],
            "casa": [casa_beam.major.to_value(u.arcsec), casa_beam.minor.to_value(u.arcsec), casa_beam.pa.to_value(u.deg)],
        })  # fmt: skip
        if pb_difference is None and (reference_dir / "pb_000.fits").exists():
            casa_pb = _plane(reference_dir / "pb_000.fits")
            inside = np.isfinite(casa_pb)
            pb_difference = float(np.max(np.abs(observation.primary_beam[inside] - casa_pb[inside])))
        ours_mask = np.where(observation.blank_mask, np.nan, 1.0)
        radii.append((mask_radius(ours_mask), mask_radius(casa_dirty.data)))

        sky = _plane(reference_dir / f"sky_{label}.fits")
        ours_dirty = observation.dirty_image(sky, rng) * ours_mask
        if bool(row["empty"]):
            noise.append((_noise_rms(ours_dirty), _noise_rms(casa_dirty.data)))
            ours_ac.append(radial_autocorrelation(ours_dirty))
            casa_ac.append(radial_autocorrelation(casa_dirty.data))
            continue
        casa_rms = _noise_rms(casa_dirty.data)
        ours_clean = observation.dirty_image(sky, noise=False) * ours_mask
        sigma_pix = np.sqrt(casa_beam.major * casa_beam.minor).to_value(u.arcsec) / 2.3548 / \
            config.image.pixel_scale_arcsec  # fmt: skip
        for source in truth[np.array([str(i) == label for i in truth["image"]])]:
            x, y = float(source["x_pix"]), float(source["y_pix"])
            cx, cy = _centroid(casa_dirty.data, x, y, sigma_pix)
            peak = ndimage.map_coordinates(np.nan_to_num(casa_dirty.data), [[cy], [cx]], order=1)[0]
            if not peak >= snr_min * casa_rms:
                continue
            ox, oy = _centroid(ours_clean, x, y, sigma_pix)
            positions.append({"image": label, "source_id": int(source["source_id"]), "snr": float(peak / casa_rms),
                              "dx": float(ox - cx), "dy": float(oy - cy), "offset": float(np.hypot(ox - cx, oy - cy)),
                              "ours_vs_truth": float(np.hypot(ox - x, oy - y))})  # fmt: skip
    result = {"beams": beams, "noise": noise, "mask_radius": radii, "primary_beam_max_difference": pb_difference,
              "positions": positions}  # fmt: skip
    if ours_ac:
        ours_profile, casa_profile = np.mean(ours_ac, axis=0), np.mean(casa_ac, axis=0)
        result["autocorrelation"] = {
            "correlation": float(np.corrcoef(ours_profile, casa_profile)[0, 1]),
            "ours": ours_profile.tolist(),
            "casa": casa_profile.tolist(),
        }
    return result
