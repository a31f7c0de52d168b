"""The style perturbation's calibration (stochastic models)."""

import numpy as np

from ..metrics import uncertainty_calibration
from ..reconstruct import reconstruct_sky

__all__ = ["calibrate_sigma_style", "SIGMA_STYLE_GRID", "SAMPLES"]

SAMPLES = 10  #: style samples K of the sampled mode
SIGMA_STYLE_GRID = (0.01, 0.02, 0.03, 0.05, 0.1, 0.125, 0.15, 0.175, 0.2, 0.3, 0.5, 1.0, 2.0)


def calibrate_sigma_style(model, normalisation, images, *, samples=SAMPLES, target=0.95, grid=SIGMA_STYLE_GRID,
                          device="cpu"):  # fmt: skip
    """The style perturbation whose uncertainty map is best calibrated on ``images``.

    For each ``sigma_style`` in ``grid``, the coverage (fraction of true pixel
    values within mean +- 1.96 std of ``samples`` reconstructions, inside the
    primary-beam limit) is measured; the value closest to ``target`` wins.

    Returns
    -------
    sigma_style : float
    table : list of (sigma_style, coverage)
    """
    table = []
    for sigma in grid:
        coverage = []
        for i, image in enumerate(images):
            mean, std = reconstruct_sky(model, normalisation, image["dirty"], samples=samples, sigma_style=sigma,
                                        seed=i, device=device)  # fmt: skip
            coverage.append(uncertainty_calibration(mean, std, image["sky"])["coverage"])
        table.append((float(sigma), float(np.mean(coverage))))
    best = min(table, key=lambda row: abs(row[1] - target))
    return best[0], table
