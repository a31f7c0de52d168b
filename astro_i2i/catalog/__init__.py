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
                         local_peaks, posterior_catalog)  # fmt: skip
from ._reliability import DetectionSettings, ReliabilityModel, reliability_diagram
from ._segment import (CATALOG_COLUMNS, DEBLEND_MAX_FRACTION, find_sources, noise_sigma,
                       sky_model_threshold)  # fmt: skip

# ``__all__`` is what a user calls (and what the API reference lists); the other names imported above are
# public for astro-i2i's own packages, the benchmarks and tests, so that none of them reaches into a private module.
__all__ = [
    "posterior_catalog",
    "find_sources",
    "noise_sigma",
    "sky_model_threshold",
    "local_peaks",
    "matched_filter_snr",
    "refine_positions",
    "fit_fluxes",
    "gaussian_psf",
    "beam_scale",
    "DetectionSettings",
    "ReliabilityModel",
    "reliability_diagram",
    "POSTERIOR_COLUMNS",
    "CATALOG_COLUMNS",
]
