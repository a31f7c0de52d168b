"""The `Reconstructor` facade: FITS in, sky, uncertainty, style and catalogue out (needs torch).

`Reconstructor` is what pipelines use; ``astro-i2i reconstruct`` and
``astro-i2i generate`` are thin wrappers around it. The arithmetic lives
elsewhere: tiling in `astro_i2i.reconstruct._tiling`, the networks' sampling
in each model (`~astro_i2i.models.SkyModel.sample`), the catalogue in
`astro_i2i.catalog.posterior_catalog`, the settings in
`~astro_i2i.models.InferenceSettings`.
"""

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from astropy import units as u
from astropy.io import fits

from .._version import __version__
from ..catalog import DEFAULT_SOURCE_FWHM, beam_scale, matched_filter_snr, noise_sigma, posterior_catalog
from ..exceptions import BeamWarning, BrightSourceWarning, InputError, SetupWarning, warn_user
from .._validate import positive_int
from ..io import (RadioCube, RadioImage, check_not_pb_corrected, find_primary_beam, find_psf, is_cube, psf_similarity,
                  read_cube, read_image, read_primary_beam, read_psf, read_sky_image, rescaled_wcs, undo_pb_correction,
                  unitless_image_kind, write_products)  # fmt: skip
from ..models import load_checkpoint
from ..models.checkpoint import file_checksum
from ..deconvolve import bright_sky
from ._bright import bright_uncertainty
from ._core import _multiple, _style_factor, reconstruct_array
from .._progress import check_progress
from ._options import DEFAULT_SEED, ReconstructOptions, _primary_beam_source, primary_beam_of_corrected

__all__ = ["Reconstructor", "Reconstruction", "PIXEL_SCALE_TOLERANCE", "BEAM_RATIO_LIMIT", "DEFAULT_SEED",
           "SETUP_BEAM_RATIO", "SETUP_PSF_SIMILARITY", "SETUP_BEAM_RANGE_ARCSEC", "SETUP_PIXELS_PER_BEAM",
           "BRIGHT_SOURCE_FACTOR", "BRIGHT_SOURCE_RELIABILITY"]

logger = logging.getLogger(__name__)

#: Input pixel scales within this fraction of the model's are used as they are.
PIXEL_SCALE_TOLERANCE = 0.10
#: An image whose robust noise is within this fraction of the model's training noise goes to the network as it
#: is; beyond, it is scaled to it (`Reconstructor._noise_gain`): the seed's 46-50 uJy/beam are unchanged.
NOISE_TOLERANCE = 0.25
#: The smallest tile the network runs on, in network pixels: 256 x 256 x K = 10 samples x 16 channels is 42 MB
#: an activation, and a 512 x 512 image at up to 2x downsampling is one tile (`Reconstructor._tile`).
NETWORK_TILE = 256
#: Input beams more than this factor from the model's are refused (unless forced).
BEAM_RATIO_LIMIT = 2.0
#: Beams more than this factor from the model's get a `SetupWarning` naming ``astro-i2i adapt``.
SETUP_BEAM_RATIO = 1.2
#: A PSF less similar than this to the model's (`~astro_i2i.io.psf_similarity` within 4 beams) gets a
#: `SetupWarning`. Measured against the shipped models' PSF: CASA-made images of the same set-up 1.00,
#: the same array at declination -30 0.995; Cycle 5.4 at 230 GHz 0.92; CASA's Band 3 set-up 0.93,
#: its Cycle 5.6 set-up 0.43.
SETUP_PSF_SIMILARITY = 0.97
#: Geometric-mean beam FWHM (arcsec) of the ALMA 12-m set-ups a model trained over set-ups covers: C43-8 at 373 GHz
#: with Briggs weighting (0.017-0.023" at declinations -70 to +20, robust -1) to C43-1 at 84 GHz, natural
#: (4.6-5.5"); from the package's simulator (`~astro_i2i.simulate.synthesized_beam_arcsec`, tests/test_setups.py).
SETUP_BEAM_RANGE_ARCSEC = (0.017, 5.6)
#: The cells a model trained over set-ups covers: pixels per beam FWHM (issue 29: 3 to 10).
SETUP_PIXELS_PER_BEAM = (3.0, 10.0)
#: A catalogued source brighter than this factor times the training population's brightest gets a
#: `~astro_i2i.exceptions.BrightSourceWarning`. Measured with the shipped 2-to-1 model (a 0.6" source 5" from the
#: centre of an empty CASA-made field): its sky model holds 87 % of a 0.5 mJy source, 55 % at 0.75 mJy, 40 % at 1,
#: 21 % at 2 (where a spurious neighbour is catalogued) and 15 % at 4 mJy (4 spurious; docs/reconstruct.rst). At
#: 1.5x, 2 of 300 simulated fields of the training population warned (brightest catalogued: 0.91 mJy); at 2x none.
BRIGHT_SOURCE_FACTOR = 2.0
#: ... among the sources at least this reliable.
BRIGHT_SOURCE_RELIABILITY = 0.5
#: The brightest target of the ``fields`` population, on which the CLEANed entries' errors were calibrated.
BRIGHT_TARGET_MAX_JY = 0.1


# --------------------------------------------------------------------------- public API


@dataclass
class Reconstruction:
    """The result of `Reconstructor.reconstruct`.

    Attributes
    ----------
    sky : `~numpy.ndarray`
        Sky model in **Jy/pixel** (a plain float32 array, not a Quantity: the
        product's ``SKY``, ``BUNIT = 'Jy/pixel'``), on the input's grid; NaN
        where the input is blanked. Its sum over a source is the source's flux
        in Jy.
    uncertainty : `~numpy.ndarray` or None
        Per-pixel standard deviation of the sky model, **Jy/pixel** like
        ``sky`` (calibrated from the style samples); None in direct mode.
    style : `~numpy.ndarray` or None
        The estimated style, ``(channels, ny, nx)`` on a coarser grid (no unit).
    catalog : `~astropy.table.QTable`
        Sources found in ``sky``, with units (columns:
        `astro_i2i.catalog.POSTERIOR_COLUMNS`).
    image : `~astro_i2i.io.RadioImage`
        The input (grid, WCS, beam, header).
    provenance : dict
        Model, checksum, samples, seed, input.
    """

    sky: np.ndarray
    uncertainty: np.ndarray | None
    style: np.ndarray | None
    catalog: object
    image: RadioImage
    provenance: dict = field(default_factory=dict)

    def __repr__(self):
        shape = "x".join(str(n) for n in self.sky.shape)
        mode = "direct" if self.uncertainty is None else f"K = {self.provenance.get('samples')}"
        return (f"<Reconstruction of {self.image.name}: {shape} sky, {mode}, {len(self.catalog)} source(s), "
                f"model {self.provenance.get('model')}, seed {self.provenance.get('seed')}>")  # fmt: skip

    @property
    def wcs(self):
        """`~astropy.wcs.WCS`: the celestial WCS of ``sky`` and ``uncertainty`` (the input's)."""
        return self.image.wcs

    @property
    def header(self):
        """`~astropy.io.fits.Header`: the input's FITS header (the product's own is made by `write`)."""
        return self.image.header

    def write(self, path, *, overwrite=False):
        """Write the product file (`astro_i2i.io.write_products`): SKY, UNCERTAINTY, STYLE, CATALOG.

        Paths with characters outside ASCII (``dirty_éèü.fits``, ``données/``) are
        recorded in the headers percent-encoded (`astro_i2i.io.header_text`);
        `~astro_i2i.io.read_products` gives them back as they were.

        Parameters
        ----------
        path : str or path-like
            The product file.
        overwrite : bool, optional
            Replace an existing file.

        Returns
        -------
        path : `pathlib.Path`
        """
        return write_products(path, self.sky, image=self.image, uncertainty=self.uncertainty, style=self.style,
                              catalog=self.catalog, provenance=self.provenance, overwrite=overwrite)  # fmt: skip


def _models_dir():
    from ..data import models_dir

    return models_dir()


class Reconstructor:
    """A trained model, ready to reconstruct dirty images.

    Use `from_pretrained` to build one.

    Parameters
    ----------
    model : `~astro_i2i.models.SkyModel`
        The network (put in eval mode).
    card : `~astro_i2i.models.ModelCard`
        Its card: normalisation, inference settings, pixel scale, beam.
    name : str
        The model's name (a shipped model's) or path.
    path : str or path-like
        The checkpoint file.
    device : str, optional
        torch device. Default ``'cpu'``.
    """

    def __init__(self, model, card, *, name, path, device="cpu"):
        self.device = torch.device(device)
        self.model = model.eval()
        if self.device.type == "cpu":
            # Channels last on the CPU: the same numbers to rounding (1e-6 of the sky's range), and with
            # `_layers._Block`'s in-place steps 30 % less time for K = 10 on a 256 x 256 network grid (C43-6).
            self.model = self.model.to(memory_format=torch.channels_last)
        self.card = card
        self.name = name
        self.path = Path(path)
        self.normalisation = card.normalisation
        self.settings = card.inference
        self.pixel_scale = card.pixel_scale if card.pixel_scale is not None else 0.1 * u.arcsec
        self.tile = card.image_size or 512
        self.beam = card.beam
        self.checksum = card.checksum or file_checksum(path)
        self._setup_warned = False
        self._model_psf = None
        #: How the catalogue was tuned to a set-up (`astro_i2i.training.tune_to_setup`, or a checkpoint written by
        #: ``astro-i2i tune``); None: the model's own calibration.
        self.tuning = card.training.get("tuned") or None

    @property
    def info(self):
        """The model's `~astro_i2i.models.ModelCard` (the name before 0.3; use `card`)."""
        return self.card

    def __repr__(self):
        return f"<Reconstructor {self.name!r}: {self.model.architecture}, {self.device}>"

    @staticmethod
    def available_models():
        """Names of the models that ship with astro-i2i (the first is the default), with a description.

        Returns
        -------
        models : dict
            ``{name: description}`` of the ``.pt`` files present in the
            installation; the described ones first (``two_to_one``, ``mse``,
            ``ddpm``), others after with an empty description.
        """
        described = {"two_to_one": "2-to-1 content-style model (default)", "mse": "MSE-only U-Net baseline",
                     "ddpm": "conditional DDPM baseline (DDIM sampling)"}
        present = {p.stem for p in _models_dir().glob("*.pt")}
        return {name: text for name, text in described.items() if name in present} | {
            name: "" for name in sorted(present - set(described))
        }

    @classmethod
    def from_pretrained(cls, name_or_path=None, *, device=None):
        """Load a shipped model by name, or a checkpoint written by ``astro-i2i train``.

        Parameters
        ----------
        name_or_path : str or path-like, optional
            A name from `available_models` (default: the first) or a ``.pt`` path.
        device : str, optional
            torch device; default ``'cpu'``.

        Returns
        -------
        reconstructor : `Reconstructor`

        Raises
        ------
        `~astro_i2i.exceptions.InputError`
            A CUDA device without a GPU, no shipped model, or no such model.
        """
        device = device or "cpu"
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise InputError("device", f"{device!r} asked for, but torch sees no GPU")
        if name_or_path is None:
            available = cls.available_models()
            if not available:
                raise InputError(_models_dir(), "no shipped model in this installation")
            name_or_path = next(iter(available))
        path = Path(name_or_path)
        if not (path.suffix == ".pt" or path.exists()):
            path = _models_dir() / f"{name_or_path}.pt"
            if not path.exists():
                raise InputError(name_or_path, f"no such model file or shipped model; shipped: "
                                               f"{', '.join(cls.available_models()) or 'none'}")  # fmt: skip
        model, card = load_checkpoint(path, device=device)
        name = path.stem if path.parent == _models_dir() else str(path)
        return cls(model, card, name=name, path=path, device=device)

    # ------------------------------------------------------------------ helpers

    def _outside_setups(self, image, setups=None):
        """What of the image lies outside the ALMA set-ups the model was trained over (its `ModelCard.setup_range`,
        or ``setups``): a list of phrases naming each parameter and the range, empty inside (or for a model of one
        set-up)."""
        setups = self.card.setup_range if setups is None else setups
        if setups is None or image.beam is None:
            return []
        reasons = []
        fwhm = _beam_fwhm_arcsec(image.beam)
        low, high = SETUP_BEAM_RANGE_ARCSEC
        if not 0.9 * low <= fwhm <= 1.1 * high:
            reasons.append(f"beam {fwhm:.3g}\" outside the {low:g}-{high:g}\" of ALMA's 12-m configurations")
        per_beam = _beam_pixels(image.beam, image.pixel_scale)
        low, high = SETUP_PIXELS_PER_BEAM
        if not 0.9 * low <= per_beam <= 1.1 * high:
            reasons.append(f"{per_beam:.1f} pixels per beam outside {low:g}-{high:g}")
        if image.frequency is not None:
            ghz = float(image.frequency.to_value(u.GHz))
            low, high = setups.frequency_ghz[0], setups.frequency_ghz[-1]
            if not 0.97 * low <= ghz <= 1.03 * high:
                reasons.append(f"frequency {ghz:.4g} GHz outside {low:g}-{high:g} GHz (Bands 3-7)")
        dec = float(image.wcs.celestial.wcs.crval[1])
        low, high = setups.dec_deg[0], setups.dec_deg[-1]
        if not low - 5 <= dec <= high + 5:
            reasons.append(f"declination {dec:+.1f} deg outside {low:+g} to {high:+g} deg")
        return reasons

    def needs_tuning(self, image, *, psf=None):
        """Whether ``image``'s set-up needs the catalogue tuned to it, and whether a tuning covers it.

        ``astro-i2i reconstruct`` then tunes by itself (`astro_i2i.training.tuned_for_setup`).

        Parameters
        ----------
        image : `~astro_i2i.io.RadioImage`
            The user's dirty image (read).
        psf : optional
            Its PSF (any form `~astro_i2i.io.read_psf` takes), compared with the model's.

        Returns
        -------
        unlike : list of str
            How the set-up differs from the model's own (beam, pixels, PSF); empty where it is the model's, or
            this reconstructor is tuned already, or its model was trained over set-ups, or the image has no beam.
        outside : list of str
            What of it lies outside the ALMA 12-m set-ups a tuning covers (`~astro_i2i.simulate.SetupRange`:
            C43-1 to C43-10, 84-373 GHz, declinations -70 to +20 deg, 3-10 pixels per beam), each naming the
            parameter.
        """
        from ..simulate import SetupRange

        card = self.card
        if self.tuning is not None or card.setup_range is not None or card.simulation is None or image.beam is None:
            return [], []
        unlike = self._unlike_model(image, psf)
        return unlike, (self._outside_setups(image, SetupRange()) if unlike else [])

    def _check_beam(self, image, force):
        if image.beam is None:
            warn_user(f"{image.name}: no beam in the header and none given; assuming the model's "
                          f"({_beam_text(self.beam)})", BeamWarning)  # fmt: skip
            return
        if self.beam is None or self.card.setup_range is not None or self.tuning is not None:
            return  # a model over set-ups (_check_setup names what lies outside them), or tuned to this set-up
        ratio = _beam_ratio(image.beam, self.beam)
        if ratio > BEAM_RATIO_LIMIT:
            message = (f"beam {_beam_text(image.beam)} differs from the model's {_beam_text(self.beam)} by a factor "
                       f"{float(ratio):.2f} (> {BEAM_RATIO_LIMIT:g}); tune the catalogue to it (--tune ARRAY), adapt a model "
                       f"to it (astro-i2i adapt {image.name} --psf PSF.fits -o adapted.pt) or use force=True to go "
                       "on")  # fmt: skip
            if not force:
                raise InputError(image.name, message)
            warn_user(f"{image.name}: {message.split(';')[0]}; forced", BeamWarning)

    def _check_brightness(self, catalog, name, bright=None):
        """Warn when the catalogue's brightest network-measured source is far beyond the model's training fluxes.

        Bright emission CLEANed first (``bright``) is not the network's: its entries are left out.
        """
        limit = None if self.card.flux_max is None else self.card.flux_max.to_value(u.Jy)
        if not limit or not len(catalog):
            return
        if bright is not None:
            cleaned = np.asarray(catalog["bright"], dtype=bool)
            brightest = float(np.nanmax(catalog["flux"].to_value(u.Jy)[cleaned], initial=0.0))
            if brightest > BRIGHT_SOURCE_FACTOR * BRIGHT_TARGET_MAX_JY:
                warn_user(f"{name}: a CLEANed source of {1e3 * brightest:.4g} mJy, beyond the 0.5-"
                              f"{1e3 * BRIGHT_TARGET_MAX_JY:.3g} mJy of the fields on which the bright entries' "
                              f"flux_err and UNCERTAINTY were calibrated (docs/reconstruct.rst): they may be too "
                              f"small there", BrightSourceWarning)  # fmt: skip
            catalog = catalog[~cleaned]
            if not len(catalog):
                return
        # Only likely sources: at min_reliability 0, noise peaks near the edge divided by a primary beam of 0.2-0.3
        # pass 1 mJy in 15-18 of 300 simulated fields of the population (none reliable: brightest 0.79-0.80 mJy).
        confident = np.asarray(catalog["reliability"], dtype=float) >= BRIGHT_SOURCE_RELIABILITY
        if not confident.any():
            return
        brightest = float(np.nanmax(catalog["flux"].to_value(u.Jy)[confident]))
        if brightest > BRIGHT_SOURCE_FACTOR * limit:
            warn_user(f"{name}: a source of {1e3 * brightest:.3g} mJy measured by the network (not CLEANed), "
                          f"{brightest / limit:.1f}x the brightest faint source the model was "
                          f"trained on ({1e3 * limit:.3g} mJy): the sky model saturates near it; give the PSF "
                          f"(--psf) so that bright emission is CLEANed, or adapt a model (astro-i2i adapt "
                          f"--flux-range)", BrightSourceWarning)  # fmt: skip

    def _subtract_bright(self, image, psf):
        """CLEAN the image's bright emission (`astro_i2i.deconvolve.subtract_bright`) with its PSF, or the model's.

        Returns None where nothing is brighter than the training population (a blank field is untouched), or
        where no PSF fits the image's grid (then with a `BrightSourceWarning` naming ``--psf``).
        """
        from ..deconvolve import has_bright_emission, subtract_bright

        beam = image.beam if image.beam is not None else self.beam
        beam_pixels = _beam_pixels(beam, image.pixel_scale)
        if not has_bright_emission(image.data, beam_fwhm_pixels=beam_pixels):
            return None
        sigma = noise_sigma(image.data)
        if psf is not None:
            psf_array = read_psf(psf, image=image)
        elif self.card.simulation and abs(image.pixel_scale / self.pixel_scale - 1) <= PIXEL_SCALE_TOLERANCE:
            psf_array = _pad_to(self._reference_psf(), image.data.shape)
        else:
            warn_user(f"{image.name}: bright emission (peak {np.nanmax(image.data) / sigma:.0f} x the noise) and "
                          f"no PSF on its grid to CLEAN it with: give the imager's PSF (psf=, --psf)",
                          BrightSourceWarning)  # fmt: skip
            return None
        return subtract_bright(image.data, psf_array, beam_fwhm_pixels=beam_pixels)

    def _reference_psf(self):
        """The PSF of the model's set-up: stored in an adapted checkpoint, else simulated from its record."""
        if self._model_psf is None:
            stored = self.card.psf
            if stored is not None:
                self._model_psf = stored
            else:
                from ..simulate import Observation, SimulationConfig

                config = self.card.simulation or SimulationConfig()
                self._model_psf = Observation(config, config.pointing.dec_deg).psf()
        return self._model_psf

    def _check_setup(self, image, psf):
        """Warn (once per reconstructor) if the observation is not the model's set-up, naming ``--tune`` and
        ``astro-i2i adapt``; a reconstructor tuned to the set-up (`astro_i2i.training.tune_to_setup`) is calibrated
        for it and says nothing."""
        if self._setup_warned or self.card.simulation is None or self.tuning is not None:
            return
        if self.card.setup_range is not None:
            self._warn_setup(image, self._outside_setups(image), "outside the ALMA set-ups the model was trained over")
        else:
            self._warn_setup(image, self._unlike_model(image, psf), "not the set-up the model was trained on")

    def _warn_setup(self, image, reasons, what):
        """One `SetupWarning` (per reconstructor) giving ``reasons`` and the ``adapt`` command; none without reasons."""
        if reasons:
            self._setup_warned = True
            dirty = "DIRTY.fits" if image.name.startswith("<") else image.name.split("[channel")[0]
            warn_user(f"{image.name}: {what} ({'; '.join(reasons)}); calibrate the catalogue for it with "
                      f"--tune ARRAY (tune_to_setup), or make a model for it: astro-i2i adapt {dirty} --psf PSF.fits "
                      "-o adapted.pt, then --model adapted.pt", SetupWarning)  # fmt: skip

    def _unlike_model(self, image, psf):
        """How the image's beam, pixels and PSF differ from the model's own set-up (phrases; empty: alike)."""
        reasons = []
        if image.beam is not None and self.beam is not None:
            if _beam_ratio(image.beam, self.beam) > SETUP_BEAM_RATIO:
                reasons.append(f"beam {_beam_text(image.beam)}, the model's {_beam_text(self.beam)}")
        scale, model_scale = image.pixel_scale.to_value(u.arcsec), self.pixel_scale.to_value(u.arcsec)
        if abs(scale / model_scale - 1) > PIXEL_SCALE_TOLERANCE:
            reasons.append(f"{scale:.3g}\" pixels, the model's {model_scale:.3g}\"")
        if psf is not None and self.beam is not None:
            try:
                psf_array = read_psf(psf, image=image)
            except InputError as exc:
                logger.info("PSF not compared with the model's: %s", exc)
            else:
                radius = 4 * np.sqrt(self.beam.major * self.beam.minor)
                similarity = psf_similarity(psf_array, image.pixel_scale, self._reference_psf(), self.pixel_scale,
                                            radius=radius)  # fmt: skip
                if similarity < SETUP_PSF_SIMILARITY:
                    reasons.append(f"PSF similarity {similarity:.2f} < {SETUP_PSF_SIMILARITY:g}")
        return reasons

    def _layout(self, image, *, free_downsample=False):
        """``(downsample, pixel scale in arcsec)`` of the network's view of ``image``.

        A model trained at B pixels per beam on a grid ``f`` times coarser sees every image at B / f network
        pixels per beam (issue 29): another beam or pixel scale is resampled so that the beam, the PSF's main
        lobe and the noise grains are as in training. With ``free_downsample`` the integer ``f`` is chosen
        for the image (the nearest to its pixels per beam over B / f), so that a grid with fewer pixels per
        beam is not resampled up to the model's (C43-6's 4.4 pixels per beam go in as they are, ``f`` = 2).
        Without a beam (the image's or the model's): the model's ``f`` and pixel scale.
        """
        model_f = int(self.normalisation.downsample)
        if image.beam is None or self.beam is None:
            return model_f, self.pixel_scale.to_value(u.arcsec)
        per_network_pixel = _beam_pixels(self.beam, self.pixel_scale) / model_f
        image_pixels = _beam_pixels(image.beam, image.pixel_scale)
        f = max(1, int(round(image_pixels / per_network_pixel))) if free_downsample else model_f
        return f, _beam_fwhm_arcsec(image.beam) / (f * per_network_pixel)

    def _model_grid(self, image, target=None):
        """The input's data and WCS at pixel scale ``target`` (arcsec; default `_layout`'s at the model's
        downsampling), reprojected if it differs by > 10 %."""
        scale = image.pixel_scale.to_value(u.arcsec)
        target = self._layout(image)[1] if target is None else target
        if abs(scale / target - 1) <= PIXEL_SCALE_TOLERANCE:
            return image.data, image.wcs, False
        from reproject import reproject_interp

        factor = scale / target
        wcs = rescaled_wcs(image.wcs, factor, name=image.name)
        shape = tuple(int(np.ceil(n * factor)) for n in image.data.shape)
        data, _ = reproject_interp((image.data, image.wcs), wcs, shape_out=shape)
        logger.info("%s: resampled from %.4g\" to %.4g\" pixels", image.name, scale, target)
        return data.astype(np.float32), wcs, True

    def _source_fwhm(self, beam, settings):
        """The catalogue's source size for ``beam``: the model's, scaled by the beam ratio where the beams differ
        by more than 10 % (the shipped model on another set-up); None (the model's own) otherwise."""
        if settings.source_fwhm_arcsec is None or beam is None or self.beam is None:
            return None
        ratio = _beam_fwhm_arcsec(beam) / _beam_fwhm_arcsec(self.beam)
        if abs(ratio - 1) <= PIXEL_SCALE_TOLERANCE:
            return None
        return settings.source_fwhm_arcsec * ratio * u.arcsec

    def _prior_odds(self, beam, source_density=None, image=None):
        """The factor on the reliability's odds for ``beam`` and a field of ``source_density`` sources per arcmin^2.

        The reliability is a posterior: its prior is the training population's chance of a source per beam
        area (1-5 sources within 13", 18 per arcmin^2, under a 0.85" beam). For another beam, or a stated
        density, the odds scale by (density x beam area) over the model's; 1 within 10 % (the model's own
        beam and population). Without a stated density, a model of one set-up assumes its population's
        sources per unit sky area; a model over set-ups, its population as drawn for the ``image``'s set-up
        (1-5 sources within the primary beam's half-power radius, or 0.45 of the image's width:
        `~astro_i2i.simulate.population_radius_arcsec`), which is what it was trained and calibrated on; a model
        tuned to a set-up, the density its tuning was fitted at (``tuning['prior_density']``).
        """
        simulation = self.card.simulation
        if beam is None or self.beam is None or simulation is None:
            return 1.0
        model_density = simulation.sources.density_per_arcsec2
        density = model_density if source_density is None else source_density / 3600.0
        if source_density is None and (self.tuning or {}).get("prior_density"):
            # A model tuned to a set-up: the prior its tuning was fitted at (`~astro_i2i.training.tune_to_setup`).
            density = float(self.tuning["prior_density"]) / 3600.0
        elif source_density is None and image is not None and self.card.setup_range is not None:
            from ..simulate import population_radius_arcsec

            ghz = (simulation.observation.frequency_ghz if image.frequency is None
                   else float(image.frequency.to_value(u.GHz)))  # fmt: skip
            width = min(image.data.shape[-2:]) * image.pixel_scale.to_value(u.arcsec)
            density = model_density * (simulation.sources.max_radius_arcsec
                                       / population_radius_arcsec(simulation, ghz, width)) ** 2  # fmt: skip
        odds = density * beam.sr.to_value(u.arcsec**2) / (model_density * self.beam.sr.to_value(u.arcsec**2))
        return 1.0 if abs(odds - 1) <= 0.1 else float(odds)

    def _noise_gain(self, data):
        """``g``: the network sees ``g x data``, whose noise is the training set's; 1 within `NOISE_TOLERANCE`.

        The network learnt its prior in units of its training noise (sources of 1-10 sigma): an image whose
        noise differs (another band, integration or weighting) is scaled to it, and the sky scaled back.
        """
        simulation = self.card.simulation
        if simulation is None:
            return 1.0
        sigma = noise_sigma(data)
        model_sigma = float(simulation.noise.rms_jy)
        if not (np.isfinite(sigma) and sigma > 0) or abs(sigma / model_sigma - 1) <= NOISE_TOLERANCE:
            return 1.0
        return model_sigma / sigma

    def _back_to_input(self, arrays, grid_wcs, image):
        """Jy/pixel maps on the network's grid -> the input's grid, conserving flux per unit area."""
        from reproject import reproject_interp

        grid_scale = float(np.sqrt(np.abs(np.linalg.det(grid_wcs.celestial.pixel_scale_matrix)))) * 3600
        ratio = (image.pixel_scale.to_value(u.arcsec) / grid_scale) ** 2
        # All K at once: reproject broadcasts over the leading axis and transforms the coordinates once (the same
        # numbers; C43-4 B7's 10 skies went back in 0.9 s one by one, 4x faster together).
        stack = np.nan_to_num(np.stack([np.asarray(a) for a in arrays]))
        back, _ = reproject_interp((stack, grid_wcs), image.wcs, shape_out=(len(stack), *image.data.shape))
        return list((back * ratio).astype(np.float32))

    def _tile(self, downsample, *, training=False):
        """Tile size in input pixels at network downsampling ``downsample``: the model's training tile (its
        image size), or `NETWORK_TILE` network pixels if larger; with ``training`` the training tile itself.

        The network (pixel norm) gives the same sky on a tile of any size, away from its edges; the tiles only
        bound the memory. A tile of 128 network pixels (the seed's 512 x 512 at 4x) cut C43-6's 512 x 512 at
        2x into 9 overlapping tiles, 2.25x the pixels of the one 256 x 256 tile the image is. An image smaller
        than a tile runs as one tile of its own size, or of the training tile if larger (as before: a 256 x
        256 image of the seed's set-up is padded to 512 x 512).
        """
        network = self.tile // int(self.normalisation.downsample)
        return (network if training else max(network, NETWORK_TILE)) * downsample

    def _batch_size(self, batch_size):
        if batch_size is not None:
            return positive_int(batch_size, "batch_size")
        if self.device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(self.device)
            return max(1, min(32, int(free // (2 * 1024**3))))
        return 2

    # ------------------------------------------------------------------ public

    def reconstruct(self, image, *, samples=None, seed=None, steps=None, min_reliability=None, primary_beam=None,
                    pb_corrected=False, force=False, clean_bright=True, source_density=None, options=None, psf=None,
                    beam=None, hdu=None,
                    batch_size=None, progress=None):  # fmt: skip
        """Reconstruct the sky model of a dirty image, with its uncertainty and a source catalogue.

        Parameters
        ----------
        image : str, path-like, HDUList, HDU, ``(array, header)``, `~astro_i2i.io.RadioImage` or `~astro_i2i.io.RadioCube`
            The dirty image (Jy/beam), in any form `astro_i2i.io.read_image` takes;
            a spectral cube (`astro_i2i.io.is_cube`) is reconstructed channel by
            channel (`reconstruct_cube`).
        samples, seed, steps, min_reliability, primary_beam, pb_corrected, force, clean_bright : optional
            How to reconstruct: the fields of `~astro_i2i.reconstruct.ReconstructOptions`,
            where each is described (samples K, default the model's; the seed,
            default 0; DDIM steps of a diffusion model; the catalogue's least
            reliability, default the model's calibrated operating point; the
            primary beam, default a ``.pb`` beside the file or the model's
            antenna; the input is primary-beam corrected; go on where
            astro-i2i would refuse; CLEAN bright emission before the network,
            which keeps about a tenth of a bright target's flux without it).
        options : `~astro_i2i.reconstruct.ReconstructOptions`, optional
            All of the above in one object (then give none of them as keywords).
        psf, beam, hdu : optional
            As for `astro_i2i.io.read_image`; ``psf`` is also what bright
            emission is CLEANed with (without it, the model's simulated PSF on
            its own grid).
        batch_size : int, optional
            Tiles per network call; chosen from the device if None.
        progress : None, bool or callable, optional
            Progress (`astro_i2i._progress`): True for a tqdm bar, or a callable
            ``progress(done, total)``, over the network's tiles (a cube's
            channels). Default None.

        Returns
        -------
        reconstruction : `Reconstruction`, or `~astro_i2i.reconstruct.CubeReconstruction` for a cube

        Raises
        ------
        astro_i2i.exceptions.InputError
            For an input that cannot be reconstructed (with the reason).
        TypeError, ValueError
            For an option of the wrong type or out of range.
        """
        if options is None:
            primary_beam = primary_beam_of_corrected(image, primary_beam, pb_corrected)
        options = ReconstructOptions.from_keywords(options, samples=samples, seed=seed, steps=steps,
                                                   min_reliability=min_reliability, primary_beam=primary_beam,
                                                   pb_corrected=pb_corrected, force=force, clean_bright=clean_bright,
                                                   source_density=source_density)  # fmt: skip
        batch_size = positive_int(batch_size, "batch_size", optional=True)
        check_progress(progress)
        return self._reconstruct_dispatcher(image, options, psf=psf, beam=beam, hdu=hdu, batch_size=batch_size,
                                            progress=progress)  # fmt: skip

    def _reconstruct_dispatcher(self, image, options, *, psf=None, beam=None, hdu=None, batch_size=None,
                                progress=None):  # fmt: skip
        """The one place a cube and an image part: a cube goes channel by channel, an image is read and run."""
        if is_cube(image, hdu=hdu):
            from .cube import reconstruct_cube

            cube = image if isinstance(image, RadioCube) else read_cube(image, hdu=hdu)
            return reconstruct_cube(self, cube, options=options, progress=progress)
        if not isinstance(image, RadioImage):
            image = read_image(image, hdu=hdu, psf=psf, beam=beam)
        return self._reconstruct_image(image, options, psf=psf, batch_size=batch_size, progress=progress)

    def _reconstruct_image(self, image, options, *, psf=None, batch_size=None, progress=None):
        """One 2-D image: checks, bright emission, the network's samples, the catalogue, the uncertainty."""
        if psf is None and (psf := find_psf(image.name)) is not None:  # tclean's X.psf beside X.image
            logger.info("%s: PSF %s (found beside it)", image.name, psf)
        image, pb, pb_source = self._prepare(image, options, psf)
        samples, steps = self._samples(options), self._steps(options.steps)
        bright = self._subtract_bright(image, psf) if options.clean_bright else None
        # The network and the faint-source catalogue see the residual: the bright emission is CLEAN's.
        residual = image if bright is None else dataclasses.replace(image, data=bright.residual.astype(np.float32))
        skies, style = self._network_samples(residual, samples, options.seed_or_default, steps, batch_size,
                                             progress)  # fmt: skip
        if bright is not None:
            bright_part = bright_sky(bright, _beam_pixels(image.beam if image.beam is not None else self.beam,
                                                          image.pixel_scale), pb)  # fmt: skip
            skies = skies + bright_part[np.newaxis]
        image = self._with_beam(image)
        sky = skies.mean(axis=0)
        settings = self.settings.detection_for(samples)
        catalog = posterior_catalog(sky, residual.data, image.wcs, beam=image.beam, settings=settings,
                                    samples=skies if samples > 1 else None, primary_beam=pb,
                                    min_reliability=options.min_reliability, bright=bright,
                                    source_fwhm=self._source_fwhm(image.beam, settings),
                                    prior_odds=self._prior_odds(image.beam, options.source_density, image))  # fmt: skip
        self._check_brightness(catalog, image.name, bright)
        uncertainty = self._uncertainty(skies, residual, image.beam) if samples > 1 else None
        if bright is not None and uncertainty is not None:
            uncertainty = bright_uncertainty(uncertainty, bright_part)
        provenance = self._provenance(image, options, samples, steps, catalog, bright, pb_source, psf)
        return Reconstruction(sky=sky, uncertainty=uncertainty, style=style, catalog=catalog, image=image,
                              provenance=provenance)  # fmt: skip

    def _flattened(self, image, primary_beam):
        """``(image, pb, pb_source)``: a primary-beam corrected image times its primary beam (`_primary_beam`)."""
        pb, pb_source = self._primary_beam(image, primary_beam)
        return dataclasses.replace(image, data=undo_pb_correction(image.name, image.data, pb)), pb, pb_source

    def _prepare(self, image, options, psf):
        """The image as the network takes it (PB correction undone), checked, with its primary beam and its source."""
        pb = pb_source = None
        if options.pb_corrected:
            image, pb, pb_source = self._flattened(image, options.primary_beam)
        self._check_beam(image, options.force)
        self._check_setup(image, psf)
        if np.all(np.isnan(image.data)):
            raise InputError(image.name, "every pixel is blank (NaN)")
        if not noise_sigma(image.data) > 0:
            # The catalogue's thresholds and S/N are in units of this noise: a zero would make every pixel a source.
            raise InputError(image.name, "has no noise (its robust noise is 0: most of its pixels are equal): "
                                         "not a dirty image")  # fmt: skip
        lookalike = _not_a_dirty_image(image)
        if lookalike and not options.force:
            hint = "; give it as the primary beam (primary_beam=) with the dirty image" \
                if lookalike == "a primary beam" else ""  # fmt: skip
            raise InputError(image.name, f"looks like {lookalike}, not a dirty image (no BUNIT, peak 1 at the "
                                         f"reference pixel){hint}; use force=True to go on")  # fmt: skip
        if pb_source is None:
            pb, pb_source = self._primary_beam(image, options.primary_beam)
        check_not_pb_corrected(image.name, image.data, pb, force=options.force)
        return image, pb, pb_source

    def _samples(self, options):
        """K: the options', else the model's; 1 for a deterministic model."""
        samples = self.settings.samples if options.samples is None else options.samples
        if not self.model.stochastic and samples > 1:
            logger.info("the %s model is deterministic: one run, no uncertainty map", self.model.architecture)
            return 1
        return samples

    def _network_samples(self, image, samples, seed, steps, batch_size, progress):
        """The network's sky samples ``(K, ny, nx)`` on the input's grid (via the model's pixel scale) and its style."""
        downsample, target = self._layout(image, free_downsample=True)
        data, grid_wcs, reprojected = self._model_grid(image, target)
        normalisation, tile = self.normalisation, self._tile(downsample)
        if downsample != normalisation.downsample:
            normalisation = dataclasses.replace(normalisation, downsample=downsample)
            logger.info("%s: network grid %dx coarser (the model's %dx): its pixels per beam as in training",
                        image.name, downsample, int(self.normalisation.downsample))  # fmt: skip
        gain = self._noise_gain(data)
        if gain != 1.0:
            logger.info("%s: noise %.3g uJy/beam scaled by %.3g to the model's training noise", image.name,
                        1e6 * noise_sigma(data), gain)  # fmt: skip
            data = data * np.float32(gain)
        default_steps = self.model.sampling_steps
        try:
            self.model.sampling_steps = steps
            skies, style = reconstruct_array(self.model, normalisation, data, samples=samples,
                                             sigma_style=self.settings.sigma_style, seed=seed, tile=tile,
                                             batch_size=self._batch_size(batch_size), device=self.device,
                                             progress=progress,
                                             min_tile=self._tile(downsample, training=True))  # fmt: skip
        finally:
            self.model.sampling_steps = default_steps
        if gain != 1.0:
            skies = skies / np.float32(gain)
        if style is not None:
            style = _blank_style(style, data)
        if reprojected:
            skies = np.stack(self._back_to_input(list(skies), grid_wcs, image))
            skies[:, ~np.isfinite(image.data)] = np.nan
        return skies, style

    def _with_beam(self, image):
        """The image with a beam: its own, or the model's (then the product's header says it was assumed)."""
        if image.beam is not None:
            return image
        if self.beam is None:
            raise InputError(image.name, "no beam in the header, none given and none known to the model")
        # The assumed beam is the one the catalogue used: the product's header says so.
        return dataclasses.replace(image, beam=self.beam, beam_source="model (assumed)")

    def _provenance(self, image, options, samples, steps, catalog, bright, pb_source, psf=None):
        """What the product's headers record of this run."""
        return {"model": self.name, "model_checksum": self.checksum, "samples": int(samples),
                "seed": options.seed_or_default, "input": image.name, **({"steps": steps} if steps else {}),
                **({"pb_corrected": True} if options.pb_corrected else {}),
                **({"source_density": options.source_density} if options.source_density is not None else {}),
                "min_reliability": float(catalog.meta["minrel"]),
                **({"primary_beam": pb_source} if pb_source else {}),
                **({"psf": _primary_beam_source(psf)} if psf is not None else {}),
                **({"bright_cleaned": int(bright.iterations)} if bright is not None else {}),
                **({"tuned_images": self.tuning["n_images"], "tuned_seed": self.tuning["seed"]}
                   if self.tuning is not None else {})}  # fmt: skip

    def reconstruct_cube(self, cube, output=None, *, options=None, block=None, overwrite=False, progress=None,
                         **keywords):  # fmt: skip
        """Reconstruct a spectral cube channel by channel; see `astro_i2i.reconstruct.reconstruct_cube`.

        With ``output`` the product is written a block of channels at a time
        (memory stays bounded) and its path returned; without, a
        `~astro_i2i.reconstruct.CubeReconstruction` is returned. ``options``
        or ``**keywords``: the `~astro_i2i.reconstruct.ReconstructOptions`.

        Parameters
        ----------
        cube : str, path-like, HDU or `~astro_i2i.io.RadioCube`
            The dirty cube (Jy/beam).
        output : str or path-like, optional
            The product file to write; default None, keep the result in memory.
        options : `~astro_i2i.reconstruct.ReconstructOptions`, optional
            The reconstruction options (or give them as ``**keywords``).
        block : int, optional
            Channels per block; default None (`~astro_i2i.reconstruct.CUBE_BLOCK`).
        overwrite : bool, optional
            Replace an existing ``output``. Default False.
        progress : None, bool or callable, optional
            Progress over the channels (`astro_i2i._progress`): True for a tqdm
            bar, or a callable ``progress(done, total)``.
        **keywords
            `~astro_i2i.reconstruct.ReconstructOptions` fields.

        Returns
        -------
        result : path or `~astro_i2i.reconstruct.CubeReconstruction`
            The product's path with ``output``, else the reconstruction.
        """
        from .cube import reconstruct_cube

        return reconstruct_cube(self, cube, output, options=options, block=block, overwrite=overwrite,
                                progress=progress, **keywords)  # fmt: skip

    def _steps(self, steps):
        """The diffusion steps to sample with (None for a model without them)."""
        if steps is None:
            return self.model.sampling_steps
        if self.model.sampling_steps is None:
            raise InputError("steps", f"applies to diffusion models; the {self.model.architecture} model has no "
                                      f"sampling steps")  # fmt: skip
        return positive_int(steps, "steps")

    def _uncertainty(self, skies, image, beam):
        """The calibrated uncertainty map (`~astro_i2i.models.UncertaintyCalibration`), or the samples' spread."""
        spread = skies.std(axis=0)
        calibration = self.settings.uncertainty
        if calibration is None:
            return spread
        pixel_scale = image.pixel_scale
        snr = matched_filter_snr(image.data, pixel_scale=pixel_scale, source_fwhm=DEFAULT_SOURCE_FWHM * beam_scale(beam))
        per_pixel = noise_sigma(image.data) / float((beam.sr / pixel_scale**2).decompose())
        return calibration.sigma(spread, snr, per_pixel)

    def _primary_beam(self, image, primary_beam):
        """``(pb, source)``: the primary beam on the image's grid and where it came from.

        Given (read by `~astro_i2i.io.read_primary_beam`), else a ``.pb`` beside the image's file
        (`~astro_i2i.io.find_primary_beam`), else the model's antenna centred on the reference position;
        ``(None, None)`` when the model knows no antenna.
        """
        if primary_beam is None:
            primary_beam = find_primary_beam(image.name)
            if primary_beam is not None:
                logger.info("%s: primary beam %s (found beside it)", image.name, primary_beam)
        if primary_beam is not None:
            source = _primary_beam_source(primary_beam)
            return read_primary_beam(primary_beam, image=image), source
        pb = self._model_primary_beam(image)
        return pb, None if pb is None else "model antenna (Airy)"

    def _model_primary_beam(self, image):
        """The model's antenna at the image's frequency, centred on the reference position; None without one."""
        antenna, model_frequency = self.card.primary_beam, self.card.frequency
        if antenna is None or model_frequency is None:
            return None
        from ..simulate import airy_primary_beam

        frequency = image.frequency.to_value(u.Hz) if image.frequency is not None else \
            model_frequency.to_value(u.GHz) * 1e9  # fmt: skip
        # The phase centre is the reference pixel of CASA and WSClean images; a flat sky is exact enough over the
        # primary beam (26" FWHM at 230 GHz). Blank pixels are never used (templates and candidates are finite),
        # so the beam is evaluated on the finite ones only.
        x0, y0 = np.asarray(image.wcs.wcs.crpix[:2], dtype=float) - 1
        yy, xx = np.nonzero(np.isfinite(image.data))
        radius = np.hypot(xx - x0, yy - y0) * image.pixel_scale.to_value(u.rad)
        pb = np.zeros(image.data.shape)
        pb[yy, xx] = airy_primary_beam(radius, frequency, antenna.dish_diameter_m, antenna.blockage_diameter_m)
        return pb

    @torch.no_grad()
    def estimate_style(self, image, *, hdu=None):
        """The estimated style ``(channels, ny, nx)`` of a dirty image (in any form `read_image` takes).

        Parameters
        ----------
        image : path, HDU, ``(array, header)`` or `~astro_i2i.io.RadioImage`
            The dirty image (Jy/beam).
        hdu : int or str, optional
            The HDU to read when ``image`` is a file. Default None.

        Returns
        -------
        style : `~numpy.ndarray`
            The style ``(channels, ny, nx)`` on the model's coarser style grid (no unit).

        Raises
        ------
        `~astro_i2i.exceptions.InputError`
            The model has no style.
        """
        if not self.model.has_style:
            raise InputError(self.name, f"the {self.model.architecture} model has no style")
        if not isinstance(image, RadioImage):
            image = read_image(image, hdu=hdu)
        data, _, _ = self._model_grid(image)
        _, style = reconstruct_array(self.model, self.normalisation, data, samples=1, sigma_style=0.0, seed=0,
                                      tile=self.tile, batch_size=self._batch_size(None), device=self.device)  # fmt: skip
        return style

    @torch.no_grad()
    def generate(self, sky, *, style=None, style_from=None, seed=None, hdu=None):
        """A dirty image (Jy/beam) of a sky model with a given or random style.

        Parameters
        ----------
        sky : path, HDU, ``(array, header)`` or `~astro_i2i.io.RadioImage`
            Sky model in Jy/pixel on the model's pixel scale.
        style : `~numpy.ndarray`, optional
            A style ``(channels, ny, nx)``, e.g. from `estimate_style`; resampled to the sky's grid.
        style_from : optional
            A dirty image whose estimated style is used.
        seed : int, optional
            With neither ``style`` nor ``style_from``, the style of a noise-only
            image simulated with this seed (the model's instrument) is used.
            It also seeds the noise drawn below.
        hdu : int or str, optional
            The HDU of ``sky`` to read when it is a file (`~astro_i2i.io.read_sky_image`).

        Returns
        -------
        dirty : `~astropy.io.fits.PrimaryHDU`
            The generated dirty image with the sky's WCS, BUNIT Jy/beam and the model's beam.

        Notes
        -----
        The network regresses its noise to the mean: on the CASA-made images it
        gave 6.2 uJy/beam where the style source had 46-48 (issue 27). When the
        style comes from a dirty image (``style_from``, or the simulated
        noise-only image), the output is therefore split into its sky part (the
        network's output, whose own noise is small) and a noise part, which is
        drawn from the style source's own noise: its power spectrum
        (`~astro_i2i.simulate.noise_power_from_image`, bright pixels masked),
        so the texture (the PSF's correlation, whatever the weighting) is the
        source's, with a level such that the image's robust noise
        (`~astro_i2i.catalog.noise_sigma`) equals the source's. An explicit
        ``style`` array carries no noise level, and the network's output is
        returned as it is.
        """
        if not self.model.has_style:
            raise InputError(self.name, f"the {self.model.architecture} model cannot generate dirty images")
        if style is not None and style_from is not None:
            raise ValueError("give style or style_from, not both")
        if not isinstance(sky, RadioImage):
            sky = read_sky_image(sky, hdu=hdu)
        if sky.unit != u.Jy / u.pixel:
            raise InputError(sky.name, f"a sky model must be in Jy/pixel, not {sky.unit}")
        if abs(sky.pixel_scale.to_value(u.arcsec) / self.pixel_scale.to_value(u.arcsec) - 1) > PIXEL_SCALE_TOLERANCE:
            raise InputError(sky.name, f"pixel scale {sky.pixel_scale.to_value(u.arcsec):.4g}\" differs from the "
                                       f"model's {self.pixel_scale.to_value(u.arcsec):.4g}\"")  # fmt: skip
        noise_source = None  # the dirty image whose noise the output carries
        if style_from is not None:
            noise_source = style_from if isinstance(style_from, RadioImage) else read_image(style_from)
            style = self.estimate_style(noise_source)
        elif style is None:
            noise_source = read_image(self._noise_image(sky.data.shape, seed))
            style = self.estimate_style(noise_source)
        style = np.asarray(style, dtype=np.float32)
        if style.ndim != 3 or style.shape[0] != self.model.config["style_channels"]:
            raise ValueError(f"style must have shape (channels={self.model.config['style_channels']}, ny, nx), "
                             f"not {style.shape}")  # fmt: skip
        norm, model = self.normalisation, self.model
        multiple = _multiple(model, norm)
        ny, nx = sky.data.shape
        pad_y, pad_x = -(-ny // multiple) * multiple, -(-nx // multiple) * multiple
        content = np.zeros((pad_y, pad_x), dtype=np.float32)
        content[:ny, :nx] = np.nan_to_num(sky.data)
        c = norm.to_network_grid(torch.from_numpy(content)[None, None].to(self.device), kind="sky")
        c = norm.sky_to_network(c)
        s = torch.from_numpy(style)[None].to(self.device)
        s = torch.nn.functional.interpolate(s, size=(pad_y // _style_factor(model, norm),
                                                     pad_x // _style_factor(model, norm)), mode="bilinear")  # fmt: skip
        x = model.generate(c, s)
        dirty = norm.dirty_from_network(torch.nn.functional.interpolate(x, size=(pad_y, pad_x), mode="bicubic"))
        dirty = dirty[0, 0, :ny, :nx].cpu().numpy().astype(np.float32)
        if noise_source is not None:
            dirty = self._carry_noise(dirty, noise_source, seed)
        dirty[~np.isfinite(sky.data)] = np.nan
        header = sky.wcs.to_header()
        header["BUNIT"] = "Jy/beam"
        if self.beam is not None:
            header.update(self.beam.to_header_keywords())
        header["ORIGIN"] = "astro-i2i"
        header["I2IVER"] = (__version__, "astro-i2i version")
        header["I2IMODEL"] = (self.name, "model name")
        header["HISTORY"] = "astro-i2i generate: dirty image from a sky model and a style"
        return fits.PrimaryHDU(dirty, header=header)

    def _carry_noise(self, dirty, source, seed):
        """``dirty`` plus noise with the robust level and the texture of the dirty image ``source``.

        The network's output is the sky part (its own noise, regressed to the
        mean, is a few per cent of the source's variance); the noise part is
        drawn from the source's noise power spectrum on ``dirty``'s grid, with
        the variance that brings the robust noise of the sum to the source's.
        """
        import scipy.fft
        from scipy.ndimage import binary_dilation

        from ..simulate import noise_power_from_image

        data, _, _ = self._model_grid(source)
        data = np.array(data, dtype=np.float64)
        target = noise_sigma(data)
        if not np.isfinite(target) or target <= 0:
            return dirty
        # Sources and their sidelobes are not noise: leave them out of the autocorrelation.
        bright = np.isfinite(data) & (np.abs(data - np.nanmedian(data)) > 5 * target)
        data[binary_dilation(bright, iterations=3)] = np.nan
        ny, nx = dirty.shape
        beam = source.beam if source.beam is not None else self.beam
        lag = min(data.shape) // 4
        if beam is not None:
            fwhm = np.sqrt(beam.major.to_value(u.arcsec) * beam.minor.to_value(u.arcsec))
            lag = int(min(8 * fwhm / self.pixel_scale.to_value(u.arcsec), lag))  # 8 beams, as adapt keeps
        lag = max(min(lag, ny // 2 - 1, nx // 2 - 1), 2)
        power = noise_power_from_image(data, max_lag=lag)
        if data.shape != (ny, nx):  # the same autocorrelation (within lag) on dirty's grid
            sy, sx = data.shape
            correlation = scipy.fft.fftshift(scipy.fft.irfft2(power, s=data.shape))
            moved = np.zeros((ny, nx))
            h = min(sy, ny) // 2, min(sx, nx) // 2
            moved[ny // 2 - h[0] : ny // 2 + h[0], nx // 2 - h[1] : nx // 2 + h[1]] = \
                correlation[sy // 2 - h[0] : sy // 2 + h[0], sx // 2 - h[1] : sx // 2 + h[1]]  # fmt: skip
            power = np.clip(scipy.fft.rfft2(scipy.fft.ifftshift(moved)).real, 0, None)
        rng = np.random.default_rng(None if seed is None else [27, seed])  # not the noise image's stream
        field = scipy.fft.irfft2(scipy.fft.rfft2(rng.standard_normal((ny, nx))) * np.sqrt(power), s=(ny, nx))
        own = noise_sigma(dirty)
        scale = np.sqrt(max(target**2 - (own if np.isfinite(own) else 0.0) ** 2, 0.0)) / max(field.std(), 1e-30)
        for _ in range(3):  # the network's output is not independent noise: match the sum's robust noise itself
            reached = noise_sigma(dirty + field * scale)
            if not reached > 0:
                break
            scale *= target / reached
        return (dirty + field * scale).astype(np.float32)

    def _noise_image(self, shape, seed):
        """A noise-only dirty image of the model's instrument, as ``(array, header)``."""
        from ..simulate import ImagedObservation, Observation, SimulationConfig, image_wcs

        config = self.card.simulation or SimulationConfig()
        rng = np.random.default_rng(seed)
        dec = config.pointing.dec_deg
        stored = self.card.observation
        observation = ImagedObservation.from_arrays(stored) if stored else Observation(config, dec)
        noise = observation.noise_field(rng).astype(np.float32)
        noise[observation.blank_mask] = np.nan
        header = image_wcs(config, config.pointing.ra_deg, dec).to_header()
        header["BUNIT"] = "Jy/beam"
        if self.beam is not None:
            header.update(self.beam.to_header_keywords())
        return noise, header


def _blank_style(style, data):
    """NaN in the style map where every input pixel under a style pixel is blank (beyond the primary beam)."""
    _, sy, sx = style.shape
    factor = -(-data.shape[0] // sy)
    blank = np.ones((sy * factor, sx * factor), dtype=bool)
    blank[: data.shape[0], : data.shape[1]] = ~np.isfinite(data)
    coarse = blank.reshape(sy, factor, sx, factor).all(axis=(1, 3))
    style = style.copy()
    style[:, coarse] = np.nan
    return style


def _not_a_dirty_image(image):
    """What a unitless image peaking at 1 at the reference pixel is instead: "a primary beam", "a PSF", or None."""
    return {"pb": "a primary beam", "psf": "a PSF"}.get(unitless_image_kind(image))


def _beam_ratio(a, b):
    """The largest factor between two beams' major or minor axes (>= 1)."""
    return float(max(a.major / b.major, b.major / a.major, a.minor / b.minor, b.minor / a.minor))


def _beam_text(beam):
    if beam is None:
        return "none"
    return f"{beam.major.to_value(u.arcsec):.3g}\" x {beam.minor.to_value(u.arcsec):.3g}\""


def _beam_pixels(beam, pixel_scale):
    """The beam's FWHM (geometric mean) in pixels; 8.5 (the reference set-up's) without a beam."""
    if beam is None:
        return 8.5
    return _beam_fwhm_arcsec(beam) / u.Quantity(pixel_scale).to_value(u.arcsec)


def _pad_to(psf, shape):
    """A PSF (peak at (n/2, n/2)) cut or zero-padded to ``shape``, the peak kept at (shape/2)."""
    psf = np.asarray(psf, dtype=np.float64)
    out = np.zeros(shape)
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    hy, hx = min(shape[0] // 2, cy), min(shape[1] // 2, cx)
    oy, ox = shape[0] // 2, shape[1] // 2
    out[oy - hy : oy + hy, ox - hx : ox + hx] = psf[cy - hy : cy + hy, cx - hx : cx + hx]
    return out


def _beam_fwhm_arcsec(beam):
    """The geometric-mean FWHM of a beam, arcsec."""
    return float(np.sqrt((beam.major * beam.minor).to_value(u.arcsec**2)))
