"""Checkpoints: one file that rebuilds a model with nothing else.

A checkpoint holds only tensors and plain Python values, so it loads with
``torch.load(..., weights_only=True)``:

- ``format``, ``format_version``;
- ``architecture`` and ``model_config`` (the constructor's keyword arguments);
- ``state_dict``;
- ``normalisation`` (`~astro_i2i.models.normalisation.Normalisation`);
- ``simulation``: the `~astro_i2i.simulate.SimulationConfig` it was trained on
  (array, frequency, pixel scale, noise, sources) and the ``beam`` (arcsec, deg);
- ``package_version``, ``training`` (steps, time, hardware, ...) and
  ``metrics`` (validation figures);
- ``inference``: `~astro_i2i.models.InferenceSettings` as a plain dict;
- ``observation`` (adapted models only): the arrays of the observation the
  model was adapted to (PSF, primary beam, blank mask, noise power, noise
  RMS; `~astro_i2i.simulate.ImagedObservation.to_arrays`), so that it can be
  recalibrated and compared with other observations from the file alone.

`load_checkpoint` returns these as a typed, frozen `ModelCard`; the string
keys above are read and written in this module only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .._atomic import atomic_output
from .._version import __version__
from ..exceptions import InputError
from .ddpm import DDPM
from .mse_unet import MSEUNet
from .normalisation import Normalisation
from .settings import InferenceSettings
from .two_to_one import TwoToOne

if TYPE_CHECKING:
    from radio_beam import Beam

    from ..simulate import SimulationConfig

__all__ = ["ModelCard", "save_checkpoint", "load_checkpoint", "file_checksum", "checkpoint_summary", "ARCHITECTURES"]

#: Checkpoint ``architecture`` name -> model class.
ARCHITECTURES = {cls.architecture: cls for cls in (MSEUNet, TwoToOne, DDPM)}

FORMAT = "astro-i2i-checkpoint"
FORMAT_VERSION = 1


def file_checksum(path):
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(values):
    """Plain Python values (numpy scalars become floats/ints), as ``weights_only`` loading needs."""

    def convert(value):
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            return value.item()
        if hasattr(value, "tolist"):
            return value.tolist()
        raise TypeError(f"cannot store {type(value).__name__!r} in a checkpoint")

    return json.loads(json.dumps(values, default=convert))


def _beam_from_record(values, source="checkpoint"):
    """The `~radio_beam.Beam` of a simulation record's ``beam`` (major and minor FWHM in arcsec, PA in deg)."""
    if values is None:
        return None
    from astropy import units as u
    from radio_beam import Beam

    try:
        major, minor, pa = (float(value) for value in values)
        return Beam(major * u.arcsec, minor * u.arcsec, pa * u.deg)
    except (TypeError, ValueError) as exc:
        raise InputError(source, f"the simulation record's beam {values!r} is not [major, minor, PA] ({exc})") from None


def _beam_record(beam):
    """`_beam_from_record`'s inverse: ``[major, minor]`` in arcsec and the PA in degrees."""
    from astropy import units as u

    return [beam.major.to_value(u.arcsec), beam.minor.to_value(u.arcsec), beam.pa.to_value(u.deg)]


def _simulation_from_record(record, source="checkpoint"):
    """`SimulationConfig` of a simulation record and the sections it holds; keys this version does not know are
    dropped (a record of another version loads), missing ones take the defaults."""
    from ..simulate import SimulationConfig

    if not record:
        return None, frozenset()
    known = SimulationConfig().to_dict()
    sections = {name: ({key: value for key, value in values.items() if key in known[name]}
                       if isinstance(values, dict) else values)
                for name, values in record.items() if name in known}  # fmt: skip
    return SimulationConfig.from_dict(sections, source=source), frozenset(sections)


@dataclass(frozen=True, eq=False, repr=False)
class ModelCard:
    """What a checkpoint says about its model besides the weights: typed and read-only.

    `load_checkpoint` returns one with the model; `save_checkpoint` writes one
    back (``card=``). Its attributes cannot be reassigned (use `replace` for a
    changed copy); the dicts it holds are the values read from the file.

    Parameters
    ----------
    architecture : str, optional
        The model's name in `ARCHITECTURES` (``'two_to_one'``, ``'mse_unet'``,
        ``'ddpm'``).
    model_config : dict, optional
        The model's constructor arguments (``model.config``).
    normalisation : `~astro_i2i.models.Normalisation`, optional
        The network's units.
    inference : `~astro_i2i.models.InferenceSettings`, optional
        Style perturbation, detection settings per K, uncertainty calibration
        (uncalibrated defaults for a checkpoint without).
    simulation : `~astro_i2i.simulate.SimulationConfig`, optional
        The set-up the model was trained on (array, frequency, grid, noise,
        sources); None for a checkpoint without a simulation record. Sections
        the record lacks take `~astro_i2i.simulate.SimulationConfig`'s
        defaults; `simulation_sections` names those it holds.
    beam : `~radio_beam.Beam`, optional
        The synthesized beam of that set-up (fitted to its PSF); None if not
        recorded.
    adapted : dict, optional
        For a model adapted to one observation (`~astro_i2i.training.adapt`),
        what it was adapted to: ``dirty``, ``psf``, ``primary_beam``,
        ``noise_rms_jy``, ``noise_texture``, ``beam_fwhm_arcsec``,
        ``frequency_ghz``, ``base_model``, ``base_checksum``, ``minutes``.
        None for other models.
    observation : dict, optional
        An adapted model's observation as arrays (PSF, primary beam, blank
        mask, noise power, noise RMS;
        `~astro_i2i.simulate.ImagedObservation.to_arrays`), rebuilt by
        `imaged_observation`. None for other models.
    training : dict, optional
        How it was trained (``steps``, ``time_s``, ``hardware``, ``torch``,
        ``config``); empty if not recorded.
    metrics : dict, optional
        Validation and calibration figures (``validation``,
        ``calibration``); empty if not recorded.
    package_version : str, optional
        The astro-i2i version that wrote the checkpoint.
    format_version : int, optional
        The checkpoint format's version.
    checksum : str, optional
        SHA-256 of the file (hex); None for a card not read from a file.
    simulation_sections : frozenset of str, optional
        The `~astro_i2i.simulate.SimulationConfig` sections the simulation
        record holds (``'observation'``, ``'image'``, ...); default all of
        them with a ``simulation``, none without. Only these are written back.

    Examples
    --------
    >>> from astro_i2i.data import model_path
    >>> from astro_i2i.models import load_checkpoint
    >>> model, card = load_checkpoint(model_path("two_to_one"))
    >>> card.architecture, card.image_size, card.pixel_scale
    ('two_to_one', 512, <Quantity 0.1 arcsec>)
    >>> round(card.beam.major.to_value("arcsec"), 2)
    0.89
    """

    architecture: str | None = None
    model_config: dict = field(default_factory=dict)
    normalisation: Normalisation = field(default_factory=Normalisation)
    inference: InferenceSettings = field(default_factory=InferenceSettings)
    simulation: SimulationConfig | None = None
    beam: Beam | None = None
    adapted: dict | None = None
    observation: dict | None = None
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    package_version: str | None = None
    format_version: int = FORMAT_VERSION
    checksum: str | None = None
    simulation_sections: frozenset | None = None

    def __post_init__(self):
        if self.simulation_sections is None:
            sections = frozenset(self.simulation.to_dict()) if self.simulation is not None else frozenset()
        else:
            sections = frozenset(self.simulation_sections) if self.simulation is not None else frozenset()
        object.__setattr__(self, "simulation_sections", sections)

    @classmethod
    def describe(cls, described):
        """A card of a card, a `~astro_i2i.simulate.SimulationConfig` or a checkpoint's simulation record.

        Parameters
        ----------
        described : `ModelCard`, `~astro_i2i.simulate.SimulationConfig` or dict
            A card is returned as it is; a config or a record (the
            ``simulation`` section of a checkpoint) gives a card without
            weights-related fields, for its derived beam, grid and population.

        Returns
        -------
        card : `ModelCard`
        """
        from ..simulate import SimulationConfig

        if isinstance(described, cls):
            return described
        if isinstance(described, SimulationConfig):
            return cls(simulation=described)
        simulation, sections = _simulation_from_record(described)
        return cls(simulation=simulation, simulation_sections=sections,
                   beam=_beam_from_record((described or {}).get("beam")))  # fmt: skip

    @classmethod
    def _from_payload(cls, payload, *, checksum=None, source="checkpoint"):
        """The card of a checkpoint's contents (``torch.load``'s dict); missing keys take the defaults."""
        record = payload.get("simulation") or {}
        if not isinstance(record, dict):
            raise InputError(source, "the simulation record is not a mapping")
        simulation, sections = _simulation_from_record(record, source=source)
        try:
            inference = _settings(payload.get("inference"))
        except (TypeError, ValueError) as exc:
            raise InputError(source, f"inference settings are not valid: {exc}") from None
        try:
            normalisation = Normalisation.from_dict(payload.get("normalisation") or {})
        except (TypeError, ValueError) as exc:
            raise InputError(source, f"normalisation is not valid: {exc}") from None
        observation = payload.get("observation")
        if isinstance(observation, dict):
            observation = {key: value.numpy() if torch.is_tensor(value) else value
                           for key, value in observation.items()}  # fmt: skip
        else:
            observation = None
        return cls(architecture=payload.get("architecture"), model_config=dict(payload.get("model_config") or {}),
                   normalisation=normalisation, inference=inference, simulation=simulation,
                   beam=_beam_from_record(record.get("beam"), source), adapted=record.get("adapted") or None,
                   observation=observation, training=payload.get("training") or {},
                   metrics=payload.get("metrics") or {}, package_version=payload.get("package_version"),
                   format_version=int(payload.get("format_version", FORMAT_VERSION)), checksum=checksum,
                   simulation_sections=sections)  # fmt: skip

    def _simulation_record(self):
        """The simulation record to write: the sections held, the beam and the adaptation notes."""
        return _simulation_record(self.simulation, self.beam, self.adapted, sections=self.simulation_sections)

    def __repr__(self):
        grid = "no simulation record" if self.simulation is None else \
            f"{self.image_size} x {self.image_size} at {self.simulation.image.pixel_scale_arcsec:.4g}\""  # fmt: skip
        beam = "" if self.beam_fwhm is None else f", beam {self.beam_fwhm.value:.3g}\""
        state = "calibrated" if self.inference.calibrated else "uncalibrated"
        adapted = ", adapted" if self.adapted else ""
        return (f"<ModelCard {self.architecture} (astro-i2i {self.package_version or '?'}): {grid}{beam}{adapted}, "
                f"{state}>")

    def replace(self, **changes):
        """A copy with some attributes changed (`dataclasses.replace`).

        Parameters
        ----------
        **changes
            New values of fields, by name.

        Returns
        -------
        card : `ModelCard`
            The changed copy.
        """
        import dataclasses

        return dataclasses.replace(self, **changes)

    @property
    def pixel_scale(self):
        """The training grid's pixel scale (`~astropy.units.Quantity`, arcsec); None without a simulation record."""
        if self.simulation is None:
            return None
        from astropy import units as u

        return self.simulation.image.pixel_scale_arcsec * u.arcsec

    @property
    def image_size(self):
        """The training images' size in pixels (int); None without a simulation record."""
        return None if self.simulation is None else int(self.simulation.image.size)

    @property
    def frequency(self):
        """The training set-up's frequency (`~astropy.units.Quantity`, GHz); None if the record has none."""
        if "observation" not in self.simulation_sections:
            return None
        from astropy import units as u

        return self.simulation.observation.frequency_ghz * u.GHz

    @property
    def primary_beam(self):
        """The antenna the model was trained with (`~astro_i2i.simulate.config.PrimaryBeamConfig`); None if the
        record does not say."""
        return self.simulation.primary_beam if "primary_beam" in self.simulation_sections else None

    @property
    def flux_max(self):
        """The brightest faint source of the training population (`~astropy.units.Quantity`, Jy); None if the
        record does not say."""
        if "sources" not in self.simulation_sections:
            return None
        from astropy import units as u

        return self.simulation.sources.flux_max_jy * u.Jy

    @property
    def source_fwhm(self):
        """The typical source of the training population, the middle of its size range (`~astropy.units.Quantity`,
        arcsec); None without a simulation record."""
        if self.simulation is None:
            return None
        from astropy import units as u

        sources = self.simulation.sources
        return 0.5 * (float(sources.fwhm_min_arcsec) + float(sources.fwhm_max_arcsec)) * u.arcsec

    @property
    def beam_fwhm(self):
        """The beam's geometric-mean FWHM, ``sqrt(major minor)`` (`~astropy.units.Quantity`, arcsec); None
        without a beam."""
        if self.beam is None:
            return None
        from astropy import units as u

        return float(np.sqrt(self.beam.major.to_value(u.arcsec) * self.beam.minor.to_value(u.arcsec))) * u.arcsec

    @property
    def beam_area_pixels(self):
        """The beam's area in training-grid pixels (float); None without a beam or a simulation record."""
        if self.beam is None or self.simulation is None:
            return None
        from astropy import units as u

        major, minor = self.beam.major.to_value(u.arcsec), self.beam.minor.to_value(u.arcsec)
        return float(np.pi / (4 * np.log(2)) * major * minor / self.pixel_scale.to_value(u.arcsec) ** 2)

    @property
    def training_config(self):
        """The training config the model was trained with (`~astro_i2i.training.TrainingConfig.to_dict`); an
        empty dict if not recorded."""
        return dict(self.training.get("config") or {})

    @property
    def setup_range(self):
        """The ALMA set-ups the model was trained over (`~astro_i2i.simulate.SetupRange`, from its training
        config's ``setups``); None for a model of one set-up."""
        setups = self.training_config.get("setups") or {}
        if not setups.get("n"):
            return None
        from ..simulate import SetupRange

        return SetupRange.from_dict(setups)

    @property
    def psf(self):
        """An adapted model's PSF as stored (`~numpy.ndarray`, possibly larger than the image); None for a model
        of a simulated set-up (simulate it from `simulation`)."""
        return None if not self.observation else np.asarray(self.observation["psf"])

    def imaged_observation(self):
        """An adapted model's observation (`~astro_i2i.simulate.ImagedObservation`); None for other models.

        Returns
        -------
        observation : `~astro_i2i.simulate.ImagedObservation` or None
            Rebuilt from the stored arrays (`~astro_i2i.simulate.ImagedObservation.from_arrays`).
        """
        if not self.observation:
            return None
        from ..simulate import ImagedObservation

        return ImagedObservation.from_arrays(self.observation)


def _simulation_record(simulation, beam=None, adapted=None, *, sections=None):
    """A checkpoint's ``simulation`` record: a `SimulationConfig`'s sections (or a record as given), the beam and
    an adapted model's notes."""
    if simulation is None:
        record = {}
    elif isinstance(simulation, dict):
        record = dict(simulation)
    else:
        record = {name: values for name, values in simulation.to_dict().items() if sections is None or name in sections}
    if beam is not None:
        record["beam"] = _beam_record(beam)
    if adapted:
        record["adapted"] = dict(adapted)
    return record


def save_checkpoint(path, model, *, normalisation=None, simulation=None, beam=None, adapted=None, training=None,
                    metrics=None, inference=None, observation=None, card=None, overwrite=False):  # fmt: skip
    """Write ``model`` and everything needed to use it to one file (atomically).

    Parameters
    ----------
    path : str or path-like
    model : `~astro_i2i.models.SkyModel`
        An astro-i2i model (`~astro_i2i.models.MSEUNet`,
        `~astro_i2i.models.TwoToOne`, `~astro_i2i.models.DDPM`); its
        ``architecture`` and ``config`` are written with its weights.
    normalisation : `~astro_i2i.models.normalisation.Normalisation`
        Needed unless ``card`` gives it.
    simulation : `~astro_i2i.simulate.SimulationConfig` or dict, optional
        The set-up the model was trained on, or a simulation record as
        written before (``SimulationConfig.to_dict()`` with ``beam`` and
        ``adapted``).
    beam : `~radio_beam.Beam`, optional
        The set-up's synthesized beam (stored in the simulation record).
    adapted : dict, optional
        An adapted model's notes (`ModelCard.adapted`).
    training, metrics : dict, optional
        Plain values only (numbers, strings, lists, dicts).
    inference : `~astro_i2i.models.InferenceSettings` or dict, optional
        The inference settings (a dict is validated through
        `InferenceSettings.from_dict`).
    observation : dict, optional
        Arrays (and numbers) describing the observation of an adapted model
        (`~astro_i2i.simulate.ImagedObservation.to_arrays`).
    card : `ModelCard`, optional
        A loaded checkpoint's card: what the other arguments leave as None is
        taken from it (its simulation record as read: the sections it holds,
        its beam and notes).
    overwrite : bool, optional

    Returns
    -------
    path : `pathlib.Path`
    """
    if getattr(model, "architecture", None) not in ARCHITECTURES:
        raise TypeError(f"cannot save a {type(model).__name__!r}: not an astro-i2i model")
    sections = None
    if card is not None:
        normalisation = card.normalisation if normalisation is None else normalisation
        if simulation is None:
            simulation, sections = card.simulation, card.simulation_sections
        beam = card.beam if beam is None else beam
        adapted = card.adapted if adapted is None else adapted
        training = card.training if training is None else training
        metrics = card.metrics if metrics is None else metrics
        inference = card.inference if inference is None else inference
        observation = card.observation if observation is None else observation
    if normalisation is None:
        raise TypeError("save_checkpoint needs normalisation= (or card=)")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture,
        "model_config": dict(model.config),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "normalisation": normalisation.to_dict(),
        "simulation": _plain(_simulation_record(simulation, beam, adapted, sections=sections)),
        "package_version": __version__,
        "training": _plain(training or {}),
        "metrics": _plain(metrics or {}),
        "inference": _plain(_settings(inference).to_dict()),
    }
    if observation is not None:
        payload["observation"] = {key: torch.from_numpy(np.ascontiguousarray(value)) if hasattr(value, "shape")
                                  else float(value) for key, value in observation.items()}  # fmt: skip
    with atomic_output(path, overwrite=overwrite) as tmp:
        torch.save(payload, tmp)
    return Path(path)


def _settings(inference):
    if isinstance(inference, InferenceSettings):
        return inference
    return InferenceSettings.from_dict(inference or {})


def load_checkpoint(path, *, device="cpu"):
    """Rebuild a model from a checkpoint, with its model card.

    The file is read with ``torch.load(..., weights_only=True)``: it holds
    only tensors and plain values, never pickled objects. Checkpoints of
    earlier versions load: what they do not record takes the defaults (or
    None), and keys this version does not know are ignored.

    Parameters
    ----------
    path : str or path-like
        A checkpoint written by `save_checkpoint` (``astro-i2i train``,
        ``adapt``, ``calibrate``), e.g. a shipped model's
        (`astro_i2i.data.model_path`).
    device : str or `torch.device`, optional
        Where the model's weights go; default ``'cpu'``.

    Returns
    -------
    model : `~astro_i2i.models.SkyModel`
        In evaluation mode, on ``device``.
    card : `ModelCard`
        Everything else the file holds, typed: the simulation config it was
        trained on (`~astro_i2i.simulate.SimulationConfig`), its beam
        (`~radio_beam.Beam`), the observation of an adapted model, the
        inference settings (`InferenceSettings`), the normalisation
        (`Normalisation`), the training record and metrics, the version
        that wrote it and the file's SHA-256 ``checksum``.

    Raises
    ------
    astro_i2i.exceptions.InputError
        If the file is missing, not a checkpoint, corrupt, its weights do
        not fit its architecture, or a record (inference settings,
        normalisation, simulation config, beam) is not valid.

    Examples
    --------
    >>> from astro_i2i.data import model_path
    >>> model, card = load_checkpoint(model_path("mse"))
    >>> model.architecture == card.architecture == "mse_unet"
    True
    >>> card.simulation.observation.frequency_ghz
    230.0
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, or pickled objects that weights_only refuses
        raise InputError(path, f"not a readable astro-i2i checkpoint (corrupt or truncated: {type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(path, "not an astro-i2i checkpoint")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(path, f"checkpoint format {payload['format_version']} is newer than this astro-i2i reads")
    architecture = payload.get("architecture")
    if architecture not in ARCHITECTURES:
        raise InputError(path, f"unknown architecture {architecture!r}; known: {sorted(ARCHITECTURES)}")
    try:
        model = ARCHITECTURES[architecture](**(payload.get("model_config") or {}))
    except TypeError as exc:
        raise InputError(path, f"model config does not fit architecture {architecture!r}: {exc}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(path, f"weights do not fit architecture {architecture!r} ({first})") from None
    model.eval().to(device)
    card = ModelCard._from_payload(payload, checksum=file_checksum(path), source=path)
    return model, card


def _figure(value, fmt, scale=1.0):
    """``value`` (times ``scale``) formatted, or '?' when not recorded."""
    try:
        return format(scale * float(value), fmt)
    except (TypeError, ValueError):
        return "?"


def checkpoint_summary(card, name):
    """Lines describing a checkpoint, for ``astro-i2i info MODEL.pt``.

    What the checkpoint does not record is said to be unknown (a partial
    simulation record is described as far as it goes).

    Parameters
    ----------
    card : `ModelCard`
        `load_checkpoint`'s card.
    name : str
        The checkpoint's name or path, for the first line.

    Returns
    -------
    lines : list of str
    """
    from astropy import units as u

    lines = [f"model:       {name} ({card.architecture}, astro-i2i {card.package_version or '?'})"]
    simulation, sections, adapted = card.simulation, card.simulation_sections, card.adapted or {}
    if "observation" in sections:
        obs = simulation.observation
        array = f"PSF {adapted.get('psf', '?')}" if adapted else f"{obs.array}, {obs.duration_s / 60:g} min"
        lines.append(f"set-up:      {array}, {obs.frequency_ghz:.4g} GHz")
    else:
        lines.append("frequency:   unknown")
    if "image" in sections:
        lines.append(f"grid:        {simulation.image.size} x {simulation.image.size} at "
                     f"{simulation.image.pixel_scale_arcsec:.4g}\"")  # fmt: skip
    else:
        lines.append("grid:        unknown")
    if card.beam is not None:
        major, minor = card.beam.major.to_value(u.arcsec), card.beam.minor.to_value(u.arcsec)
        lines.append(f"beam:        {major:.3g}\" x {minor:.3g}\", PA {card.beam.pa.to_value(u.deg):.0f} deg")
    else:
        lines.append("beam:        unknown")
    if "noise" in sections:
        lines.append(f"noise:       {1e6 * simulation.noise.rms_jy:.3g} uJy/beam")
    if "sources" in sections:
        sources = simulation.sources
        lines.append(f"sources:     {sources.n_min}-{sources.n_max} per image, {1e3 * sources.flux_min_jy:.3g}-"
                     f"{1e3 * sources.flux_max_jy:.3g} mJy, FWHM {sources.fwhm_min_arcsec:.3g}-"
                     f"{sources.fwhm_max_arcsec:.3g}\", within {sources.max_radius_arcsec:.3g}\"")  # fmt: skip
    if adapted:
        lines += [
            f"adapted to:  {adapted.get('dirty', '?')} (from {adapted.get('base_model', '?')}, "
            f"{_figure(adapted.get('minutes'), 'g')} min of fine-tuning)",
            f"  PSF:       {adapted.get('psf', '?')}",
            f"  primary beam: {adapted.get('primary_beam', '?')}",
            f"  noise:     {_figure(adapted.get('noise_rms_jy'), '.3g', 1e6)} uJy/beam, texture from the "
            f"{adapted.get('noise_texture', '?')}",
        ]  # fmt: skip
    setups = card.setup_range
    if setups is not None:
        arrays = sorted(setups.arrays)
        lines.append(f"set-ups:     trained over {setups.n} ({arrays[0]} to {arrays[-1]}, {setups.frequency_ghz[0]:g}-"
                     f"{setups.frequency_ghz[-1]:g} GHz, dec {setups.dec_deg[0]:+g} to {setups.dec_deg[-1]:+g}, "
                     f"{setups.duration_s[0] / 60:g}-{setups.duration_s[-1] / 60:g} min, "
                     f"{100 * setups.briggs_fraction:.0f} % Briggs)")  # fmt: skip
    tuned = card.training.get("tuned")
    if isinstance(tuned, dict):
        lines.append(f"tuned to:    {tuned.get('input', '?')}'s set-up ({tuned.get('psf', '?')}), on "
                     f"{tuned.get('n_images', '?')} simulated images: K = {tuned.get('samples', '?')} cuts "
                     f"{_figure(tuned.get('min_reliability'), '.2f')} (half a beam) and "
                     f"{_figure(tuned.get('benchmark_min_reliability'), '.2f')} (0.21 beam)")  # fmt: skip
        if "prior_density" in tuned:
            lines.append(f"             prior {_figure(tuned.get('prior_density'), '.3g')} sources per arcmin^2; "
                         f"flux_err x {_figure(tuned.get('flux_err_scale'), '.2f')}, UNCERTAINTY x "
                         f"{_figure(tuned.get('uncertainty_scale'), '.2f')}")  # fmt: skip
        adapted = tuned.get("adapt")
        if isinstance(adapted, dict):
            which = ("the adapted network" if adapted.get("kept") == "adapted" else
                     f"{adapted.get('base_model', '?')}'s network (the adapted one scored lower)")  # fmt: skip
            lines.append(f"adapt:       {which}, after {adapted.get('steps', '?')} steps in "
                         f"{_figure(adapted.get('minutes'), 'g')} min; F1 {_figure(adapted.get('f1_adapted'), '.3f')} "
                         f"adapted against {_figure(adapted.get('f1_base'), '.3f')} for the model it started from, "
                         f"tuned, on those images")  # fmt: skip
    training = card.training
    if training:
        lines.append(f"training:    {training.get('steps', '?')} steps, {training.get('time_s', 0) / 60:.0f} min "
                     f"({training.get('hardware', '?')})")  # fmt: skip
    calibration = card.metrics.get("calibration") or {}
    n_images = calibration.get("n_images", "?")
    described = False
    for key in ("direct", "samples"):
        figures = calibration.get(key)
        if isinstance(figures, dict):
            mode = "direct" if figures.get("samples") == 1 else f"K = {figures.get('samples', '?')}"
            lines.append(f"calibrated:  {mode}: F1 {_figure(figures.get('f1'), '.1f', 100)} at reliability >= "
                         f"{_figure(figures.get('min_reliability'), '.2f')} ({n_images} simulated images)")  # fmt: skip
            if "default_min_reliability" in figures:
                positions = figures.get("positions") or {}
                radius = _figure(calibration.get("reliability_radius_arcsec"), '.2f')
                lines.append(f"             default cut reliability >= "
                             f"{_figure(figures.get('default_min_reliability'), '.2f')} (F1 "
                             f"{_figure(figures.get('f1_default'), '.1f', 100)} with a true source within "
                             f"{radius}\"); positions within 1.96 ra_err/dec_err: "
                             f"{_figure(positions.get('coverage_ra'), '.1f', 100)} / "
                             f"{_figure(positions.get('coverage_dec'), '.1f', 100)} %")  # fmt: skip
            described = True
    coverage = (calibration.get("uncertainty") or {}).get("coverage")
    if isinstance(coverage, dict):
        # On the calibration images the map was fitted to (the README's 94.8 % is the independent test set's).
        lines.append(f"uncertainty: coverage {_figure(coverage.get('source'), '.1f', 100)} % on source pixels, "
                     f"{_figure(coverage.get('disc'), '.1f', 100)} % over the disc (its {n_images} calibration "
                     f"images; on independent test images see docs/models.rst)")  # fmt: skip
        described = True
    if not described:
        lines.append(f"metrics:     {', '.join(sorted(card.metrics)) if card.metrics else 'none recorded'}")
    return lines
