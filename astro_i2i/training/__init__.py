"""Training, calibrating and scoring models on simulated data (needs torch).

- `train` (``astro-i2i train``): a model from a YAML `TrainingConfig`;
- `calibrate_checkpoint` (``astro-i2i calibrate``): its inference settings,
  chosen on freshly simulated images;
- `adapt` (``astro-i2i adapt``): a model fine-tuned for a user's own
  observation (its PSF, primary beam, grid and noise);
- `tune_to_setup` (``reconstruct --tune``): a model's catalogue calibrated
  on simulated images of a user's own set-up, at run time; `tuned_for_setup`
  keeps it in a cache (what ``reconstruct`` does by itself for another set-up);
- `evaluate_model`: the F1 that training runs are judged by, on the
  fixed-seed images of `astro_i2i.simulate.validation_set`.
"""

from ._sigma import SAMPLES, SIGMA_STYLE_GRID, calibrate_sigma_style
from .adapt import adapt, describe_observation
from .calibrate import (CANDIDATE_NSIGMA, calibrate_checkpoint, calibrate_detection, calibrate_uncertainty,
                        calibration_seconds, labelled_candidates, setup_candidates)  # fmt: skip
from .config import TrainingConfig
from .evaluate import (CALIBRATION_IMAGES, CALIBRATION_SEED, DETECTION_NSIGMA_GRID, beam_area_pixels, evaluate_model,
                       record_beam, record_source_fwhm)  # fmt: skip
from .train import train
from .tune import (AUTO_ARRAYS, TUNE_CANDIDATES, TUNE_IMAGES, TUNE_SEED, nearest_array, tune_cache_dir, tune_to_setup,
                   tuned_for_setup, untuned, write_tuned)  # fmt: skip

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "TrainingConfig",
    "train",
    "adapt",
    "describe_observation",
    "tune_to_setup",
    "tuned_for_setup",
    "write_tuned",
    "calibrate_checkpoint",
    "evaluate_model",
    "record_beam",
    "CALIBRATION_SEED",
]
