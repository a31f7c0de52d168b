"""An observation described by its images: the PSF, the primary beam and the noise of a user's own data.

`Observation` computes a PSF from an antenna list; `ImagedObservation`
takes the PSF that the imager wrote (tclean's ``.psf``, WSClean's
``-psf.fits``) and simulates with it by FFT, so that the sidelobes, the
weighting and the pixel grid are exactly the user's. It has the interface
that `simulate_image`, `TrainingPairs` and the training loop use:
``psf()``, ``convolve(sky)``, ``noise_field(rng)``, ``dirty_image(sky, rng)``,
``primary_beam``, ``blank_mask`` and ``size``.
"""

import numpy as np
import scipy.fft

__all__ = ["ImagedObservation", "noise_power_from_image"]


def _centred(array, size):
    """``array`` (peak at ``n // 2``) cropped or zero-padded to ``size`` x ``size`` with the centre kept at ``size // 2``."""
    ny, nx = array.shape
    out = np.zeros((size, size), dtype=np.float64)
    cy, cx = ny // 2, nx // 2
    half = size // 2
    y0, y1 = max(cy - half, 0), min(cy - half + size, ny)
    x0, x1 = max(cx - half, 0), min(cx - half + size, nx)
    out[y0 - (cy - half) : y1 - (cy - half), x0 - (cx - half) : x1 - (cx - half)] = array[y0:y1, x0:x1]
    return out


def _gaussian_taper(lag, sigma):
    # A Gaussian taper keeps the spectrum of a correlation positive (the uv density convolved with a
    # Gaussian): the raw PSF's spectrum on the image grid is negative for 28 % of its power (the
    # sidelobes cut at the edge), and clipping that gave noise whose autocorrelation missed the PSF's
    # by 0.12 of the peak; with sigma = size / 5 it is within 0.01 (20 fields, the default set-up).
    return np.exp(-0.5 * (lag / sigma) ** 2)


def noise_power_from_image(image, *, max_lag):
    """Power spectrum of an image's noise, from its autocorrelation within ``max_lag`` pixels.

    The autocorrelation of the finite pixels (blanks count as missing, not as
    zero) is tapered by a Gaussian of sigma ``max_lag / 2.5`` and cut at
    ``max_lag``, and its Fourier transform,
    clipped at zero, is the power spectrum on the image's grid: the texture
    of noise whatever the weighting was. Faint sources add little to it.

    Parameters
    ----------
    image : `~numpy.ndarray`
        2-D, NaN where blanked.
    max_lag : int
        Lags beyond this (pixels) are set to zero.

    Returns
    -------
    power : `~numpy.ndarray`
        ``rfft2``-shaped, of an ``(ny, nx)`` periodic grid; its inverse
        transform is the autocorrelation with 1 at zero lag.
    """
    data = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(data)
    values = np.where(finite, data - np.mean(data[finite]), 0.0)
    ny, nx = data.shape
    shape = (2 * ny, 2 * nx)  # zero-padded: no wrap-around in the correlation
    weight = scipy.fft.irfft2(np.abs(scipy.fft.rfft2(finite.astype(float), s=shape)) ** 2, s=shape)
    correlation = scipy.fft.irfft2(np.abs(scipy.fft.rfft2(values, s=shape)) ** 2, s=shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.where(weight > 0.01 * weight[0, 0], correlation / np.maximum(weight, 1e-12), 0.0)
    correlation = scipy.fft.fftshift(correlation)[ny - ny // 2 : ny - ny // 2 + ny, nx - nx // 2 : nx - nx // 2 + nx]
    yy, xx = np.mgrid[:ny, :nx]
    lag = np.hypot(yy - ny // 2, xx - nx // 2)
    correlation = correlation * _gaussian_taper(lag, max_lag / 2.5) * (lag < max_lag) / correlation[ny // 2, nx // 2]
    power = scipy.fft.rfft2(scipy.fft.ifftshift(correlation)).real
    return np.clip(power, 0, None)


class ImagedObservation:
    """An observation known by its PSF, primary beam and noise, on an image grid.

    Parameters
    ----------
    psf : `~numpy.ndarray`
        The PSF on the image's pixel grid, peak 1 at pixel ``(n // 2, n // 2)``
        (as tclean and WSClean write it). It may be larger than the image: a
        PSF twice the image's size simulates the sidelobes of sources at the
        image's edge exactly; one of the image's size loses those beyond half
        the image.
    primary_beam : `~numpy.ndarray`
        ``(size, size)`` response, 1 at the pointing centre.
    rms_jy : float
        Noise RMS of the dirty image, Jy/beam.
    blank_mask : `~numpy.ndarray` of bool, optional
        True where the dirty image is blanked; default ``primary_beam < pb_limit``.
    pb_limit : float, optional
    noise_power : `~numpy.ndarray`, optional
        ``rfft2``-shaped power spectrum of the noise on the ``(size, size)``
        grid (`noise_power_from_image`). Default: natural weighting, whose
        noise covariance is the PSF.
    """

    def __init__(self, psf, primary_beam, rms_jy, *, blank_mask=None, pb_limit=0.2, noise_power=None):
        primary_beam = np.asarray(primary_beam, dtype=np.float32)
        if primary_beam.ndim != 2 or primary_beam.shape[0] != primary_beam.shape[1]:
            raise ValueError(f"primary_beam must be a square 2-D array, not of shape {primary_beam.shape}")
        self.size = primary_beam.shape[0]
        self.primary_beam = np.nan_to_num(primary_beam)
        self.blank_mask = (self.primary_beam < pb_limit) if blank_mask is None else np.asarray(blank_mask, bool)
        self.rms_jy = float(rms_jy)
        psf = np.nan_to_num(np.asarray(psf, dtype=np.float64))
        if psf.ndim != 2:
            raise ValueError(f"psf must be 2-D, not of shape {psf.shape}")
        self._psf = psf
        big = 2 * self.size
        self._transfer = scipy.fft.rfft2(scipy.fft.ifftshift(_centred(psf, big))).astype(np.complex64)
        if noise_power is None:
            yy, xx = np.mgrid[: self.size, : self.size] - self.size // 2
            tapered = _centred(psf, self.size) * _gaussian_taper(np.hypot(yy, xx), self.size / 5)
            noise_power = np.clip(scipy.fft.rfft2(scipy.fft.ifftshift(tapered)).real, 0, None)
        noise_power = np.asarray(noise_power, dtype=np.float64)
        expected = (self.size, self.size // 2 + 1)
        if noise_power.shape != expected:
            raise ValueError(f"noise_power must have the rfft2 shape {expected}, not {noise_power.shape}")
        self._power = noise_power
        self._amplitude = np.sqrt(noise_power)
        # Variance of a field filtered by sqrt(P): the mean of P over the full (not half) spectrum.
        full = np.concatenate([noise_power, noise_power[:, 1 : (self.size + 1) // 2][:, ::-1]], axis=1)
        self._unit_rms = float(np.sqrt(full.mean())) if full.mean() > 0 else 1.0

    def to_arrays(self):
        """The arrays that rebuild this observation (`from_arrays`), as stored in adapted checkpoints.

        Returns
        -------
        arrays : dict
            ``psf``, ``primary_beam``, ``noise_power`` (float32), ``blank_mask``
            (uint8) and ``rms_jy`` (Jy/beam).
        """
        return {"psf": self._psf.astype(np.float32), "primary_beam": self.primary_beam.astype(np.float32),
                "blank_mask": self.blank_mask.astype(np.uint8), "noise_power": self._power.astype(np.float32),
                "rms_jy": self.rms_jy}  # fmt: skip

    @classmethod
    def from_arrays(cls, arrays):
        """Rebuild from `to_arrays`' dict.

        Parameters
        ----------
        arrays : mapping
            ``psf``, ``primary_beam``, ``rms_jy``, ``blank_mask`` and ``noise_power``.

        Returns
        -------
        observation : `ImagedObservation`
        """
        return cls(arrays["psf"], arrays["primary_beam"], float(arrays["rms_jy"]),
                   blank_mask=np.asarray(arrays["blank_mask"], dtype=bool), noise_power=arrays["noise_power"])

    def psf(self, size=None):
        """The PSF on a ``size`` x ``size`` grid (default the image's), peak at ``(size // 2, size // 2)``.

        Parameters
        ----------
        size : int, optional
            Side of the grid in pixels; default None, the image's size.

        Returns
        -------
        psf : `~numpy.ndarray`
            ``(size, size)`` float32.
        """
        return _centred(self._psf, size or self.size).astype(np.float32)

    def convolve(self, sky):
        """(sky x primary beam) convolved with the PSF, by FFT on a grid twice the image size.

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
        spectrum = scipy.fft.rfft2(padded) * self._transfer
        return scipy.fft.irfft2(spectrum, s=(big, big))[:size, :size].astype(np.float32)

    def noise_field(self, rng, size=None):
        """One noise image (Jy/beam) with the observation's RMS and texture.

        Parameters
        ----------
        rng : `numpy.random.Generator`
            Source of the white noise.
        size : int, optional
            Must be None or the image's size (the only grid offered).

        Returns
        -------
        noise : `~numpy.ndarray`
            ``(size, size)`` float32, Jy/beam, RMS ``rms_jy``.

        Raises
        ------
        ValueError
            Another ``size``.
        """
        if size not in (None, self.size):
            raise ValueError(f"noise fields are made on the image's grid ({self.size}), not {size}")
        white = scipy.fft.rfft2(rng.standard_normal((self.size, self.size)))
        field = scipy.fft.irfft2(white * self._amplitude, s=(self.size, self.size))
        return (field * (self.rms_jy / self._unit_rms)).astype(np.float32)

    def dirty_image(self, sky, rng=None, *, noise=True):
        """A dirty image: the sky through the PSF plus (with ``noise``) a noise field; not blanked.

        Parameters
        ----------
        sky : `~numpy.ndarray`
            Sky model, Jy/pixel.
        rng : `numpy.random.Generator`, optional
            For the noise; default a fresh unseeded generator.
        noise : bool, optional
            Add a noise field (`noise_field`). Default True.

        Returns
        -------
        dirty : `~numpy.ndarray`
            Float32, Jy/beam.
        """
        dirty = self.convolve(sky)
        if noise:
            dirty = dirty + self.noise_field(rng or np.random.default_rng())
        return dirty

    def noise_bank(self, rng):
        """An object whose ``draw()`` gives fresh noise fields (the `NoiseBank` interface).

        Parameters
        ----------
        rng : `numpy.random.Generator`
            Used by every draw.

        Returns
        -------
        bank : object
            With a ``draw()`` method returning `noise_field` ``(rng)``.
        """
        return _Draws(self, rng)


class _Draws:
    def __init__(self, observation, rng):
        self.observation, self.rng = observation, rng

    def draw(self):
        return self.observation.noise_field(self.rng)
