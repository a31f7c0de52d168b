"""Typed inference settings: what a trained model needs besides its weights, saved in its checkpoint.

`InferenceSettings` is chosen on freshly simulated images by
`astro_i2i.training.calibrate_checkpoint`: the style perturbation, one
`~astro_i2i.catalog.DetectionSettings` per number of samples K it was
calibrated for (candidate threshold, reliability model, default operating
point, flux corrections), and the calibration of the uncertainty map.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ..catalog import DetectionSettings
from ..exceptions import CalibrationWarning

__all__ = ["InferenceSettings", "UncertaintyCalibration"]


@dataclass(frozen=True)
class UncertaintyCalibration:
    """The per-pixel uncertainty map: ``sqrt((a std_K)**2 + (b u max(m, 0))**2)``.

    ``std_K`` is the spread of the K sky samples, ``m`` the dirty image's
    matched-filter S/N at the pixel and ``u`` the dirty noise per beam area
    (Jy/pixel). The spread of the samples alone covers only about 10 % of the
    true values on source pixels (it describes the network's indecision, not
    the thermal noise); the second term says that the sky may hold flux where
    the dirty image does. ``a`` and ``b`` are chosen so that 95 % of true pixel
    values lie within +- 1.96 sigma, both on source pixels and over the disc.

    Attributes
    ----------
    sample_scale : float
        ``a``.
    dirty_scale : float
        ``b``.
    samples : int
        The K it was calibrated for.
    coverage : dict
        The coverage measured on the calibration images (``source``, ``disc``).
    """

    sample_scale: float = 1.0
    dirty_scale: float = 0.0
    samples: int = 10
    coverage: dict = field(default_factory=dict)

    def __post_init__(self):
        if not (self.sample_scale >= 0 and self.dirty_scale >= 0):
            raise ValueError(f"uncertainty scales must be >= 0: {self!r}")

    def sigma(self, sample_std, matched_filter_snr, noise_per_pixel):
        """The calibrated uncertainty map (Jy/pixel).

        Parameters
        ----------
        sample_std : `~numpy.ndarray`
            ``std_K``: the spread of the sky samples, Jy/pixel.
        matched_filter_snr : `~numpy.ndarray`
            ``m``: the dirty image's matched-filter S/N per pixel (NaN taken
            as 0, negative values as 0).
        noise_per_pixel : float
            ``u``: the dirty noise per beam area, Jy/pixel.

        Returns
        -------
        sigma : `~numpy.ndarray`
            float32, Jy/pixel; NaN where ``sample_std`` is not finite.
        """
        excess = np.clip(np.nan_to_num(matched_filter_snr), 0, None)
        total = np.hypot(self.sample_scale * np.asarray(sample_std), self.dirty_scale * noise_per_pixel * excess)
        return np.where(np.isfinite(sample_std), total, np.nan).astype(np.float32)

    def to_dict(self):
        """The fields as plain numbers and a dict (as saved in checkpoints).

        Returns
        -------
        values : dict
        """
        return {"sample_scale": float(self.sample_scale), "dirty_scale": float(self.dirty_scale),
                "samples": int(self.samples), "coverage": dict(self.coverage)}  # fmt: skip

    @classmethod
    def from_dict(cls, values):
        """An `UncertaintyCalibration` from `to_dict`'s output.

        Parameters
        ----------
        values : dict
            The fields by name.

        Returns
        -------
        calibration : `UncertaintyCalibration`
        """
        return cls(**values)


@dataclass(frozen=True)
class InferenceSettings:
    """Everything inference needs besides the weights.

    Attributes
    ----------
    samples : int
        The default K (``Reconstructor.reconstruct(samples=None)``).
    sigma_style : float
        Standard deviation of the style perturbation (stochastic models).
    detection : tuple of `~astro_i2i.catalog.DetectionSettings`
        One per calibrated K (at least K = 1).
    uncertainty : `UncertaintyCalibration` or None
        None: the uncertainty map is the raw spread of the samples (uncalibrated).
    calibration : dict
        How the settings were chosen (images, seed, figures).
    """

    samples: int = 10
    sigma_style: float = 0.0
    detection: tuple = field(default_factory=lambda: (DetectionSettings(),))
    uncertainty: UncertaintyCalibration | None = None
    calibration: dict = field(default_factory=dict)

    def __post_init__(self):
        detection = tuple(d if isinstance(d, DetectionSettings) else DetectionSettings.from_dict(d)
                          for d in self.detection)  # fmt: skip
        if not detection:
            raise ValueError("InferenceSettings needs detection settings for at least one K")
        object.__setattr__(self, "detection", tuple(sorted(detection, key=lambda d: d.samples)))
        if isinstance(self.uncertainty, dict):
            object.__setattr__(self, "uncertainty", UncertaintyCalibration.from_dict(self.uncertainty))
        if isinstance(self.samples, bool) or int(self.samples) < 1:
            raise ValueError(f"samples must be a positive integer, not {self.samples!r}")
        if not self.sigma_style >= 0:
            raise ValueError(f"sigma_style must be >= 0, not {self.sigma_style!r}")

    @property
    def calibrated(self):
        """Whether a reliability model was fitted (by `~astro_i2i.training.calibrate_checkpoint`)."""
        return all(d.reliability is not None for d in self.detection)

    def detection_for(self, samples):
        """The detection settings for K = ``samples``: those calibrated for it, else for the nearest K of the
        same kind (direct or sampled), with a warning.

        Parameters
        ----------
        samples : int
            K (1: direct mode).

        Returns
        -------
        settings : `~astro_i2i.catalog.DetectionSettings`
            A `~astro_i2i.exceptions.CalibrationWarning` is issued when they
            were calibrated for another K.
        """
        exact = [d for d in self.detection if d.samples == samples]
        if exact:
            return exact[0]
        same_kind = [d for d in self.detection if (d.samples > 1) == (samples > 1)] or list(self.detection)
        nearest = min(same_kind, key=lambda d: abs(d.samples - samples))
        warnings.warn(f"detection settings were calibrated for K = {nearest.samples}, not {samples}; reliabilities "
                      f"are approximate", CalibrationWarning, stacklevel=3)  # fmt: skip
        return nearest

    def to_dict(self):
        """The settings as plain values (as saved in a checkpoint's ``inference`` record).

        Returns
        -------
        values : dict
        """
        return {"samples": int(self.samples), "sigma_style": float(self.sigma_style),
                "detection": [d.to_dict() for d in self.detection],
                "uncertainty": None if self.uncertainty is None else self.uncertainty.to_dict(),
                "calibration": dict(self.calibration)}  # fmt: skip

    @classmethod
    def from_dict(cls, values):
        """From a checkpoint's ``inference`` record; records of astro-i2i 0.1 (a threshold per mode) load uncalibrated.

        Parameters
        ----------
        values : dict or None
            The record (`to_dict`'s output); None or empty gives the defaults.

        Returns
        -------
        settings : `InferenceSettings`
        """
        values = dict(values or {})
        if "detection" not in values:
            direct = DetectionSettings(samples=1, candidate_nsigma=float(values.get("detection_nsigma", 1.0)))
            sampled = DetectionSettings(samples=int(values.get("samples", 10)),
                                        candidate_nsigma=float(values.get("detection_nsigma_samples",
                                                                          direct.candidate_nsigma)))  # fmt: skip
            return cls(samples=int(values.get("samples", 10)), sigma_style=float(values.get("sigma_style", 0.0)),
                       detection=(direct, sampled))  # fmt: skip
        return cls(**values)
