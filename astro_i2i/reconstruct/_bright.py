"""The CLEANed bright emission's share of the uncertainty map (`astro_i2i.deconvolve`)."""

import numpy as np

__all__ = ["bright_uncertainty", "BRIGHT_UNCERTAINTY_FRACTION"]

#: On bright pixels the uncertainty adds this fraction of the bright sky in quadrature
#: (measured on simulated fields: benchmarks/fields.py, docs/benchmarks.rst).
BRIGHT_UNCERTAINTY_FRACTION = 0.5


def bright_uncertainty(uncertainty, bright_part):
    """The uncertainty map with the bright emission's share added in quadrature."""
    return np.sqrt(uncertainty**2 + (BRIGHT_UNCERTAINTY_FRACTION * np.nan_to_num(bright_part)) ** 2).astype(np.float32)
