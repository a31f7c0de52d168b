"""Source catalogues (photutils; no torch).

- `find_sources`: segmentation catalogues of any image (sky models, restored
  CLEAN images, true skies);
- `posterior_catalog`: the catalogue of a network's reconstruction, with
  positions and fluxes measured on the dirty image and a calibrated
  reliability per source;
- the measurements it is made of (`matched_filter_snr`, `refine_positions`,
  `fit_fluxes`) and its typed settings (`DetectionSettings`,
  `ReliabilityModel`).
"""

from ._measure import DEFAULT_SOURCE_FWHM, REFERENCE_BEAM_FWHM, beam_scale, fit_fluxes, gaussian_psf, matched_filter_snr, refine_positions
from ._posterior import (FEATURES_DIRECT, FEATURES_SAMPLES, POSTERIOR_COLUMNS, REFINE_RADIUS, candidate_features,
                         posterior_catalog)  # fmt: skip
from ._reliability import DetectionSettings, ReliabilityModel, reliability_diagram
from ._segment import (CATALOG_COLUMNS, DEBLEND_MAX_FRACTION, find_sources, noise_sigma,
                       sky_model_threshold)  # fmt: skip

__all__ = [
    "find_sources",
    "noise_sigma",
    "sky_model_threshold",
    "CATALOG_COLUMNS",
    "DEBLEND_MAX_FRACTION",
    "matched_filter_snr",
    "refine_positions",
    "fit_fluxes",
    "gaussian_psf",
    "DEFAULT_SOURCE_FWHM",
    "REFERENCE_BEAM_FWHM",
    "beam_scale",
    "candidate_features",
    "posterior_catalog",
    "POSTERIOR_COLUMNS",
    "REFINE_RADIUS",
    "FEATURES_DIRECT",
    "FEATURES_SAMPLES",
    "DetectionSettings",
    "ReliabilityModel",
    "reliability_diagram",
]
