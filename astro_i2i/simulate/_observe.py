"""Observing a sky with an interferometer: uv coverage, PSF and dirty images.

Two paths give the same images:

- `Observation.dirty_image`: the sky (times the primary beam) is degridded to
  the visibilities with ducc0's wgridder, thermal noise is added to the
  visibilities, and they are gridded back with natural, Briggs or uniform
  weighting (``observation.weighting``), as CASA's ``tclean`` with
  ``gridder='standard'`` and ``niter=0`` does.
- `Observation.convolve` plus `NoiseBank`: the same by FFT, with a PSF twice
  the image size, dirty = (sky x PB) * PSF + noise; the noise is drawn from a
  bank of exact noise fields (see `NoiseBank`).
"""

import functools
import os

import numpy as np
import scipy.fft
from ducc0.wgridder.experimental import dirty2vis, vis2dirty

from ._array import baseline_uvw, hour_angles, read_antenna_config
from ._sky import ARCSEC, primary_beam

__all__ = ["Observation", "NoiseBank"]

_EPSILON = 1e-7
# ducc0 is run single-threaded: its threaded accumulation is not bit-reproducible, and
# "same seed, same files" matters more than the few ms a second thread saves here.


def _threads():
    return max(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 1)


class Observation:
    """One pointing of the configured array: uv coverage, PSF and imaging.

    Parameters
    ----------
    config : `~astro_i2i.simulate.SimulationConfig`
    dec_deg : float
        Declination of the pointing (the uv coverage depends on it).
    """

    def __init__(self, config, dec_deg):
        self.config = config
        self.dec_deg = float(dec_deg)
        obs = config.observation
        positions, self.diameters, self.antenna_names = read_antenna_config(obs.array)
        self.uvw = baseline_uvw(
            positions, obs.site_latitude_deg, self.dec_deg, hour_angles(obs.duration_s, obs.integration_s)
        )
        self.frequency_hz = obs.frequency_ghz * 1e9
        self.size = config.image.size
        self.pixel_rad = config.image.pixel_scale_arcsec * ARCSEC
        self.n_vis = len(self.uvw)

    @property
    def n_antennas(self):
        return len(self.diameters)

    def uv_wavelengths(self):
        """(u, v) in wavelengths, both signs of every baseline, as an imager grids them.

        Returns
        -------
        uv : `~numpy.ndarray`
            ``(2 * n_vis, 2)``: the visibilities' (u, v), then their negatives.
        """
        uv = self.uvw[:, :2] * self.frequency_hz / 299792458.0
        return np.concatenate([uv, -uv])

    @functools.cached_property
    def weights(self):
        """The imaging weight of each visibility: None for natural weighting (all 1).

        Briggs weighting as tclean's ``weighting='briggs'``: with ``W_k`` the
        sum of natural weights in the image's uv cell ``k`` (both signs of
        every baseline counted), a visibility in cell ``k`` gets
        ``1 / (1 + W_k f^2)``, ``f^2 = (5 10^-R)^2 / (sum_k W_k^2 / sum_i 1)``;
        uniform weighting gets ``1 / W_k``.

        Returns
        -------
        weights : `~numpy.ndarray` or None
            ``(n_vis,)`` float64.
        """
        obs = self.config.observation
        if obs.weighting == "natural":
            return None
        cell = 1.0 / (self.size * self.pixel_rad)  # the image's uv cell, wavelengths
        uv = np.rint(self.uv_wavelengths() / cell).astype(np.int64)
        _, index, counts = np.unique(uv, axis=0, return_inverse=True, return_counts=True)
        density = counts[index.ravel()][: self.n_vis].astype(np.float64)
        if obs.weighting == "uniform":
            return 1.0 / density
        f2 = (5.0 * 10.0 ** (-obs.robust)) ** 2 / (np.sum(counts.astype(np.float64) ** 2) / (2 * self.n_vis))
        return 1.0 / (1.0 + density * f2)

    def _grid(self, vis, size):
        weights = self.weights
        image = vis2dirty(
            uvw=self.uvw, freq=np.array([self.frequency_hz]), vis=vis[:, np.newaxis],
            wgt=None if weights is None else weights[:, np.newaxis],
            npix_x=size, npix_y=size, pixsize_x=self.pixel_rad, pixsize_y=self.pixel_rad,
            epsilon=_EPSILON, do_wgridding=False, flip_u=True, divide_by_n=False, nthreads=1,
        )  # fmt: skip
        # ducc0's first axis is l (east for flip_u): transpose to (y, x) with RA increasing to the left.
        return image.T / (self.n_vis if weights is None else np.sum(weights))

    def _degrid(self, image):
        return dirty2vis(
            uvw=self.uvw, freq=np.array([self.frequency_hz]), dirty=np.ascontiguousarray(image.T, dtype=np.float64),
            pixsize_x=self.pixel_rad, pixsize_y=self.pixel_rad, epsilon=_EPSILON, do_wgridding=False,
            flip_u=True, divide_by_n=False, nthreads=1,
        )[:, 0]  # fmt: skip

    def psf(self, size=None):
        """The PSF (natural, Briggs or uniform weighting), peak 1 at 0-based pixel (size/2, size/2).

        Parameters
        ----------
        size : int, optional
            Side of the grid in pixels; default None, the image's size.

        Returns
        -------
        psf : `~numpy.ndarray`
            ``(size, size)``, float64.
        """
        return self._grid(np.ones(self.n_vis, dtype=np.complex128), size or self.size)

    def visibility_noise_sigma(self, rms_jy):
        """Per-component sigma of the visibility noise that gives image RMS ``rms_jy``.

        Parameters
        ----------
        rms_jy : float
            The image noise RMS, Jy/beam.

        Returns
        -------
        sigma : float
            ``rms_jy * sqrt(n_vis)`` with natural weighting, ``rms_jy * sum(w) /
            sqrt(sum(w^2))`` with imaging weights ``w``; Jy, for the real and
            imaginary parts each.
        """
        weights = self.weights
        if weights is None:
            return rms_jy * np.sqrt(self.n_vis)
        return rms_jy * np.sum(weights) / np.sqrt(np.sum(weights**2))

    @functools.cached_property
    def primary_beam(self):
        return primary_beam(self.config)

    @functools.cached_property
    def blank_mask(self):
        """True where the primary beam is below the configured limit."""
        return self.primary_beam < self.config.primary_beam.limit

    def dirty_image(self, sky, rng=None, *, noise=True):
        """Dirty image (Jy/beam) by degridding and gridding visibilities with ducc0.

        Parameters
        ----------
        sky : `~numpy.ndarray`
            True sky, Jy/pixel; it is multiplied by the primary beam.
        rng : `numpy.random.Generator`, optional
            For the thermal noise.
        noise : bool
            Add thermal noise to the visibilities.

        Returns
        -------
        dirty : `~numpy.ndarray`
            Not blanked; apply `blank_mask` for CASA's ``pblimit``.
        """
        vis = self._degrid(np.asarray(sky, dtype=np.float64) * self.primary_beam)
        if noise:
            rng = rng or np.random.default_rng()
            sigma = self.visibility_noise_sigma(self.config.noise.rms_jy)
            vis = vis + sigma * (rng.standard_normal(self.n_vis) + 1j * rng.standard_normal(self.n_vis))
        return self._grid(vis, self.size)

    # -- FFT path ---------------------------------------------------------------------------

    @functools.cached_property
    def _transfer(self):
        """Transfer function of the PSF on a grid twice the image size."""
        big_psf = self.psf(2 * self.size)
        return scipy.fft.rfft2(scipy.fft.ifftshift(big_psf)).real.astype(np.float32)

    def convolve(self, sky):
        """(sky x primary beam) convolved with the PSF, by FFT (no wrap-around).

        Parameters
        ----------
        sky : `~numpy.ndarray`
            Sky model ``(size, size)``, Jy/pixel.

        Returns
        -------
        dirty : `~numpy.ndarray`
            The noiseless dirty image, float32, Jy/beam.
        """
        size, big = self.size, 2 * self.size
        padded = np.zeros((big, big), dtype=np.float32)
        padded[:size, :size] = np.asarray(sky, dtype=np.float32) * self.primary_beam
        spectrum = scipy.fft.rfft2(padded, workers=_threads()) * self._transfer
        return scipy.fft.irfft2(spectrum, s=(big, big), workers=_threads())[:size, :size].astype(np.float32)

    def noise_field(self, rng, size=None):
        """One exact thermal-noise image (Jy/beam): noisy visibilities gridded by ducc0.

        Parameters
        ----------
        rng : `numpy.random.Generator`
            Source of the visibility noise.
        size : int, optional
            Side of the grid in pixels; default None, the image's size.

        Returns
        -------
        noise : `~numpy.ndarray`
            ``(size, size)`` float32, Jy/beam, RMS ``config.noise.rms_jy``.
        """
        sigma = self.visibility_noise_sigma(self.config.noise.rms_jy)
        vis = sigma * (rng.standard_normal(self.n_vis) + 1j * rng.standard_normal(self.n_vis))
        return self._grid(vis, size or self.size).astype(np.float32)


class NoiseBank:
    """Fast draws of thermal noise with exactly the statistics of `Observation.noise_field`.

    Thermal noise gridded with natural weighting is a stationary Gaussian field
    whose covariance is the PSF times the RMS squared (with other weightings,
    the transform of the squared weights: the fields are gridded with them). The bank holds ``size``
    such fields on a grid twice the image size, made by ducc0. A draw is the
    sum of ``parts`` crops at random offsets of different fields, each randomly
    turned by 180 degrees (the PSF is symmetric), divided by ``sqrt(parts)``:
    again a Gaussian field with the same covariance. One field is replaced by
    a fresh one every ``refresh_every`` draws, so the supply never repeats.

    Parameters
    ----------
    observation : `Observation`
        Gives the noise fields (`Observation.noise_field`) and the image size.
    rng : `numpy.random.Generator`
        Used to make the fields and for every draw.
    size : int, optional
        Fields held. Default 8.
    parts : int, optional
        Crops summed per draw, ``1 <= parts <= size``. Default 4.
    refresh_every : int, optional
        Draws between replacing one field (0 or None: never). Default 8.
    """

    def __init__(self, observation, rng, *, size=8, parts=4, refresh_every=8):
        if not 1 <= parts <= size:
            raise ValueError(f"need 1 <= parts <= size, got parts={parts!r}, size={size!r}")
        self.observation = observation
        self.rng = rng
        self.parts = parts
        self.refresh_every = refresh_every
        self.fields = [observation.noise_field(rng, 2 * observation.size) for _ in range(size)]
        self._draws = 0

    def draw(self):
        """A fresh noise image, as `Observation.noise_field` would give.

        Returns
        -------
        noise : `~numpy.ndarray`
            ``(size, size)`` float32, Jy/beam.
        """
        n = self.observation.size
        chosen = self.rng.choice(len(self.fields), size=self.parts, replace=False)
        total = np.zeros((n, n), dtype=np.float32)
        for index in chosen:
            y0, x0 = self.rng.integers(0, n + 1, size=2)
            crop = self.fields[index][y0 : y0 + n, x0 : x0 + n]
            total += crop[::-1, ::-1] if self.rng.uniform() < 0.5 else crop
        total /= np.float32(np.sqrt(self.parts))
        self._draws += 1
        if self.refresh_every and self._draws % self.refresh_every == 0:
            self.fields[int(self.rng.integers(len(self.fields)))] = self.observation.noise_field(
                self.rng, 2 * self.observation.size
            )
        return total
