"""ALMA simulator: sky models, primary beam, PSF and dirty images (no torch)."""

from ._array import baseline_uvw, hour_angles, read_antenna_config
from ._imaged import ImagedObservation, noise_power_from_image
from ._dataset import SetupPairs, TrainingPairs, image_wcs, simulate_image, truth_rows, validation_set, write_dataset
from ._observe import NoiseBank, Observation
from ._sky import airy_primary_beam, draw_pointing, draw_sources, primary_beam, render_sky
from ._targets import TARGET_SHAPES, draw_targets, render_targets
from ._setups import SetupRange, population_radius_arcsec, setup_configs, synthesized_beam_arcsec
from .config import SimulationConfig

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "SimulationConfig",
    "Observation",
    "ImagedObservation",
    "NoiseBank",
    "TrainingPairs",
    "SetupRange",
    "SetupPairs",
    "setup_configs",
    "synthesized_beam_arcsec",
    "simulate_image",
    "validation_set",
    "write_dataset",
    "noise_power_from_image",
    "image_wcs",
    "truth_rows",
    "read_antenna_config",
    "draw_sources",
    "render_sky",
    "draw_targets",
    "render_targets",
    "primary_beam",
    "airy_primary_beam",
]
