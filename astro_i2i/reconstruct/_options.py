"""`ReconstructOptions`: how to reconstruct, checked once and passed along every path (no torch).

The single-image, cube and many-file paths take the same frozen object, so a
keyword is validated in one place (`ReconstructOptions.__post_init__`) and
reaches a cube's channels and a cluster's workers unchanged (it pickles).
"""

import dataclasses
import logging
import numbers
import os
from dataclasses import dataclass

import numpy as np

from .._validate import positive_int, unit_interval
from ..exceptions import InputError

__all__ = ["ReconstructOptions", "DEFAULT_SEED"]

#: The style samples' seed when none is given: the same command gives the same product.
DEFAULT_SEED = 0


@dataclass(frozen=True)
class ReconstructOptions:
    """How a dirty image (or each channel of a cube, or each of many files) is reconstructed.

    Every field is checked when the object is made; the object is frozen, so a
    path that receives one need not check again. `Reconstructor.reconstruct`,
    `~astro_i2i.reconstruct.reconstruct_cube` and
    `~astro_i2i.reconstruct.reconstruct_many` take these fields as keywords
    (or a whole object as ``options=``).

    Parameters
    ----------
    samples : int, optional
        Samples K (default: the model's: 10 for the 2-to-1 model, 20 for the
        DDPM); 1 is the direct mode (no uncertainty map).
    seed : int, optional
        Seed of the style samples (default `DEFAULT_SEED`: the same call gives
        the same result). A cube's channel ``c`` uses ``seed + c``.
    steps : int, optional
        Reverse-diffusion (DDIM) steps per sample of a diffusion model
        (default: its checkpoint's); an error for other models.
    min_reliability : float, optional
        Keep catalogue sources at least this reliable, in [0, 1] (default: the
        model's calibrated operating point).
    primary_beam : str, path-like, `~numpy.ndarray` or HDU, optional
        The primary-beam response on the image's grid (CASA's ``.pb``), for
        the catalogue's fluxes; for a cube, one plane for every channel or one
        per channel. Default: a ``.pb`` found beside the input
        (`astro_i2i.io.find_primary_beam`), else the model's antenna at the
        image's frequency. It is read and checked by
        `astro_i2i.io.read_primary_beam` once the image is known.
    pb_corrected : bool, optional
        The input is primary-beam corrected (2-D images only): it is multiplied
        by ``primary_beam`` (required) first.
    force : bool, optional
        Go on where astro-i2i would refuse: a beam more than a factor 2 from the
        model's, an input that looks like a PSF or primary-beam corrected.
    clean_bright : bool, optional
        CLEAN bright emission before the network (`astro_i2i.deconvolve`).
    source_density : float, optional
        Expected sources per arcmin^2 in the model's range (1-10 x the noise),
        the prior of the reliability (a posterior probability). Default: the
        model's training population's, per unit sky area (18 per arcmin^2 for
        the shipped models: 1-5 sources within 13"); the reliabilities are
        unchanged for the model's own beam, and scaled for another by the
        odds of a source per beam area (issue 29).

    Raises
    ------
    TypeError
        If a field has the wrong type (``seed='1'``, ``force='yes'``).
    ValueError
        If a value is not allowed (``samples=0`` or ``2.5``, ``min_reliability=1.5``).
    astro_i2i.exceptions.InputError
        If ``pb_corrected`` is given without ``primary_beam``.
    """

    samples: int | None = None
    seed: int | None = None
    steps: int | None = None
    min_reliability: float | None = None
    primary_beam: object = None
    pb_corrected: bool = False
    force: bool = False
    clean_bright: bool = True
    source_density: float | None = None

    def __post_init__(self):
        checked = {
            "samples": positive_int(self.samples, "samples", optional=True),
            "steps": positive_int(self.steps, "steps", optional=True),
            "min_reliability": unit_interval(self.min_reliability, "min_reliability", optional=True),
            "seed": _seed(self.seed),
        }
        for name in ("pb_corrected", "force", "clean_bright"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, not {value!r}")
            checked[name] = bool(value)
        if self.source_density is not None:
            density = self.source_density
            if isinstance(density, bool) or not isinstance(density, numbers.Real):
                raise TypeError(f"source_density must be a number of sources per arcmin^2, not {density!r}")
            if not (np.isfinite(density) and density > 0):
                raise ValueError(f"source_density must be positive, not {density!r}")
            checked["source_density"] = float(density)
        if not _is_primary_beam_input(self.primary_beam):
            raise TypeError(f"primary_beam must be a file name, an array or an HDU, not {self.primary_beam!r}")
        if checked["pb_corrected"] and self.primary_beam is None:
            raise InputError("pb_corrected", "needs the primary beam the image was corrected with (primary_beam=; none "
                                             "found beside it as X.pb, X.pb.fits or X.pb.fits.gz)")
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_keywords(cls, options=None, **keywords):
        """``options`` or ``ReconstructOptions(**keywords)``, not both; keywords left None are not given.

        Parameters
        ----------
        options : `ReconstructOptions`, optional
        **keywords
            Fields of `ReconstructOptions`.

        Returns
        -------
        options : `ReconstructOptions`
        """
        defaults = {field.name: field.default for field in dataclasses.fields(cls)}
        unknown = sorted(set(keywords) - set(defaults))
        if unknown:
            raise TypeError(f"unknown reconstruction option(s): {', '.join(unknown)}")
        given = sorted(name for name, value in keywords.items() if not _is_default(value, defaults[name]))
        if options is None:
            return cls(**{name: keywords[name] for name in given})
        if not isinstance(options, cls):
            raise TypeError(f"options must be a ReconstructOptions, not {options!r}")
        if given:
            raise ValueError(f"give options= or the keywords ({', '.join(given)}), not both")
        return options

    def replace(self, **changes):
        """A copy with some fields changed (checked again).

        Parameters
        ----------
        **changes
            New values of fields, by name.

        Returns
        -------
        options : `ReconstructOptions`
            The changed copy; ``self`` is left as it is.
        """
        return dataclasses.replace(self, **changes)

    @property
    def seed_or_default(self):
        """The seed used: ``seed``, or `DEFAULT_SEED` when none was given."""
        return DEFAULT_SEED if self.seed is None else self.seed


def primary_beam_of_corrected(image, primary_beam, pb_corrected):
    """The primary beam a primary-beam corrected ``image`` (a file name) needs: ``primary_beam``, else the one
    found beside it (`~astro_i2i.io.find_primary_beam`: the archive's ``X.pb.fits.gz`` beside
    ``X.pbcor.fits``), else None (`ReconstructOptions` then refuses ``pb_corrected``)."""
    if not pb_corrected or primary_beam is not None or not isinstance(image, (str, os.PathLike)):
        return primary_beam
    from ..io import find_primary_beam

    found = find_primary_beam(image)
    if found is not None:
        logging.getLogger(__name__).info("%s: primary beam %s (found beside it)", image, found)
    return found


def _primary_beam_source(primary_beam):
    """How a product records a given primary beam (``I2IPB``): its file name, ``'array'``, or the object's kind."""
    if isinstance(primary_beam, (str, os.PathLike)):
        return str(primary_beam)
    return "array" if isinstance(primary_beam, np.ndarray) else type(primary_beam).__name__


def _is_default(value, default):
    """Whether a keyword was left at its default (None, or the flag's default value)."""
    return value is None or value is default or (isinstance(value, (bool, np.bool_)) and value == default)


def _seed(seed):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, not {seed!r}")
    return int(seed)


def _is_primary_beam_input(value):
    if value is None or isinstance(value, (str, os.PathLike, np.ndarray)):
        return True
    from astropy.io import fits

    return isinstance(value, (fits.HDUList, fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU))
