"""ALMA 12-m set-ups drawn from a range, each a `SimulationConfig` on the model's own grid (issue 29).

A model trained on the seed set-up sees every image resampled to its own pixels per beam and noise
(`~astro_i2i.Reconstructor`); what differs between set-ups, once there, is the PSF's shape (sidelobes,
ellipticity, weighting) and where the primary beam falls off in beams. `setup_configs` draws set-ups from a
`SetupRange` and gives each one's simulation already on that grid: pixels of ``beam / pixels_per_beam``, the
base population's source sizes and radii scaled by the beam and the primary beam, and the base noise, so that
training pairs of every set-up look like the seed's to the network but for the PSF and the primary beam.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from ..exceptions import InputError
from .config import SimulationConfig

__all__ = ["SetupRange", "setup_configs", "synthesized_beam_arcsec", "population_radius_arcsec"]

#: The ALMA 12-m configurations of Cycle 5 (shipped antenna lists).
ALMA_12M = tuple(f"alma.cycle5.{k}" for k in range(1, 9))


@dataclass(frozen=True)
class SetupRange:
    """The ALMA 12-m set-ups a model is trained over; a set-up's values are drawn uniformly in each range.

    Parameters
    ----------
    n : int
        Set-ups drawn (each is one observation, with its PSF and noise fields); 0 trains on the base set-up only.
    arrays : tuple of str
        Antenna lists (shipped names or ``.cfg`` paths), drawn with equal odds.
    frequency_ghz : tuple of float
        ``(min, max)``, drawn log-uniformly (Band 3 to 7: 84-373 GHz).
    dec_deg : tuple of float
        ``(min, max)`` declination.
    duration_s : tuple of float
        ``(min, max)`` time on source, log-uniform.
    briggs_fraction : float
        Share of set-ups with Briggs weighting (the rest natural).
    robust : tuple of float
        ``(min, max)`` Briggs robust parameter.
    base_fraction : float
        Share of the set-ups that are the base set-up itself (the seed), so that it is not forgotten.
    seed : int
        Seed of the draw.
    """

    n: int = 0
    arrays: tuple = ALMA_12M
    frequency_ghz: tuple = (84.0, 373.0)
    dec_deg: tuple = (-70.0, 20.0)
    duration_s: tuple = (600.0, 7200.0)
    briggs_fraction: float = 0.3
    robust: tuple = (-1.0, 2.0)
    base_fraction: float = 0.25
    seed: int = 29

    def __post_init__(self):
        for name in ("arrays", "frequency_ghz", "dec_deg", "duration_s", "robust"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        checks = [
            (isinstance(self.n, int) and self.n >= 0, f"setups.n must be a non-negative integer, not {self.n!r}"),
            (len(self.arrays) > 0, "setups.arrays is empty"),
            (0 < self.frequency_ghz[0] <= self.frequency_ghz[-1], f"setups.frequency_ghz {self.frequency_ghz!r}"),
            (-90 <= self.dec_deg[0] <= self.dec_deg[-1] <= 90, f"setups.dec_deg {self.dec_deg!r}"),
            (0 < self.duration_s[0] <= self.duration_s[-1], f"setups.duration_s {self.duration_s!r}"),
            (0 <= self.briggs_fraction <= 1, f"setups.briggs_fraction {self.briggs_fraction!r}"),
            (-2 <= self.robust[0] <= self.robust[-1] <= 2, f"setups.robust {self.robust!r}"),
            (0 <= self.base_fraction <= 1, f"setups.base_fraction {self.base_fraction!r}"),
        ]  # fmt: skip
        for ok, message in checks:
            if not ok:
                raise InputError("setups", message)

    @classmethod
    def from_dict(cls, values):
        """From a training config's ``setups`` section (unknown keys are errors).

        Parameters
        ----------
        values : dict or None

        Returns
        -------
        setups : `SetupRange`
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values or {}) - known
        if unknown:
            raise InputError("setups", f"unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**(values or {}))


def synthesized_beam_arcsec(config, dec_deg=None):
    """Geometric-mean FWHM (arcsec) of the main lobe of a set-up's PSF, fitted as tclean does.

    The PSF is computed on a 128-pixel grid at a fifth of ``lambda / B_max`` (whatever the config's own pixels).

    Parameters
    ----------
    config : `SimulationConfig`
    dec_deg : float, optional
        Default: the config's pointing declination.

    Returns
    -------
    fwhm : float
    """
    from ..io import fit_psf_beam
    from ._array import read_antenna_config
    from ._dataset import image_wcs
    from ._observe import Observation

    positions, _, _ = read_antenna_config(config.observation.array)
    baseline = np.max(np.linalg.norm(positions[:, None, :] - positions[None, :, :], axis=-1))
    resolution = 299792458.0 / (config.observation.frequency_ghz * 1e9) / baseline * 206264.806
    dec = config.pointing.dec_deg if dec_deg is None else dec_deg
    probe = dataclasses.replace(config, image=dataclasses.replace(config.image, size=128,
                                                                   pixel_scale_arcsec=resolution / 5))  # fmt: skip
    beam = fit_psf_beam(Observation(probe, dec).psf(), image_wcs(probe, config.pointing.ra_deg, dec))
    return float(math.sqrt(beam.major.to_value("arcsec") * beam.minor.to_value("arcsec")))


def population_radius_arcsec(base, frequency_ghz, width_arcsec):
    """Where the base population's sources lie for a set-up at ``frequency_ghz`` on an image ``width_arcsec`` wide.

    The radius follows the primary beam (``base.sources.max_radius_arcsec`` at the base's frequency, scaled by
    the wavelength) within 0.45 of the image's width, as `setup_configs` draws the population.

    Parameters
    ----------
    base : `SimulationConfig`
    frequency_ghz : float
    width_arcsec : float
        The image's width (its narrower side).

    Returns
    -------
    radius : float
        Arcsec.
    """
    return _within_image(base.sources.max_radius_arcsec, base, frequency_ghz, width_arcsec)


def _within_image(radius_arcsec, base, frequency_ghz, width_arcsec):
    """A radius of the base set-up scaled by the wavelength (the primary beam's size) and kept within 0.45 of the
    image's width."""
    return min(radius_arcsec * base.observation.frequency_ghz / float(frequency_ghz), 0.45 * float(width_arcsec))


def _on_grid(base, observation, dec, base_beam, pixels_per_beam):
    """The base population observed with ``observation`` at ``dec``, on a grid of ``pixels_per_beam``."""
    probe = dataclasses.replace(base, observation=observation,
                                pointing=dataclasses.replace(base.pointing, dec_deg=dec, radius_deg=0.0))  # fmt: skip
    beam = synthesized_beam_arcsec(probe, dec)
    scale = beam / base_beam  # source sizes follow the beam, radii the primary beam
    pixel = beam / pixels_per_beam
    width = base.image.size * pixel
    sources, targets = base.sources, base.targets
    radius = population_radius_arcsec(base, observation.frequency_ghz, width)
    return dataclasses.replace(
        probe,
        image=dataclasses.replace(base.image, pixel_scale_arcsec=pixel),
        sources=dataclasses.replace(sources, fwhm_min_arcsec=sources.fwhm_min_arcsec * scale,
                                    fwhm_max_arcsec=sources.fwhm_max_arcsec * scale, max_radius_arcsec=radius),
        targets=dataclasses.replace(targets, size_min_arcsec=targets.size_min_arcsec * scale,
                                    size_max_arcsec=targets.size_max_arcsec * scale,
                                    max_radius_arcsec=_within_image(targets.max_radius_arcsec, base,
                                                                    observation.frequency_ghz, width)),
    )  # fmt: skip


def setup_configs(base, setups):
    """The set-ups of a `SetupRange`, each as the `SimulationConfig` of its observation on the model's grid.

    Parameters
    ----------
    base : `SimulationConfig`
        The set-up a model was trained on (its grid gives the pixels per beam, its population the sources).
    setups : `SetupRange`

    Returns
    -------
    configs : list of `SimulationConfig`
        ``setups.n`` configs; the first ``round(n * base_fraction)`` are ``base`` itself. The others have the
        drawn array, frequency, declination (the pointing's, with radius 0), duration and weighting, pixels of
        the beam over the base's pixels per beam, source sizes scaled by the beam and radii by the primary beam
        (within 0.45 of the image's width), and the base's noise and fluxes.
    """
    if not isinstance(base, SimulationConfig) or not isinstance(setups, SetupRange):
        raise TypeError(f"need a SimulationConfig and a SetupRange, not {type(base).__name__} and "
                        f"{type(setups).__name__}")  # fmt: skip
    base_beam = synthesized_beam_arcsec(base)
    pixels_per_beam = base_beam / base.image.pixel_scale_arcsec
    rng = np.random.default_rng(setups.seed)
    n_base = int(round(setups.n * setups.base_fraction))
    configs = [base] * n_base
    for _ in range(setups.n - n_base):
        low, high = np.log(setups.frequency_ghz[0]), np.log(setups.frequency_ghz[-1])
        duration = float(np.exp(rng.uniform(np.log(setups.duration_s[0]), np.log(setups.duration_s[-1]))))
        briggs = rng.uniform() < setups.briggs_fraction
        observation = dataclasses.replace(
            base.observation, array=str(setups.arrays[int(rng.integers(len(setups.arrays)))]),
            frequency_ghz=float(np.exp(rng.uniform(low, high))), duration_s=duration,
            integration_s=max(base.observation.integration_s, duration / 240),  # at most 240 dumps: the same uv
            weighting="briggs" if briggs else "natural",
            robust=float(rng.uniform(setups.robust[0], setups.robust[-1])) if briggs else base.observation.robust,
        )  # fmt: skip
        dec = float(rng.uniform(setups.dec_deg[0], setups.dec_deg[-1]))
        configs.append(_on_grid(base, observation, dec, base_beam, pixels_per_beam))
    return configs

