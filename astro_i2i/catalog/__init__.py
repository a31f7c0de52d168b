"""Source catalogues (photutils; no torch).

- `find_sources`: segmentation catalogues of any image (sky models, restored
  CLEAN images, true skies);
- `posterior_catalog`: the catalogue of a network's reconstruction, with
  positions and fluxes measured on the dirty image and a calibrated
  reliability per source;
- the measurements it is made of (`matched_filter_snr`, `refine_positions`,
  `fit_fluxes`) and its typed settings (`DetectionSettings`,
  `ReliabilityModel`);
- the files other tools read: `write_catalog` (FITS, VOTable, ECSV, CSV, with
  each column's unit, description and UCD from `COLUMN_META`) and
  `write_regions` (DS9, CRTF).
"""

from ._columns import COLUMN_META, column_cards, columns_from_header, describe_columns
from ._files import CATALOG_FORMATS, REGION_FORMATS, catalog_format, regions_format, write_catalog, write_regions
from ._measure import (DEFAULT_SOURCE_FWHM, REFERENCE_BEAM_FWHM, SIZE_GRID_BEAMS, beam_scale, fit_fluxes, gaussian_psf,
                       matched_filter_snr, refine_positions, size_interval, size_profiles)  # fmt: skip
from ._posterior import (FEATURES_DIRECT, FEATURES_SAMPLES, POSTERIOR_COLUMNS, PRIOR_FEATURE, REFINE_RADIUS,
                         beam_fwhm_along_axes, candidate_features, local_peaks, local_rms, position_errors,
                         posterior_catalog, prior_scaled,
                         source_names)  # fmt: skip
from ._reliability import DetectionSettings, ReliabilityModel, beta_nodes, monotone_nodes, reliability_diagram
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
    "monotone_nodes",
    "beta_nodes",
    "POSTERIOR_COLUMNS",
    "CATALOG_COLUMNS",
    "write_catalog",
    "write_regions",
    "describe_columns",
    "COLUMN_META",
]
