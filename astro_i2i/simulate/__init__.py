"""ALMA simulator: sky models, primary beam, PSF and dirty images (no torch)."""

from ._array import baseline_uvw, hour_angles, read_antenna_config
from ._imaged import ImagedObservation, noise_power_from_image
from ._dataset import TrainingPairs, image_wcs, simulate_image, truth_rows, write_dataset
from ._observe import NoiseBank, Observation
from ._sky import airy_primary_beam, draw_pointing, draw_sources, primary_beam, render_sky
from ._targets import TARGET_SHAPES, draw_targets, render_targets
from .config import SimulationConfig

__all__ = [
    "SimulationConfig",
    "Observation",
    "NoiseBank",
    "ImagedObservation",
    "noise_power_from_image",
    "TrainingPairs",
    "simulate_image",
    "write_dataset",
    "image_wcs",
    "truth_rows",
    "read_antenna_config",
    "baseline_uvw",
    "hour_angles",
    "draw_sources",
    "draw_pointing",
    "render_sky",
    "draw_targets",
    "render_targets",
    "TARGET_SHAPES",
    "primary_beam",
    "airy_primary_beam",
]
