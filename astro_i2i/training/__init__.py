"""Training, calibrating and scoring models on simulated data (needs torch).

- `train` (``astro-i2i train``): a model from a YAML `TrainingConfig`;
- `calibrate_checkpoint` (``astro-i2i calibrate``): its inference settings,
  chosen on freshly simulated images;
- `adapt` (``astro-i2i adapt``): a model fine-tuned for a user's own
  observation (its PSF, primary beam, grid and noise);
- `validation_set`, `evaluate_model`: the fixed-seed images and the F1 that
  training runs are judged by.
"""

from ._sigma import SAMPLES, SIGMA_STYLE_GRID, calibrate_sigma_style
from .adapt import adapt, describe_observation
from .calibrate import (CANDIDATE_NSIGMA, calibrate_checkpoint, calibrate_detection, calibrate_uncertainty,
                        labelled_candidates)  # fmt: skip
from .config import TrainingConfig
from .evaluate import (CALIBRATION_IMAGES, CALIBRATION_SEED, DETECTION_NSIGMA_GRID, beam_area_pixels, evaluate_model,
                       record_beam, record_source_fwhm, validation_set)  # fmt: skip
from .train import _improves, train  # noqa: F401 (_improves: tested)

__all__ = [
    "TrainingConfig",
    "train",
    "adapt",
    "describe_observation",
    "calibrate_checkpoint",
    "calibrate_detection",
    "calibrate_uncertainty",
    "labelled_candidates",
    "calibrate_sigma_style",
    "validation_set",
    "evaluate_model",
    "beam_area_pixels",
    "record_beam",
    "record_source_fwhm",
    "SAMPLES",
    "SIGMA_STYLE_GRID",
    "DETECTION_NSIGMA_GRID",
    "CALIBRATION_IMAGES",
    "CALIBRATION_SEED",
    "CANDIDATE_NSIGMA",
]
