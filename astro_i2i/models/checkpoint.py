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
"""

import hashlib
import json
from pathlib import Path

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

__all__ = ["save_checkpoint", "load_checkpoint", "file_checksum", "checkpoint_summary", "ARCHITECTURES"]

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


def save_checkpoint(path, model, *, normalisation, simulation=None, training=None, metrics=None, inference=None,
                    observation=None, overwrite=False):  # fmt: skip
    """Write ``model`` and everything needed to use it to one file (atomically).

    Parameters
    ----------
    path : str or path-like
    model : `~astro_i2i.models.MSEUNet` or `~astro_i2i.models.TwoToOne`
    normalisation : `~astro_i2i.models.normalisation.Normalisation`
    simulation : dict, optional
        The simulation config (``SimulationConfig.to_dict()``) and beam.
    training, metrics : dict, optional
        Plain values only (numbers, strings, lists, dicts).
    inference : `~astro_i2i.models.InferenceSettings` or dict, optional
        The inference settings (a dict is validated through
        `InferenceSettings.from_dict`).
    observation : dict, optional
        Arrays (and numbers) describing the observation of an adapted model
        (`~astro_i2i.simulate.ImagedObservation.to_arrays`).
    overwrite : bool, optional
    """
    if getattr(model, "architecture", None) not in ARCHITECTURES:
        raise TypeError(f"cannot save a {type(model).__name__!r}: not an astro-i2i model")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": model.architecture,
        "model_config": dict(model.config),
        "state_dict": {key: value.detach().cpu() for key, value in model.state_dict().items()},
        "normalisation": normalisation.to_dict(),
        "simulation": _plain(simulation or {}),
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
    """Rebuild a model from a checkpoint.

    Returns
    -------
    model : `torch.nn.Module`
        In evaluation mode, on ``device``.
    info : dict
        The checkpoint without its ``state_dict``, with ``normalisation`` as a
        `Normalisation`, ``inference`` as `InferenceSettings`, and the file's
        ``checksum``.

    Raises
    ------
    astro_i2i.exceptions.InputError
        If the file is missing, not a checkpoint, corrupt, or its weights do
        not fit its architecture.
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
        model = ARCHITECTURES[architecture](**payload["model_config"])
    except TypeError as exc:
        raise InputError(path, f"model config does not fit architecture {architecture!r}: {exc}") from None
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(path, f"weights do not fit architecture {architecture!r} ({first})") from None
    model.eval().to(device)
    info = {key: value for key, value in payload.items() if key != "state_dict"}
    info["normalisation"] = Normalisation.from_dict(payload["normalisation"])
    try:
        info["inference"] = _settings(payload.get("inference"))
    except (TypeError, ValueError) as exc:
        raise InputError(path, f"inference settings are not valid: {exc}") from None
    if isinstance(payload.get("observation"), dict):
        info["observation"] = {key: value.numpy() if torch.is_tensor(value) else value
                               for key, value in payload["observation"].items()}  # fmt: skip
    info["checksum"] = file_checksum(path)
    return model, info


def checkpoint_summary(info, name):
    """Lines describing a checkpoint (`load_checkpoint`'s ``info``), for ``astro-i2i info MODEL.pt``."""
    record = info.get("simulation") or {}
    lines = [f"model:       {name} ({info['architecture']}, astro-i2i {info.get('package_version', '?')})"]
    if record:
        obs, image, noise, sources = record["observation"], record["image"], record["noise"], record["sources"]
        beam = record.get("beam")
        beam_text = f"{beam[0]:.3g}\" x {beam[1]:.3g}\", PA {beam[2]:.0f} deg" if beam else "unknown"
        adapted = record.get("adapted")
        array = f"PSF {adapted['psf']}" if adapted else f"{obs['array']}, {obs['duration_s'] / 60:g} min"
        lines += [
            f"set-up:      {array}, {obs['frequency_ghz']:.4g} GHz",
            f"grid:        {image['size']} x {image['size']} at {image['pixel_scale_arcsec']:.4g}\"",
            f"beam:        {beam_text}",
            f"noise:       {1e6 * noise['rms_jy']:.3g} uJy/beam",
            f"sources:     {sources['n_min']}-{sources['n_max']} per image, {1e3 * sources['flux_min_jy']:.3g}-"
            f"{1e3 * sources['flux_max_jy']:.3g} mJy, FWHM {sources['fwhm_min_arcsec']:.3g}-"
            f"{sources['fwhm_max_arcsec']:.3g}\", within {sources['max_radius_arcsec']:.3g}\"",
        ]  # fmt: skip
    adapted = record.get("adapted")
    if adapted:
        lines += [
            f"adapted to:  {adapted['dirty']} (from {adapted['base_model']}, {adapted['minutes']:g} min of fine-tuning)",
            f"  PSF:       {adapted['psf']}",
            f"  primary beam: {adapted['primary_beam']}",
            f"  noise:     {1e6 * adapted['noise_rms_jy']:.3g} uJy/beam, texture from the {adapted['noise_texture']}",
        ]  # fmt: skip
    training = info.get("training") or {}
    if training:
        lines.append(f"training:    {training.get('steps', '?')} steps, {training.get('time_s', 0) / 60:.0f} min "
                     f"({training.get('hardware', '?')})")  # fmt: skip
    calibration = (info.get("metrics") or {}).get("calibration") or {}
    for key in ("direct", "samples"):
        if key in calibration:
            figures = calibration[key]
            mode = "direct" if figures["samples"] == 1 else f"K = {figures['samples']}"
            lines.append(f"calibrated:  {mode}: F1 {100 * figures['f1']:.1f} at reliability >= "
                         f"{figures['min_reliability']:.2f} ({calibration['n_images']} simulated images)")  # fmt: skip
    if "uncertainty" in calibration:
        coverage = calibration["uncertainty"]["coverage"]
        # On the calibration images the map was fitted to (the README's 94.8 % is the independent test set's).
        lines.append(f"uncertainty: coverage {100 * coverage['source']:.1f} % on source pixels, "
                     f"{100 * coverage['disc']:.1f} % over the disc (its {calibration['n_images']} calibration "
                     f"images; on independent test images see docs/models.rst)")  # fmt: skip
    return lines
