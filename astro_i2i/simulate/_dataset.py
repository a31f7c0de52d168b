"""Simulated data sets: FITS files on disk, and (sky, dirty) pairs in memory for training."""

import logging
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from .._atomic import atomic_output, check_output_path
from .._progress import Progress
from .._version import __version__
from ..exceptions import InputError
from ..io import fit_psf_beam
from ._observe import NoiseBank, Observation
from ._sky import draw_pointing, draw_sources, render_sky
from ._targets import draw_targets, render_targets
from .config import SimulationConfig

__all__ = ["simulate_image", "write_dataset", "validation_set", "TrainingPairs", "SetupPairs", "image_wcs",
           "truth_rows"]

logger = logging.getLogger(__name__)


def image_wcs(config, ra_deg, dec_deg):
    """2-D celestial WCS of a simulated image: SIN projection, phase centre at pixel size/2.

    Parameters
    ----------
    config : `~astro_i2i.simulate.SimulationConfig`
        Gives the image size and pixel scale.
    ra_deg, dec_deg : float
        The phase centre (FK5, J2000), degrees.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        RA---SIN / DEC--SIN, reference pixel at 0-based ``(size / 2, size / 2)``.
    """
    size, scale = config.image.size, config.image.pixel_scale_arcsec / 3600
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---SIN", "DEC--SIN"]
    wcs.wcs.crval = [ra_deg, dec_deg]
    wcs.wcs.crpix = [size / 2 + 1, size / 2 + 1]
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.radesys = "FK5"
    wcs.wcs.equinox = 2000.0
    return wcs


def _tclean_header(config, wcs, bunit, beam=None, *, index=None):
    """A 4-D header (RA, DEC, FREQ, STOKES) like CASA's exportfits writes."""
    header = fits.Header()
    header["BUNIT"] = bunit
    header["BTYPE"] = "Intensity"
    header["OBJECT"] = "astro-i2i simulation" if index is None else f"astro-i2i sim {index:05d}"
    header["TELESCOP"] = "ALMA"
    if beam is not None:
        header["BMAJ"] = beam.major.to_value(u.deg)
        header["BMIN"] = beam.minor.to_value(u.deg)
        header["BPA"] = beam.pa.to_value(u.deg)
    header.update(wcs.to_header())
    header["WCSAXES"] = 4
    header["CTYPE3"], header["CRVAL3"], header["CDELT3"] = "FREQ", config.observation.frequency_ghz * 1e9, \
        config.observation.bandwidth_ghz * 1e9  # fmt: skip
    header["CRPIX3"], header["CUNIT3"] = 1.0, "Hz"
    header["CTYPE4"], header["CRVAL4"], header["CDELT4"], header["CRPIX4"], header["CUNIT4"] = "STOKES", 1.0, 1.0, 1.0, ""
    header["RESTFRQ"] = config.observation.frequency_ghz * 1e9
    header["SPECSYS"] = "LSRK"
    header["ORIGIN"] = f"astro-i2i {__version__} simulator"
    header["HISTORY"] = f"array {config.observation.array}, {config.observation.duration_s:g} s at transit, " \
        f"{config.observation.integration_s:g} s integrations, {_weighting(config)} weighting"  # fmt: skip
    return header


def _weighting(config):
    obs = config.observation
    return f"briggs (robust {obs.robust:g})" if obs.weighting == "briggs" else obs.weighting


def simulate_image(config, rng, *, exact=True, observation=None):
    """Simulate one image.

    Parameters
    ----------
    config : `SimulationConfig`
    rng : `numpy.random.Generator`
    exact : bool
        Grid the visibilities with ducc0 (True) or use the FFT path.
    observation : `ImagedObservation`, optional
        Observe with this PSF, primary beam and noise instead of the
        configured array (the grid and sources still come from ``config``).

    Returns
    -------
    result : dict
        ``sky`` (Jy/pixel), ``faint_sky`` (the faint sources alone: ``sky``
        without its targets), ``dirty`` (Jy/beam, NaN where the primary beam is
        below its limit), ``psf``, ``primary_beam``, ``wcs``, ``sources``
        (dict of arrays), ``observation``.
    """
    ra, dec = draw_pointing(rng, config)
    sources = draw_sources(rng, config)
    targets = draw_targets(rng, config)
    sky, faint_sky = _render(sources, targets, config)
    observation = observation or Observation(config, dec)
    if exact:
        dirty = observation.dirty_image(sky, rng).astype(np.float32)
    else:
        dirty = observation.convolve(sky) + observation.noise_field(rng)
    dirty[observation.blank_mask] = np.nan
    return {
        "sky": sky,
        "dirty": dirty,
        "psf": observation.psf().astype(np.float32),
        "primary_beam": observation.primary_beam,
        "wcs": image_wcs(config, ra, dec),
        "sources": sources,
        "targets": targets,
        "faint_sky": faint_sky,
        "observation": observation,
    }


def _render(sources, targets, config):
    """The sky of faint sources and targets, and that of the faint sources alone (Jy/pixel, float32)."""
    faint = render_sky(sources, config.image.size, config.image.pixel_scale_arcsec)
    if not len(targets["x"]):
        return faint, faint
    sky = render_targets(targets, config.image.size, config.image.pixel_scale_arcsec, sky=faint).astype(np.float32)
    return sky, faint


def truth_rows(index, sources, wcs, config, targets=None):
    """Rows of the truth table for one image: the faint sources, then the targets (``kind`` says which).

    A target's ``fwhm_maj``, ``fwhm_min`` and ``pa`` are those of the Gaussian
    with its second moments, and ``shape`` its kind (``point`` sources are
    ``gaussian``).

    Parameters
    ----------
    index : int
        The image's index (the ``image`` column).
    sources : dict
        The faint sources (`draw_sources`): ``x``, ``y`` (pixels), ``flux``
        (Jy), ``fwhm_maj``, ``fwhm_min`` (arcsec), ``pa`` (deg).
    wcs : `~astropy.wcs.WCS`
        The image's WCS (`image_wcs`), for ``ra`` and ``dec``.
    config : `~astro_i2i.simulate.SimulationConfig`
        Gives the noise reference for ``snr`` (flux / ``noise.snr_reference_jy``).
    targets : dict, optional
        The bright targets (`draw_targets`), listed after the faint sources.

    Returns
    -------
    rows : dict
        Columns ``image``, ``source_id``, ``ra``, ``dec`` (deg), ``flux`` (Jy),
        ``fwhm_maj``, ``fwhm_min`` (arcsec), ``pa`` (deg), ``snr``, ``x``,
        ``y`` (pixels), ``kind`` and ``shape``, as plain arrays.
    """
    if targets is not None and len(targets["x"]):
        n_faint, n_target = len(sources["x"]), len(targets["x"])
        both = {key: np.concatenate([np.atleast_1d(sources[key]), targets[key]])
                for key in ("x", "y", "flux", "fwhm_maj", "fwhm_min", "pa")}  # fmt: skip
        rows = truth_rows(index, both, wcs, config)
        rows["source_id"] = np.arange(n_faint + n_target)
        rows["kind"] = np.array(["faint"] * n_faint + ["target"] * n_target)
        rows["shape"] = np.array(["gaussian"] * n_faint + list(targets["shape"]), dtype="<U8")
        return rows
    coords = wcs.pixel_to_world(sources["x"], sources["y"])
    n = len(sources["x"])
    return {
        "image": np.full(n, index, dtype=int),
        "source_id": np.arange(n, dtype=int),
        "ra": np.atleast_1d(coords.ra.deg),
        "dec": np.atleast_1d(coords.dec.deg),
        "flux": sources["flux"],
        "fwhm_maj": sources["fwhm_maj"],
        "fwhm_min": sources["fwhm_min"],
        "pa": sources["pa"],
        "snr": sources["flux"] / config.noise.snr_reference_jy,
        "x": sources["x"],
        "y": sources["y"],
        "kind": np.full(n, "faint", dtype="<U6"),
        "shape": np.full(n, "gaussian", dtype="<U8"),
    }


_TRUTH_UNITS = {"ra": u.deg, "dec": u.deg, "flux": u.Jy, "fwhm_maj": u.arcsec, "fwhm_min": u.arcsec, "pa": u.deg,
                "x": u.pix, "y": u.pix}  # fmt: skip


def _write_fits(path, data, header, overwrite):
    with atomic_output(path, overwrite=overwrite) as tmp:
        fits.PrimaryHDU(data[np.newaxis, np.newaxis], header=header).writeto(tmp, overwrite=True)


def write_dataset(outdir, n, *, seed=0, config=None, overwrite=False, progress=None):
    """Simulate ``n`` images and write them as FITS files, like CASA would.

    Writes ``dirty_NNNNN.fits`` (Jy/beam, 4-D RA/DEC/FREQ/STOKES, with the
    fitted PSF beam in BMAJ/BMIN/BPA), ``sky_NNNNN.fits`` (Jy/pixel),
    ``psf_NNNNN.fits`` (each pointing has its own uv coverage),
    ``truth.ecsv`` (one row per source) and ``config.yaml``. Image ``i`` is
    simulated from ``numpy.random.default_rng([seed, i])``: the same seed
    gives the same files.

    Parameters
    ----------
    outdir : str or path-like
        Output directory; created if missing (its parent must exist).
    n : int
        Number of images.
    seed : int, optional
    config : `SimulationConfig`, optional
    overwrite : bool, optional
        Replace existing files; otherwise any existing target is an error
        before anything is written.
    progress : None, bool or callable, optional
        Progress over the images (`astro_i2i._progress`): True for a tqdm
        bar, or a callable ``progress(done, total)``.

    Returns
    -------
    truth : `~astropy.table.Table`
    """
    config = config or SimulationConfig()
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError("n", f"number of images must be a positive integer, not {n!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", f"seed must be a non-negative integer, not {seed!r}")
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise InputError(outdir, "exists and is not a directory")
    if not outdir.parent.is_dir():
        raise InputError(outdir, f"parent directory '{outdir.parent}' does not exist")
    names = [f"{kind}_{i:05d}.fits" for i in range(n) for kind in ("dirty", "sky", "psf")]
    names += ["truth.ecsv", "config.yaml"]
    if outdir.exists():
        for name in names:
            check_output_path(outdir / name, overwrite=overwrite)
    outdir.mkdir(exist_ok=True)

    columns = {}
    report = Progress(progress, n, desc="simulating", unit="image")
    for i in range(n):
        result = simulate_image(config, np.random.default_rng([int(seed), i]))
        wcs = result["wcs"]
        beam = fit_psf_beam(result["psf"], wcs)
        _write_fits(outdir / f"dirty_{i:05d}.fits", result["dirty"],
                    _tclean_header(config, wcs, "Jy/beam", beam, index=i), overwrite)  # fmt: skip
        _write_fits(outdir / f"sky_{i:05d}.fits", result["sky"], _tclean_header(config, wcs, "Jy/pixel", index=i),
                    overwrite)  # fmt: skip
        _write_fits(outdir / f"psf_{i:05d}.fits", result["psf"], _tclean_header(config, wcs, "", beam, index=i),
                    overwrite)  # fmt: skip
        for key, values in truth_rows(i, result["sources"], wcs, config, result["targets"]).items():
            columns.setdefault(key, []).append(values)
        report.update()
    report.close()
    truth = Table({key: np.concatenate(values) for key, values in columns.items()})
    for key, unit in _TRUTH_UNITS.items():
        truth[key].unit = unit
    truth.meta["description"] = "True sources of an astro-i2i simulation; snr = flux / noise.snr_reference_jy"
    truth.meta["seed"] = int(seed)
    truth.meta["n_images"] = int(n)
    truth.meta["astro_i2i_version"] = __version__
    with atomic_output(outdir / "truth.ecsv", overwrite=overwrite) as tmp:
        truth.write(tmp, format="ascii.ecsv", overwrite=True)
    with atomic_output(outdir / "config.yaml", overwrite=overwrite) as tmp:
        tmp.write_text(config.to_yaml())
    logger.info("wrote %d images to %s", n, outdir)
    return truth


class TrainingPairs:
    """Endless, reproducible (sky, dirty) pairs in memory, for training.

    Statistically the same as `write_dataset`'s images, but fast: the sky (times
    the primary beam) is convolved with the PSF by FFT and the noise comes from
    a `~astro_i2i.simulate.NoiseBank` of exact ducc0 noise fields. The uv
    coverage depends on the pointing's declination; to keep the FFT kernels
    and noise banks in memory, the pairs share ``n_pointings`` pointings drawn
    from the configured distribution (their PSFs differ by well under 1 %).

    Parameters
    ----------
    config : `SimulationConfig`, optional
    seed : int, optional
    n_pointings : int, optional
    bank_size, bank_parts, bank_refresh : int, optional
        See `~astro_i2i.simulate.NoiseBank`.
    observation : `ImagedObservation`, optional
        Observe every pair with this PSF, primary beam and noise (a user's
        observation, for ``astro-i2i adapt``) instead of the configured array.

    Examples
    --------
    >>> pairs = TrainingPairs(seed=1)                # doctest: +SKIP
    >>> sample = next(iter(pairs))                    # doctest: +SKIP
    >>> sample["sky"].shape, sample["dirty"].shape    # doctest: +SKIP
    """

    def __init__(self, config=None, *, seed=0, n_pointings=2, bank_size=6, bank_parts=3, bank_refresh=32,
                 observation=None):  # fmt: skip
        self.config = config or SimulationConfig()
        self.rng = np.random.default_rng(seed)
        self.observations, self.banks, self.pointings = [], [], []
        if observation is not None:
            self.observations.append(observation)
            self.banks.append(observation.noise_bank(self.rng))
            self.pointings.append((self.config.pointing.ra_deg, self.config.pointing.dec_deg))
            n_pointings = 0
        for _ in range(n_pointings):
            ra, dec = draw_pointing(self.rng, self.config)
            observation = Observation(self.config, dec)
            self.pointings.append((ra, dec))
            self.observations.append(observation)
            self.banks.append(NoiseBank(observation, self.rng, size=bank_size, parts=bank_parts,
                                        refresh_every=bank_refresh))  # fmt: skip

    @property
    def configs(self):
        """The simulation config of each observation (``pointing`` indexes both).

        Returns
        -------
        configs : list of `SimulationConfig`
        """
        return [self.config] * len(self.observations)

    def sample(self):
        """One pair: dict with ``sky``, ``faint_sky``, ``dirty``, ``noise`` (float32 arrays), ``mask`` (True =
        blanked), ``sources``, ``targets``.

        Returns
        -------
        pair : dict
            ``sky`` and ``faint_sky`` (Jy/pixel), ``dirty`` (Jy/beam, NaN where
            ``mask``) and ``noise`` (Jy/beam), ``mask``, ``sources`` and
            ``targets`` (as drawn), and ``pointing`` (index of the observation used).
        """
        k = int(self.rng.integers(len(self.observations)))
        observation = self.observations[k]
        sources = draw_sources(self.rng, self.config)
        targets = draw_targets(self.rng, self.config)
        sky, faint_sky = _render(sources, targets, self.config)
        noise = self.banks[k].draw()
        dirty = observation.convolve(sky) + noise
        mask = observation.blank_mask
        dirty[mask] = np.nan
        return {"sky": sky, "dirty": dirty, "noise": noise, "mask": mask, "sources": sources, "targets": targets,
                "faint_sky": faint_sky, "pointing": k}

    def __iter__(self):
        while True:
            yield self.sample()


class SetupPairs:
    """`TrainingPairs` over several set-ups (`~astro_i2i.simulate.setup_configs`): each pair from one of them.

    Each set-up is one observation of its own config (its PSF, primary beam, grid, noise fields and
    population); a pair's set-up is drawn with equal odds.

    Parameters
    ----------
    configs : list of `SimulationConfig`
    seed : int, optional
    bank_size, bank_parts, bank_refresh : int, optional
        See `~astro_i2i.simulate.NoiseBank`.
    """

    def __init__(self, configs, *, seed=0, bank_size=6, bank_parts=3, bank_refresh=32):
        if not configs:
            raise ValueError("SetupPairs needs at least one config")
        self.rng = np.random.default_rng([int(seed), len(configs)])
        self.parts = [TrainingPairs(config, seed=[int(seed), k], n_pointings=1, bank_size=bank_size,
                                    bank_parts=bank_parts, bank_refresh=bank_refresh)
                      for k, config in enumerate(configs)]  # fmt: skip
        self.observations = [part.observations[0] for part in self.parts]
        self.configs = list(configs)

    def sample(self):
        """One pair of a set-up drawn at random, as `TrainingPairs.sample`; ``pointing`` is the set-up's index.

        Returns
        -------
        pair : dict
        """
        k = int(self.rng.integers(len(self.parts)))
        return {**self.parts[k].sample(), "pointing": k}

    def __iter__(self):
        while True:
            yield self.sample()


def validation_set(simulation, n_images, seed, *, psf=False, observation=None, subtract_bright=False, start=0):
    """Fixed-seed images and their truth: what training runs, calibration and the benchmarks are judged on.

    Image ``i`` is drawn with the generator ``default_rng([seed, i])``, so a
    set is the same whatever else runs, and any prefix of it is the smaller set.

    Each image is a dict of ``dirty``, ``sky``, ``wcs``, ``primary_beam`` and,
    with ``psf=True``, ``psf``. With ``observation`` (an
    `~astro_i2i.simulate.ImagedObservation`) the images are observed with it.
    With ``subtract_bright=True`` each image is the pair the network sees at
    inference (`~astro_i2i.deconvolve.residual_pair`: its bright emission
    CLEANed with its PSF; ``dirty`` the residual, ``sky`` the faint sources), and the
    truth holds the faint sources only where something was CLEANed (the
    targets are CLEAN's, not the network's).

    Parameters
    ----------
    simulation : `SimulationConfig`
    n_images : int
    seed : int
    psf : bool, optional
        Keep each image's PSF.
    observation : `ImagedObservation`, optional
    subtract_bright : bool, optional
    start : int, optional
        The first image: images ``start`` to ``n_images - 1`` of the set are
        made (to extend a set already made). Default 0.

    Returns
    -------
    images : list of dict
    truth : `~astropy.table.Table`
        One row per true source, with its image's index.
    """
    from ..deconvolve import residual_pair

    images, columns, beam_pixels = [], {}, None
    for i in range(int(start), n_images):
        result = simulate_image(simulation, np.random.default_rng([seed, i]), observation=observation)
        dirty, sky, bright = result["dirty"], result["sky"], None
        if subtract_bright:
            if beam_pixels is None:
                beam = fit_psf_beam(result["psf"], result["wcs"])
                beam_pixels = float(np.sqrt((beam.major * beam.minor).to_value(u.arcsec**2))) / \
                    simulation.image.pixel_scale_arcsec  # fmt: skip
            dirty, sky, bright = residual_pair(dirty, sky, result["psf"], faint_sky=result["faint_sky"],
                                               beam_fwhm_pixels=beam_pixels)  # fmt: skip
        targets = result["targets"] if bright is None else None
        for key, values in truth_rows(i, result["sources"], result["wcs"], simulation, targets).items():
            columns.setdefault(key, []).append(values)
        images.append({"dirty": dirty, "sky": sky, "wcs": result["wcs"],
                       "primary_beam": result["primary_beam"], **({"psf": result["psf"]} if psf else {})})
    return images, Table({key: np.concatenate(values) for key, values in columns.items()})
