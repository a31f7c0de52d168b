"""Adapting a trained model to a user's own observation (``astro-i2i adapt``; needs torch).

The shipped model covers ALMA's 12-m set-ups (C43-1 to C43-8, Bands 3-7,
natural or Briggs weighting) and is tuned to each at run time
(`~astro_i2i.training.tune_to_setup`). For what lies outside (ACA, very long
baselines, uniform weighting), `adapt` simulates training pairs with the
observation's own PSF, primary beam, pixel grid and noise
(`~astro_i2i.simulate.ImagedObservation`), fine-tunes the model on them for a
given wall time, and keeps it only where it beats the model it started from,
tuned to the same set-up, on the same simulated images.
"""

import dataclasses
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
from astropy import units as u

from ..catalog import noise_sigma
from ..exceptions import InputError
from ..io import check_not_pb_corrected, read_image, read_primary_beam, read_psf
from ..models import Normalisation, load_checkpoint
from ..simulate import ImagedObservation, Observation, SimulationConfig, airy_primary_beam, noise_power_from_image
from ..simulate import render_sky
from .config import TrainingConfig
from .train import train

__all__ = ["adapt", "describe_observation", "ADAPT_SEED", "SOURCE_SIZE_BEAMS", "SOURCE_FLUX_SIGMAS"]

logger = logging.getLogger(__name__)

#: Default source sizes (FWHM) in units of the beam's geometric-mean FWHM: the default set-up's
#: 0.4-0.8" at its 0.85" beam.
SOURCE_SIZE_BEAMS = (0.5, 1.0)
#: Default integrated fluxes in units of the dirty image's noise (Jy/beam): the default set-up's
#: 0.05-0.5 mJy at 47 uJy/beam.
SOURCE_FLUX_SIGMAS = (1.0, 10.0)
ADAPT_SEED = 11  #: training-pair seed of adapted models (the shipped models' training used 1 and 2)
_NOISE_LAG_BEAMS = 8  # the measured noise autocorrelation is kept within this many beams


def _network_grid_peak(flux, fwhm_arcsec, pixel_scale_arcsec, downsample):
    """Peak (Jy per network pixel) of a centred circular Gaussian source on the network grid."""
    size = int(2 * math.ceil(4 * fwhm_arcsec / pixel_scale_arcsec / downsample + 2) * downsample)
    sources = {"x": np.array([size / 2 - 0.5]), "y": np.array([size / 2 - 0.5]), "flux": np.array([flux]),
               "fwhm_maj": np.array([fwhm_arcsec]), "fwhm_min": np.array([fwhm_arcsec]), "pa": np.zeros(1)}  # fmt: skip
    sky = render_sky(sources, size, pixel_scale_arcsec, dtype=np.float64)
    blocks = sky.reshape(size // downsample, downsample, size // downsample, downsample).sum(axis=(1, 3))
    return float(blocks.max())


def _population(card, image):
    """The model's training population scaled to ``image``: fluxes by its noise over the model's, sizes by its beam
    over the model's (the shipped model's 0.05-0.5 mJy at 46 uJy/beam, 0.4-0.8" under 0.86": 1.09-10.9 x the noise,
    0.47-0.94 x the beam). None, None (`describe_observation`'s 1-10 x and 0.5-1 x) without a record. Those
    defaults put the sources 9 % fainter than the model's own, and the best cut chosen on them lower (C43-1: 0.28
    against the model's 0.32, its F1 1 point lower on the test images)."""
    simulation = card.simulation
    if simulation is None or card.beam is None or image.beam is None:
        return None, None
    sources = simulation.sources
    gain = noise_sigma(image.data) / simulation.noise.rms_jy
    scale = float(np.sqrt(((image.beam.major * image.beam.minor) / (card.beam.major * card.beam.minor)).decompose()))
    return ((sources.flux_min_jy * gain * u.Jy, sources.flux_max_jy * gain * u.Jy),
            (sources.fwhm_min_arcsec * scale * u.arcsec, sources.fwhm_max_arcsec * scale * u.arcsec))


def _range(values, name):
    if values is None:
        return None
    low, high = (float(v) for v in values)
    if not 0 < low <= high:
        raise InputError(name, f"need 0 < low <= high, not {low:g}, {high:g}")
    return low, high


def describe_observation(dirty, *, psf=None, primary_beam=None, array=None, duration=None, dish_diameter=None,
                         noise_texture="psf", flux_range=None, size_range=None, source_radius=None,
                         hdu=None):  # fmt: skip
    """The simulation set-up of a user's observation.

    Parameters
    ----------
    dirty : str, path-like or any form `~astro_i2i.io.read_image` takes
        The dirty image (Jy/beam): its grid, noise level, frequency and beam.
    psf : same forms, optional
        Its PSF (`~astro_i2i.io.read_psf`). Without one, the PSF is computed
        from ``array`` (an antenna list name or ``.cfg`` path), the image's
        frequency and declination, and ``duration`` centred on transit.
    primary_beam : same forms, optional
        The primary-beam image; default an Airy pattern of ``dish_diameter``
        (CASA's ALMA 12-m model, 10.7 m, by default) at the image's frequency,
        centred on its reference pixel.
    array : str, optional
    duration : `~astropy.units.Quantity`, optional
        Default 20 min.
    dish_diameter : `~astropy.units.Quantity`, optional
    noise_texture : {'psf', 'image'}
        ``'psf'``: the noise of natural weighting, correlated like the PSF.
        ``'image'``: measured from the dirty image's autocorrelation (for
        robust or uniform weighting, where it differs from the PSF).
    flux_range : (`~astropy.units.Quantity`, `~astropy.units.Quantity`), optional
        Integrated fluxes of the simulated sources; default `SOURCE_FLUX_SIGMAS`
        times the image's noise.
    size_range : (`~astropy.units.Quantity`, `~astropy.units.Quantity`), optional
        Their FWHM; default `SOURCE_SIZE_BEAMS` times the beam.
    source_radius : `~astropy.units.Quantity`, optional
        The sources lie uniformly within this distance of the image's centre;
        default the primary beam's half-power radius (within 90 % of the
        image's half-width), the population of the dataset and the shipped
        models. A model calibrated on that population takes candidates further
        out for spurious; for a field whose sources may lie anywhere, give the
        radius of the imaged disc (the primary beam's cut-off).
    hdu : int or str, optional
        The HDU of ``dirty`` to read (`~astro_i2i.io.read_image`).

    Returns
    -------
    simulation : `~astro_i2i.simulate.SimulationConfig`
    observation : `~astro_i2i.simulate.ImagedObservation`
    notes : dict
        What the set-up was made from (stored in the adapted checkpoint).
    """
    if noise_texture not in ("psf", "image"):
        raise InputError("noise_texture", f"must be 'psf' or 'image', not {noise_texture!r}")
    image = read_image(dirty, hdu=hdu)
    ny, nx = image.shape
    if ny != nx or nx % 2:
        raise InputError(image.name, f"is {nx} x {ny} pixels: adapt needs a square image with an even size "
                                     "(image it with imsize=[N, N])")  # fmt: skip
    scale = image.pixel_scale.to_value(u.arcsec)
    centre = image.reference_position
    frequency = image.frequency
    if psf is None and array is None:
        if image.beam is None:
            raise InputError(image.name, "has no beam (BMAJ/BMIN) and no PSF was given: pass its PSF (--psf "
                                         "image.psf.fits), or --array to compute one")  # fmt: skip
        raise InputError("psf", f"{image.name}: pass its PSF (--psf image.psf.fits, as tclean or WSClean wrote it), "
                                "or --array (and --hours) to compute one from the antenna configuration")  # fmt: skip
    if frequency is None and (psf is None or primary_beam is None):
        raise InputError(image.name, "has no frequency in its header (a FREQ axis or RESTFRQ): needed for the "
                                     "primary beam and the PSF; pass --pb and --psf")  # fmt: skip
    finite = np.isfinite(image.data)
    rms = noise_sigma(image.data)
    if not rms > 0:
        raise InputError(image.name, "has no noise (its pixels are constant): not a dirty image")

    defaults = SimulationConfig()
    observation_config = {"frequency_ghz": frequency.to_value(u.GHz) if frequency is not None else
                          defaults.observation.frequency_ghz}  # fmt: skip
    if array is not None:
        observation_config["array"] = str(array)
    if duration is not None:
        observation_config["duration_s"] = float(u.Quantity(duration, u.s).value)
    dish = defaults.primary_beam.dish_diameter_m if dish_diameter is None else float(u.Quantity(dish_diameter, u.m).value)
    base = {
        "observation": observation_config,
        "image": {"size": nx, "pixel_scale_arcsec": scale},
        "primary_beam": {"dish_diameter_m": dish},
        "noise": {"rms_jy": rms},
        "pointing": {"ra_deg": centre.icrs.ra.deg, "dec_deg": centre.icrs.dec.deg, "radius_deg": 0.0},
    }
    simulation = SimulationConfig.from_dict(base, source="adapt")

    # The PSF: the user's, or computed from the array at the image's declination.
    if psf is not None:
        psf_array, psf_from = read_psf(psf, image=image), getattr(psf, "__fspath__", lambda: str(psf))()
    else:
        psf_array = Observation(simulation, centre.icrs.dec.deg).psf(2 * nx)
        psf_from = f"computed: {simulation.observation.array}, {simulation.observation.duration_s / 60:g} min"
    # The primary beam: the user's, or the antenna model centred on the reference pixel.
    if primary_beam is not None:
        pb = read_primary_beam(primary_beam, image=image)
        pb_from = str(primary_beam)
    else:
        x0, y0 = np.asarray(image.wcs.wcs.crpix[:2], dtype=float) - 1
        yy, xx = np.mgrid[:ny, :nx]
        radius = np.hypot(xx - x0, yy - y0) * image.pixel_scale.to_value(u.rad)
        pb = airy_primary_beam(radius, frequency.to_value(u.Hz), dish, defaults.primary_beam.blockage_diameter_m)
        pb_from = f"Airy pattern of a {dish:g} m dish at {frequency.to_value(u.GHz):.4g} GHz"
    # Its noise sets the simulations': a corrected image's grows towards the edge, which would mislead them.
    check_not_pb_corrected(image.name, image.data, pb)
    blank = ~finite if not finite.all() else np.zeros_like(finite)
    power = None
    beam_fwhm = None
    if image.beam is not None:
        beam_fwhm = float(np.sqrt(image.beam.major.to_value(u.arcsec) * image.beam.minor.to_value(u.arcsec)))
    observation = ImagedObservation(psf_array, pb, rms, blank_mask=blank)
    if beam_fwhm is None:
        from ..io import fit_psf_beam
        from ..simulate import image_wcs

        fitted = fit_psf_beam(observation.psf(), image_wcs(simulation, centre.icrs.ra.deg, centre.icrs.dec.deg))
        beam_fwhm = float(np.sqrt(fitted.major.to_value(u.arcsec) * fitted.minor.to_value(u.arcsec)))
    if noise_texture == "image":
        lag = int(min(_NOISE_LAG_BEAMS * beam_fwhm / scale, nx // 4))
        power = noise_power_from_image(image.data, max_lag=max(lag, 4))
        observation = ImagedObservation(psf_array, pb, rms, blank_mask=blank, noise_power=power)

    # The sources: scaled to the beam and the noise unless given.
    fluxes = _range(flux_range and [u.Quantity(v, u.Jy).value for v in flux_range], "flux_range") or \
        (SOURCE_FLUX_SIGMAS[0] * rms, SOURCE_FLUX_SIGMAS[1] * rms)  # fmt: skip
    sizes = _range(size_range and [u.Quantity(v, u.arcsec).value for v in size_range], "size_range") or \
        (SOURCE_SIZE_BEAMS[0] * beam_fwhm, SOURCE_SIZE_BEAMS[1] * beam_fwhm)  # fmt: skip
    # Sources within the primary beam's half-power radius, and inside 90 % of the image's half-width.
    disc = ~observation.blank_mask & (pb >= 0.5)
    yy, xx = np.nonzero(disc)
    half_power = float(np.hypot(xx - nx / 2, yy - ny / 2).max()) * scale if disc.any() else nx / 2 * scale
    max_radius = min(half_power, 0.9 * nx / 2 * scale)
    if source_radius is not None:
        try:
            max_radius = float(u.Quantity(source_radius, u.arcsec).to_value(u.arcsec))
        except (TypeError, ValueError, u.UnitsError):
            raise InputError("source_radius", f"must be an angle, not {source_radius!r}") from None
        if not 0 < max_radius <= nx / 2 * scale:
            raise InputError("source_radius", f"must lie in (0, {nx / 2 * scale:g}] arcsec (the image's half-width), "
                                              f"not {max_radius:g}")  # fmt: skip
    base["sources"] = {"flux_min_jy": fluxes[0], "flux_max_jy": fluxes[1], "fwhm_min_arcsec": sizes[0],
                       "fwhm_max_arcsec": sizes[1], "max_radius_arcsec": max_radius}  # fmt: skip
    simulation = SimulationConfig.from_dict(base, source="adapt")
    notes = {"dirty": image.name, "psf": psf_from, "primary_beam": pb_from, "noise_rms_jy": rms,
             "noise_texture": noise_texture, "beam_fwhm_arcsec": beam_fwhm,
             "frequency_ghz": simulation.observation.frequency_ghz}  # fmt: skip
    return simulation, observation, notes


def _adapted_normalisation(base, base_card, simulation, beam_fwhm, downsample=None):
    """The network's units for the new set-up: the same S/N, beam size in network pixels and source peaks.

    ``base_card`` is the base model's `~astro_i2i.models.ModelCard`, ``simulation`` the new set-up.
    """
    old_scale = base_card.simulation.image.pixel_scale_arcsec
    old_beam = base_card.beam_fwhm.to_value(u.arcsec)
    new_scale = simulation.image.pixel_scale_arcsec
    if downsample is None:
        # Keep the beam's size in network pixels (2.1 for the shipped models), to the nearest power of 2.
        wanted = base.downsample * (beam_fwhm / new_scale) / (old_beam / old_scale)
        downsample = int(2 ** max(0, round(math.log2(max(wanted, 1)))))
    old_sources, new_sources = base_card.simulation.sources, simulation.sources
    old_peak = _network_grid_peak(old_sources.flux_max_jy, old_sources.fwhm_min_arcsec, old_scale,
                                  base.downsample)  # fmt: skip
    new_peak = _network_grid_peak(new_sources.flux_max_jy, new_sources.fwhm_min_arcsec, new_scale, downsample)
    return Normalisation(dirty_scale=base.dirty_scale * simulation.noise.rms_jy / base_card.simulation.noise.rms_jy,
                         sky_scale=base.sky_scale * new_peak / old_peak, sky_power=base.sky_power,
                         downsample=downsample)  # fmt: skip


def _as_reconstructed(base, image):
    """The network's units for ``image`` as the calibrated model ``base`` (a `~astro_i2i.reconstruct.Reconstructor`)
    gives them: its grid ``f`` times coarser for the image's pixels per beam, the dirty image and the sky scaled by
    the image's noise over the model's. The fine-tuning starts from the network's view of the
    set-up, so that the base's calibration, which the tuning then maps, still fits it. The older scaling
    (`_adapted_normalisation`: the sky by the brightest source's peak on the network grid) put a model over
    set-ups' outputs off its scale: fine-tuned on C43-6 for 200 steps, it scored F1 10.6 under the base's
    calibration against the base's 38.9 on the same simulated images.
    """
    downsample = base._layout(image, free_downsample=True)[0]
    gain = base._noise_gain(image.data)
    normalisation = base.normalisation
    return Normalisation(dirty_scale=normalisation.dirty_scale / gain, sky_scale=normalisation.sky_scale / gain,
                         sky_power=normalisation.sky_power, downsample=downsample)  # fmt: skip


def adapt(dirty, output, *, psf=None, primary_beam=None, minutes=15, base="two_to_one", array=None,
          duration=None, dish_diameter=None, noise_texture="psf", flux_range=None, size_range=None,
          source_radius=None, calibration_images=300, validation_images=100, device="cpu", overwrite=False,
          progress=False, hdu=None, force=False):  # fmt: skip
    """Fine-tune a model for one observation; write it to ``output`` only if it beats the model it started from.

    Training pairs are simulated with the observation's PSF, primary beam,
    grid and noise (`describe_observation`), with the model's own source
    population scaled to the set-up unless given; the model starts from
    ``base`` and trains with the base's losses, batch and crop (scaled to the
    new grid). ``minutes`` bounds the whole call.

    A calibrated ``base`` (a shipped model) is first tuned to the set-up
    (`tune_to_setup`'s map, cuts and scales, on simulated images of it): what
    ``reconstruct`` gives without adapting. The fine-tuning gets the time left
    after a second tuning of the same cost, in which the fine-tuned network,
    under the base's calibration, is tuned on the same images. Whichever of
    the two scores the higher F1 there (at the benchmark radius, 0.21 beam) is
    written (`write_tuned`); its record (``astro-i2i info``) holds both F1s.
    ``force`` writes the fine-tuned one whatever its score.

    A ``base`` never calibrated (a checkpoint being made) is fine-tuned,
    validated in the direct mode against its start (refused, nothing written,
    if worse, unless ``force``), and calibrated on ``calibration_images``
    fresh images (fewer when they would not fit in ``minutes``).

    Parameters
    ----------
    dirty : str, path-like or any form `~astro_i2i.io.read_image` takes
    output : str or path-like
        The adapted checkpoint; ``<output>.log.jsonl`` is its training log.
    psf, primary_beam, array, duration, dish_diameter, noise_texture, flux_range, size_range, source_radius, hdu
        See `describe_observation`.
    minutes : float, optional
        Wall time of the whole call: tuning, simulation, fine-tuning,
        validation and the second tuning (or calibration). If even one
        training step cannot fit, the estimate is logged at the start.
    base : str or path-like, optional
        A shipped model's name or a checkpoint to start from.
    calibration_images, validation_images : int, optional
    device : str, optional
    overwrite : bool, optional
    progress : None, bool or callable, optional
        Progress over the training steps (`astro_i2i._progress`). Default False.
    force : bool, optional
        Write the adapted model even if it scores below ``base`` (tuned).

    Returns
    -------
    metrics : dict
        The best validation figures; for a calibrated ``base``, ``'adapt'``
        holds the comparison: ``'kept'`` (``'adapted'`` or ``'base'``),
        ``'f1_adapted'``, ``'f1_base'``, ``'images'`` and ``'steps'``.
    """
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or not minutes > 0:
        raise InputError("minutes", f"must be a positive number, not {minutes!r}")
    from ..data import model_path

    clock_start = time.perf_counter()
    base_path = model_path(base)
    model, card = load_checkpoint(base_path, device=device)
    if card.simulation is None or card.beam is None:
        raise InputError(base_path, "has no simulation record with a beam: cannot scale it to a new set-up")
    training = card.training_config
    if not training:
        raise InputError(base_path, "has no training config: cannot fine-tune it")
    image = read_image(dirty, hdu=hdu)
    # The sources: the model's own population scaled to the set-up (what its tuning draws too), unless given.
    population = _population(card, image)
    flux_range = population[0] if flux_range is None else flux_range
    size_range = population[1] if size_range is None else size_range
    simulation, observation, notes = describe_observation(
        dirty, psf=psf, primary_beam=primary_beam, array=array, duration=duration, dish_diameter=dish_diameter,
        noise_texture=noise_texture, flux_range=flux_range, size_range=size_range, source_radius=source_radius,
        hdu=hdu)  # fmt: skip
    compare = card.inference.calibrated
    if compare:  # the base as reconstruct runs it, made once from the checkpoint loaded above
        from ..reconstruct import Reconstructor

        started_from = Reconstructor(model, card, name=str(base), path=base_path, device=device)
        normalisation = _as_reconstructed(started_from, image)
    else:
        normalisation = _adapted_normalisation(card.normalisation, card, simulation, notes["beam_fwhm_arcsec"])
    multiple = normalisation.downsample * model.multiple
    old_network_crop = training["data"]["crop"] // card.normalisation.downsample
    crop = min(old_network_crop * normalisation.downsample, simulation.image.size) // multiple * multiple
    config = TrainingConfig(
        model={"architecture": card.architecture, **card.model_config},
        normalisation=normalisation.to_dict(),
        simulation=simulation.to_dict(),
        data={**training.get("data", {}), "crop": int(crop), "n_pointings": 1, "seed": ADAPT_SEED},
        # Fine-tuning: a twentieth of the base's peak rate (1e-4 for the shipped model), warmed up over 20 steps,
        # cosine over the wall time; steps are only a bound. On C43-6 with warm-up, 30 steps at 1e-4 lowered the
        # held-out content and direct losses steadily (1.9e-5 to 1.2e-5, 5.1e-5 to 2.1e-5); at 4e-4 they jumped.
        optimisation={**training.get("optimisation", {}), "steps": 10**6, "checkpoint_every": 50,
                      "learning_rate": 0.05 * training.get("optimisation", {}).get("learning_rate", 1e-3)},
        losses=training.get("losses", {}),
        validation={"every": 200, "n_images": int(validation_images), "seed": 1_000_000,
                    "calibration_images": 0 if compare else int(calibration_images)},
    )  # fmt: skip
    notes = {**notes, "base_model": str(base), "base_checksum": card.checksum, "minutes": float(minutes)}
    logger.info("adapting %s to %s: %d x %d at %.4g\", noise %.3g uJy/beam, network grid %dx coarser",
                base, notes["dirty"], simulation.image.size, simulation.image.size,
                simulation.image.pixel_scale_arcsec, 1e6 * simulation.noise.rms_jy, normalisation.downsample)  # fmt: skip
    if not compare:  # a model never calibrated (one being made): calibrated on fresh images, validated directly
        return train(config, output, device=device, overwrite=overwrite, progress=progress, observation=observation,
                     initial_state=model.state_dict(), time_limit_s=60.0 * minutes, notes=notes, whole_budget=True,
                     clock_start=clock_start, refuse_worse=True, force=force)  # fmt: skip
    return _adapt_against_tuned(config, output, base=started_from, image=image, simulation=simulation,
                                observation=observation, notes=notes, minutes=minutes, clock_start=clock_start,
                                device=device, overwrite=overwrite, progress=progress, force=force)  # fmt: skip


def _carried_settings(base, adapted):
    """``base``'s inference settings (reliability model, flux_err, positions, UNCERTAINTY: its calibration, which
    the tuning then maps) for the ``adapted`` model, whose own beam is the set-up's: the catalogue's source size
    scaled by that beam over the base's, as `~astro_i2i.reconstruct.Reconstructor` scales it for the base on the
    set-up (`~astro_i2i.reconstruct.Reconstructor`'s ``_source_fwhm``). Unscaled, the base's 0.6" template fitted
    C43-6's 0.1-0.2" sources: F1 10.4 against the base's 38.9 on the same simulated images, after 61 steps of
    fine-tuning."""

    def scaled(settings):
        fwhm = base._source_fwhm(adapted.beam, settings)  # None: the base's own size
        return settings if fwhm is None else dataclasses.replace(settings, source_fwhm_arcsec=fwhm.to_value(u.arcsec))

    return dataclasses.replace(base.settings, detection=tuple(scaled(d) for d in base.settings.detection))


def _adapt_against_tuned(config, output, *, base, image, simulation, observation, notes, minutes, clock_start,
                         device, overwrite, progress, force):  # fmt: skip
    """`adapt` of a calibrated model: fine-tuned, then kept only where it beats the model it started from *tuned*
    to the set-up (what ``reconstruct`` gives without adapting) on the same simulated images.

    Phase 1 tunes the base model to the set-up (`tune_to_setup`'s core, ``TUNE_SEED``'s images); phases 2-3
    fine-tune it for what the budget leaves after a second tuning of the same cost; phase 4 tunes the fine-tuned
    network (with the base's calibration under the tuning's map, cuts and scales) on the same images; the better
    F1 at the benchmark radius is written (`write_tuned`), with both figures in its ``tuned['adapt']`` record.
    The fine-tuned network's own calibration on fresh images took 100 s of a 6-minute budget (102 images, uniform
    weighting) and scored no better under the tuning than the carried one (F1 36.9 against 36.5, both below the
    base's 45.1): the carried calibration is cheaper, and the two models meet on the same images.
    """
    from .._atomic import check_output_path
    from ..reconstruct import Reconstructor
    from .tune import _MAX_FACTOR, TUNE_CANDIDATES, TUNE_IMAGES, TUNE_SEED, _tune, write_tuned

    output = Path(output)
    check_output_path(output, overwrite=overwrite)
    staged = output.with_name(output.name + ".partial")
    budget = 60.0 * minutes
    prior = 3600 * simulation.sources.density_per_arcsec2
    bars = progress if isinstance(progress, bool) else None  # a callable follows the training's steps only

    def left():
        return budget - (time.perf_counter() - clock_start)

    def tuned(reconstructor, n_images, **limits):
        """The reconstructor tuned on the set-up's images ``[TUNE_SEED, 0 .. n_images - 1]``, or None if too few
        candidates there to fit."""
        try:
            return _tune(reconstructor, image, simulation, observation, prior_density=prior,
                         samples=reconstructor.settings.samples, n_images=n_images, seed=TUNE_SEED, progress=bars,
                         **limits)  # fmt: skip
        except InputError as exc:
            logger.info("%s", exc)
            return None

    logger.info("phase 1/5: tuning the model it starts from to the set-up, as reconstruct would; %.0f s elapsed, "
                "%.0f s left", budget - left(), left())  # fmt: skip
    began = time.perf_counter()
    base_tuned = tuned(base, TUNE_IMAGES, min_candidates=TUNE_CANDIDATES)
    tune_s = time.perf_counter() - began
    n_images = base_tuned.tuning["n_images"] if base_tuned is not None else _MAX_FACTOR * TUNE_IMAGES
    if base_tuned is not None:
        logger.info("the model it starts from, tuned: F1 %.4f on %d simulated images (%.0f s)",
                    base_tuned.tuning["f1"], n_images, tune_s)  # fmt: skip
    # The second tuning runs the same images with the same K: about as long as the first (kept: 1.25x and 5 s for
    # loading and writing; at 1.1x and 2 s a 1-minute adapt of the tutorial's field took 68 s).
    metrics = train(config, staged, device=device, overwrite=True, progress=progress, observation=observation,
                    initial_state=base.model.state_dict(), time_limit_s=budget, notes=notes, whole_budget=True,
                    clock_start=clock_start, reserve_s=1.25 * tune_s + 5.0, phases=("2/5", "3/5", None, None))
    logger.info("phase 4/5: tuning the fine-tuned model on the same %d images; %.0f s elapsed, %.0f s left",
                n_images, budget - left(), left())  # fmt: skip
    state = staged.with_name(staged.name + ".state.pt")
    log = staged.with_name(staged.name + ".log.jsonl")
    try:
        adapted = Reconstructor.from_pretrained(staged, device=device)
        adapted.settings = _carried_settings(base, adapted)
        adapted_tuned = tuned(adapted, n_images, min_candidates=0, max_images=n_images)
        scores = {key: (t.tuning["f1"] if t is not None else float("nan"))
                  for key, t in (("adapted", adapted_tuned), ("base", base_tuned))}  # fmt: skip
        if adapted_tuned is None and base_tuned is None:
            raise InputError(output, f"not written: neither the adapted model nor the one it started from found "
                                     f"enough candidates in {n_images} simulated images of the set-up to tune "
                                     "its catalogue")  # fmt: skip
        wins = adapted_tuned is not None and (base_tuned is None or scores["adapted"] > scores["base"])
        kept = "adapted" if wins or (force and adapted_tuned is not None) else "base"
        chosen = adapted_tuned if kept == "adapted" else base_tuned
        record = {"kept": kept, "f1_adapted": scores["adapted"], "f1_base": scores["base"], "images": n_images,
                  "steps": int(metrics.get("step", 0)), "validation_f1": float(metrics.get("f1", float("nan"))),
                  "minutes": float(minutes), "base_model": notes["base_model"],
                  "forced": kept == "adapted" and not wins}  # fmt: skip
        chosen.tuning = {**chosen.tuning, "input": image.name, "psf": notes["psf"], "array": None,
                         "primary_beam": notes["primary_beam"], "source_density": None, "adapt": record}
        chosen.tuning["seconds"] = round(time.perf_counter() - began, 1)
        write_tuned(chosen, output, overwrite=overwrite)
    finally:  # the training log is kept beside the output (as `train` keeps it), written or not
        staged.unlink(missing_ok=True)
        state.unlink(missing_ok=True)
        if log.exists():
            os.replace(log, output.with_name(output.name + ".log.jsonl"))
    if kept == "adapted":
        logger.info("phase 5/5: done in %.0f s of the %.0f s budget: the adapted model (F1 %.4f on the set-up's "
                    "simulated images, against %.4f for the model it started from, tuned) -> %s", budget - left(),
                    budget, scores["adapted"], scores["base"], output)  # fmt: skip
    else:
        logger.info("phase 5/5: done in %.0f s of the %.0f s budget: the model it started from, tuned to the set-up, "
                    "is kept (F1 %.4f on the set-up's simulated images, against %.4f for the adapted one) -> %s",
                    budget - left(), budget, scores["base"], scores["adapted"], output)  # fmt: skip
    return {**metrics, "adapt": record}
