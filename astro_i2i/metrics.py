"""Scoring reconstructions: source matching, purity/completeness/F1, flux and pixel metrics.

numpy, scipy and astropy only.
"""

from dataclasses import dataclass, field

import numpy as np
from astropy import units as u
from astropy.table import Table
from scipy import optimize, stats

__all__ = ["match_sources", "match_radius", "score_catalogs", "CatalogScore", "psnr", "uncertainty_calibration",
           "DEFAULT_MATCH_RADIUS", "DEFAULT_SNR_BINS"]  # fmt: skip

#: Matching radius of the reference papers.
DEFAULT_MATCH_RADIUS = 0.18 * u.arcsec
#: Edges of the S/N bins (truth ``snr``) for binned completeness.
DEFAULT_SNR_BINS = (0.0, 2.0, 3.0, 5.0, 7.5, np.inf)


def _values(column, unit):
    """Plain floats in ``unit`` from a Quantity, a Column with a unit, or bare numbers (taken as ``unit``)."""
    if getattr(column, "unit", None) is None:
        return np.asarray(column, dtype=float)
    return u.Quantity(column).to_value(unit)


def _separation_arcsec(ra1, dec1, ra2, dec2):
    """Pairwise angular separations (Vincenty), arcsec; correct across RA = 0/360."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(a, dtype=float)) for a in (ra1, dec1, ra2, dec2))
    dra = ra2[np.newaxis, :] - ra1[:, np.newaxis]
    s1, c1 = np.sin(dec1)[:, np.newaxis], np.cos(dec1)[:, np.newaxis]
    s2, c2 = np.sin(dec2)[np.newaxis, :], np.cos(dec2)[np.newaxis, :]
    num = np.hypot(c2 * np.sin(dra), c1 * s2 - s1 * c2 * np.cos(dra))
    den = s1 * s2 + c1 * c2 * np.cos(dra)
    return np.degrees(np.arctan2(num, den)) * 3600


def match_radius(beam):
    """The matching radius for a set-up with this synthesized beam (a `~radio_beam.Beam` or None).

    `DEFAULT_MATCH_RADIUS` (0.21 of the default set-up's 0.856" beam) scaled
    with the beam as the catalogue's constants are (`~astro_i2i.catalog.beam_scale`):
    0.18" within 10 % of the reference beam or without one. Validation and
    calibration of a model adapted to another beam match at this radius
    (at a fixed 0.18", 0.15 of a Band 3 beam, the validation F1 was noise).

    Parameters
    ----------
    beam : `~radio_beam.Beam` or None
        The synthesized beam.

    Returns
    -------
    radius : `~astropy.units.Quantity`
        ``DEFAULT_MATCH_RADIUS * beam_scale(beam)``, arcsec.
    """
    from .catalog import beam_scale

    return DEFAULT_MATCH_RADIUS * beam_scale(beam)


def match_sources(detected, truth, *, radius=DEFAULT_MATCH_RADIUS):
    """One-to-one matching of detections to true sources within ``radius``.

    The assignment minimises the total separation (Hungarian algorithm), so a
    detection matches at most one source and vice versa: two detections near one
    source give one match and one false positive, one detection between two
    sources gives one match and one missed source.

    Parameters
    ----------
    detected, truth : `~astropy.table.Table`
        With ``ra`` and ``dec`` columns (deg, or Quantity).
    radius : `~astropy.units.Quantity`, optional

    Returns
    -------
    pairs : `~numpy.ndarray`, shape (n_matches, 2)
        Row indices ``(detected_index, truth_index)``.
    """
    radius = u.Quantity(radius, u.arcsec).value
    if radius <= 0:
        raise ValueError(f"radius must be positive, not {radius!r}")
    if len(detected) == 0 or len(truth) == 0:
        return np.zeros((0, 2), dtype=int)
    sep = _separation_arcsec(_values(detected["ra"], u.deg), _values(detected["dec"], u.deg),
                             _values(truth["ra"], u.deg), _values(truth["dec"], u.deg))  # fmt: skip
    cost = np.where(sep <= radius, sep, 1e6 * (1 + radius))
    rows, cols = optimize.linear_sum_assignment(cost)
    keep = sep[rows, cols] <= radius
    return np.stack([rows[keep], cols[keep]], axis=1)


@dataclass
class CatalogScore:
    """Purity, completeness and F1 over a set of images, with flux accuracy.

    Usually made by `score_catalogs`.

    Attributes
    ----------
    n_true : int
        True sources scored.
    n_detected : int
        Detections scored.
    n_matched : int
        One-to-one matches.
    flux_ratios : list of float
        Detected over true flux of each match.
    true_snr : list of float
        S/N of every true source (its ``snr`` column).
    matched_snr : list of float
        S/N of the true sources that were matched.
    snr_bins : tuple of float
        Edges of the S/N bins of `completeness_by_snr`
        (default ``DEFAULT_SNR_BINS``, 0, 2, 3, 5, 7.5, inf).
    """

    n_true: int = 0
    n_detected: int = 0
    n_matched: int = 0
    flux_ratios: list = field(default_factory=list)
    true_snr: list = field(default_factory=list)
    matched_snr: list = field(default_factory=list)
    snr_bins: tuple = DEFAULT_SNR_BINS

    @property
    def purity(self):
        return self.n_matched / self.n_detected if self.n_detected else float("nan")

    @property
    def completeness(self):
        return self.n_matched / self.n_true if self.n_true else float("nan")

    @property
    def f1(self):
        """Harmonic mean of purity and completeness; 0 when nothing matched (NaN only with nothing to score)."""
        if self.n_true == 0 and self.n_detected == 0:
            return float("nan")
        if self.n_matched == 0:
            return 0.0
        p, c = self.purity, self.completeness
        return 2 * p * c / (p + c)

    @property
    def flux_within_20_percent(self):
        """Fraction of matched sources whose flux is within 20 % of the truth."""
        ratios = np.asarray(self.flux_ratios)
        return float(np.mean(np.abs(ratios - 1) <= 0.2)) if ratios.size else float("nan")

    @property
    def median_relative_flux_error(self):
        ratios = np.asarray(self.flux_ratios)
        return float(np.median(np.abs(ratios - 1))) if ratios.size else float("nan")

    def completeness_by_snr(self):
        """List of (low, high, n_true, completeness) per S/N bin of the truth.

        Returns
        -------
        rows : list of tuple
            ``(low, high, n_true, completeness)`` per bin ``[low, high)`` of
            ``snr_bins``; completeness NaN for a bin without true sources.
        """
        true, matched = np.asarray(self.true_snr), np.asarray(self.matched_snr)
        rows = []
        for low, high in zip(self.snr_bins[:-1], self.snr_bins[1:]):
            n = int(np.sum((true >= low) & (true < high)))
            m = int(np.sum((matched >= low) & (matched < high)))
            rows.append((low, high, n, m / n if n else float("nan")))
        return rows

    def summary_lines(self, n_images):
        """Lines of text: P, C, F1, counts and flux accuracy, then completeness by S/N (``astro-i2i evaluate``).

        Parameters
        ----------
        n_images : int
            The number of images scored, for the first line.

        Returns
        -------
        lines : list of str
        """
        lines = [
            f"images: {n_images}",
            f"{'P':>7} {'C':>7} {'F1':>7} {'n_true':>7} {'n_det':>7} {'flux<=20%':>10} {'med|dS/S|':>10}",
            f"{100 * self.purity:7.2f} {100 * self.completeness:7.2f} {100 * self.f1:7.2f} {self.n_true:7d} "
            f"{self.n_detected:7d} {100 * self.flux_within_20_percent:9.1f}% {self.median_relative_flux_error:10.3f}",
            "completeness by S/N (truth snr = flux / 50 uJy):",
        ]
        for low, high, n, completeness in self.completeness_by_snr():
            label = f"[{low:g}, {high:g})" if high != float("inf") else f">= {low:g}"
            lines.append(f"  {label:>10}: {100 * completeness:6.1f} % of {n}")
        return lines

    def as_dict(self):
        """The figures as a JSON-ready dict.

        Returns
        -------
        figures : dict
            ``purity``, ``completeness``, ``f1``, ``n_true``, ``n_detected``,
            ``n_matched``, ``flux_within_20_percent``,
            ``median_relative_flux_error`` and ``completeness_by_snr`` (a list
            of dicts with ``snr_min``, ``snr_max``, ``n_true``, ``completeness``).
        """
        return {
            "purity": self.purity, "completeness": self.completeness, "f1": self.f1,
            "n_true": self.n_true, "n_detected": self.n_detected, "n_matched": self.n_matched,
            "flux_within_20_percent": self.flux_within_20_percent,
            "median_relative_flux_error": self.median_relative_flux_error,
            "completeness_by_snr": [{"snr_min": lo, "snr_max": hi, "n_true": n, "completeness": c}
                                    for lo, hi, n, c in self.completeness_by_snr()],
        }  # fmt: skip


def score_catalogs(detections, truth, *, radius=DEFAULT_MATCH_RADIUS, snr_bins=DEFAULT_SNR_BINS, images=None):
    """Score detected catalogues against the truth, image by image.

    Parameters
    ----------
    detections : dict
        Image index -> detected catalogue (``ra``, ``dec``, ``flux``). Every
        image listed is scored; an image without true sources (an empty field)
        contributes only false positives.
    truth : `~astropy.table.Table`
        All true sources, with an ``image`` column, ``ra``, ``dec``, ``flux``
        and ``snr``.
    radius : `~astropy.units.Quantity`, optional
    snr_bins : sequence of float, optional
    images : iterable of int, optional
        The images to score. An image listed here but missing from
        ``detections`` counts as one where nothing was found (its true
        sources stay in the completeness). Default: the images of
        ``detections`` (to score a subset of the truth table).

    Returns
    -------
    score : `CatalogScore`
    """
    score = CatalogScore(snr_bins=tuple(snr_bins))
    image_of_truth = np.asarray(truth["image"]).astype(int)
    scored = dict(detections)
    if images is not None:
        for image in images:
            scored.setdefault(int(image), Table({"ra": np.zeros(0), "dec": np.zeros(0), "flux": np.zeros(0)}))
    for image, detected in scored.items():
        true = truth[image_of_truth == int(image)]
        pairs = match_sources(detected, true, radius=radius)
        score.n_true += len(true)
        score.n_detected += len(detected)
        score.n_matched += len(pairs)
        snr = np.asarray(true["snr"], dtype=float) if len(true) else np.zeros(0)
        score.true_snr.extend(snr.tolist())
        if len(pairs):
            score.matched_snr.extend(snr[pairs[:, 1]].tolist())
            detected_flux = _values(detected["flux"], u.Jy)[pairs[:, 0]]
            true_flux = _values(true["flux"], u.Jy)[pairs[:, 1]]
            score.flux_ratios.extend((detected_flux / true_flux).tolist())
    return score


def psnr(estimate, truth, *, data_range=None):
    """Peak signal-to-noise ratio (dB) of ``estimate`` against ``truth`` over their finite pixels.

    Parameters
    ----------
    estimate, truth : array-like
        Images of the same shape and unit (e.g. Jy/pixel).
    data_range : float, optional
        The peak value range; default None, the peak-to-peak of ``truth``'s
        finite pixels.

    Returns
    -------
    psnr : float
        ``10 log10(data_range**2 / MSE)``, dB; inf when the MSE is 0.

    Raises
    ------
    ValueError
        The shapes differ.
    """
    estimate, truth = np.asarray(estimate, float), np.asarray(truth, float)
    if estimate.shape != truth.shape:
        raise ValueError(f"shapes differ: {estimate.shape} and {truth.shape}")
    finite = np.isfinite(estimate) & np.isfinite(truth)
    mse = np.mean((estimate[finite] - truth[finite]) ** 2)
    data_range = np.ptp(truth[finite]) if data_range is None else data_range
    return float(10 * np.log10(data_range**2 / mse)) if mse > 0 else float("inf")


def uncertainty_calibration(mean, sigma, truth, *, z=1.96):
    """How well an uncertainty map describes the actual errors.

    Parameters
    ----------
    mean : array-like
        The estimate (e.g. the mean sky, Jy/pixel).
    sigma : array-like
        Its per-pixel uncertainty, same unit.
    truth : array-like
        The true image, same unit; only pixels finite in all three count.
    z : float, optional
        Half-width of the interval in sigmas. Default 1.96.

    Returns
    -------
    result : dict
        ``coverage``: fraction of true pixel values within ``mean +- z sigma``
        (0.95 for a calibrated map at z = 1.96); ``spearman``: rank correlation
        of ``sigma`` with ``|mean - truth|``.
    """
    mean, sigma, truth = (np.asarray(a, float) for a in (mean, sigma, truth))
    finite = np.isfinite(mean) & np.isfinite(sigma) & np.isfinite(truth)
    if not finite.any():
        return {"coverage": float("nan"), "spearman": float("nan")}
    error = np.abs(mean[finite] - truth[finite])
    coverage = float(np.mean(error <= z * sigma[finite]))
    rho = stats.spearmanr(sigma[finite], error).statistic if finite.sum() > 2 else float("nan")
    return {"coverage": coverage, "spearman": float(rho)}
