"""Calibrated source reliability and the typed detection settings that carry it (no torch).

A `ReliabilityModel` is a logistic regression from a candidate's features to
the probability that it is a real source (a true source within the matching
radius). It is fitted on freshly simulated images by
`astro_i2i.training.calibrate_checkpoint` and stored, with the rest of the
`DetectionSettings`, in a model's checkpoint.
"""

import dataclasses
from dataclasses import asdict, dataclass

import numpy as np
from scipy import optimize

__all__ = ["ReliabilityModel", "DetectionSettings", "reliability_diagram", "monotone_nodes", "beta_nodes"]


@dataclass(frozen=True)
class ReliabilityModel:
    """A logistic model of the probability that a candidate is real, over named features.

    ``P(real) = 1 / (1 + exp(-(sum_i w_i (f_i - mean_i) / scale_i + bias)))``.

    Attributes
    ----------
    features : tuple of str
        Names of the features, in the order of ``weights``.
    mean, scale, weights : tuple of float
    bias : float
    recalibration : tuple of (float, float)
        ``(logistic output, reliability)`` nodes of a monotone correction
        (`recalibrate`); empty: none.
    """

    features: tuple
    mean: tuple
    scale: tuple
    weights: tuple
    bias: float
    recalibration: tuple = ()

    def __post_init__(self):
        n = len(self.features)
        for name in ("mean", "scale", "weights"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"ReliabilityModel.{name} has {len(getattr(self, name))} values for {n} features")
        object.__setattr__(self, "features", tuple(str(f) for f in self.features))
        for name in ("mean", "scale", "weights"):
            object.__setattr__(self, name, tuple(float(v) for v in getattr(self, name)))
        object.__setattr__(self, "recalibration", tuple(tuple(float(v) for v in node) for node in self.recalibration))

    def predict(self, features):
        """Reliabilities for a mapping ``name -> array`` (or a table) of features.

        Parameters
        ----------
        features : mapping or `~astropy.table.Table`
            A column for each of ``self.features``; NaN are taken as 0.

        Returns
        -------
        reliability : `~numpy.ndarray`
            P(real) per candidate, in [0, 1], after the recalibration if any.
        """
        columns = [np.nan_to_num(np.asarray(features[name], dtype=float)) for name in self.features]
        if not columns:
            raise ValueError("a ReliabilityModel needs at least one feature")
        z = (np.column_stack(columns) - np.asarray(self.mean)) / np.asarray(self.scale)
        probability = 1 / (1 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))
        if self.recalibration:
            nodes = np.asarray(self.recalibration)
            probability = np.interp(probability, nodes[:, 0], nodes[:, 1])
        return probability

    def recalibrate(self, features, labels, *, min_count=40):
        """A copy whose outputs are mapped onto the observed fraction of real candidates.

        The map is `monotone_nodes` of the logistic output of ``features``. On
        the shipped 2-to-1 model the plain logistic put real fractions of 0.31
        at 0.24 and 0.84 at 0.94 on its own calibration images; bins of equal
        count left the sparse top of the range with one node and the same
        error there.

        Parameters
        ----------
        features : mapping or `~astropy.table.Table`
            The candidates' features (a column for each of ``self.features``).
        labels, min_count
            As for `monotone_nodes`.

        Returns
        -------
        model : `ReliabilityModel`
            A copy with ``recalibration`` set (any earlier one is replaced).
        """
        plain = dataclasses.replace(self, recalibration=())
        nodes = monotone_nodes(plain.predict(features), labels, min_count=min_count)
        return dataclasses.replace(self, recalibration=nodes)

    @classmethod
    def fit(cls, features, labels, *, names, l2=1e-3):
        """Maximum-likelihood logistic regression (with a small L2 penalty) of ``labels`` (0/1) on ``features``.

        Parameters
        ----------
        features : mapping or `~astropy.table.Table`
            A column per name in ``names``; NaN are taken as 0.
        labels : array-like
            1-D, 1 for real and 0 for spurious candidates; both must occur.
        names : sequence of str
            The features to use, in order.
        l2 : float, optional
            L2 penalty on the weights (not the bias), on standardised
            features. Default 1e-3.

        Returns
        -------
        model : `ReliabilityModel`
            The fit, without recalibration.

        Raises
        ------
        ValueError
            ``labels`` empty, not 1-D, or all of one class.
        """
        labels = np.asarray(labels, dtype=float)
        if labels.ndim != 1 or not len(labels):
            raise ValueError("labels must be a non-empty 1-D array")
        if labels.min() == labels.max():
            raise ValueError("labels must contain both real (1) and spurious (0) candidates")
        x = np.column_stack([np.nan_to_num(np.asarray(features[name], dtype=float)) for name in names])
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        z = np.column_stack([(x - mean) / scale, np.ones(len(x))])

        def objective(w):
            s = z @ w
            loss = np.mean(np.logaddexp(0, s) - labels * s) + l2 * np.sum(w[:-1] ** 2)
            p = 1 / (1 + np.exp(-s))
            gradient = z.T @ (p - labels) / len(labels)
            gradient[:-1] += 2 * l2 * w[:-1]
            return loss, gradient

        result = optimize.minimize(objective, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B")
        return cls(tuple(names), tuple(mean), tuple(scale), tuple(result.x[:-1]), float(result.x[-1]))

    def to_dict(self):
        """The model as plain lists and floats (for YAML and checkpoints); `from_dict` reads it back.

        Returns
        -------
        values : dict
        """
        values = {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}
        values["recalibration"] = [list(node) for node in self.recalibration]
        return values

    @classmethod
    def from_dict(cls, values):
        """A `ReliabilityModel` from the output of `to_dict`.

        Parameters
        ----------
        values : dict
            The fields by name.

        Returns
        -------
        model : `ReliabilityModel`
        """
        return cls(**values)


def reliability_diagram(reliability, labels, *, bins=10, min_count=10):
    """Predicted reliability against the observed fraction of real sources, per bin.

    Parameters
    ----------
    reliability : array-like
        Predicted reliabilities, in [0, 1].
    labels : array-like
        1 for a real detection, 0 for a spurious one.
    bins : int, optional
        Equal-width bins over [0, 1]. Default 10.
    min_count : int, optional
        Bins with fewer detections are left out. Default 10.

    Returns
    -------
    rows : list of dict
        ``low``, ``high``, ``n``, ``predicted`` (mean reliability) and
        ``observed`` (fraction real) for every bin with at least ``min_count``
        detections.
    """
    reliability, labels = np.asarray(reliability, dtype=float), np.asarray(labels, dtype=float)
    edges = np.linspace(0, 1, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (reliability >= low) & ((reliability < high) | (high == 1) & (reliability <= 1))
        if inside.sum() >= min_count:
            rows.append({"low": float(low), "high": float(high), "n": int(inside.sum()),
                         "predicted": float(reliability[inside].mean()), "observed": float(labels[inside].mean())})  # fmt: skip
    return rows


def monotone_nodes(output, labels, *, min_count=40):
    """Nodes ``(output, observed fraction)`` of a monotone map of predicted probabilities onto observed ones.

    ``output`` is cut at 0.02, 0.05, 0.1, 0.15 and then every 0.1; bins with
    fewer than ``min_count`` candidates are merged with their neighbour; the
    fraction of real candidates per bin, made monotone by
    pool-adjacent-violators, gives nodes at the bins' mean outputs (the ends
    pinned to ``(0, 0)`` and ``(1, 1)``), to be interpolated linearly.

    Parameters
    ----------
    output : array-like
        Predicted probabilities in [0, 1].
    labels : array-like
        1 for a real candidate, 0 for a spurious one.
    min_count : int, optional
        Fewest candidates in a bin. Default 40.

    Returns
    -------
    nodes : tuple of (float, float)
    """
    output = np.asarray(output, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if output.shape != labels.shape:
        raise ValueError(f"output and labels differ in shape: {output.shape} and {labels.shape}")
    edges = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 + 1e-9]
    groups, pending = [], np.zeros(0, dtype=int)
    for low, high in zip(edges[:-1], edges[1:]):
        pending = np.concatenate([pending, np.flatnonzero((output >= low) & (output < high))])
        if len(pending) >= min_count:
            groups.append(pending)
            pending = np.zeros(0, dtype=int)
    if len(pending):
        if groups:
            groups[-1] = np.concatenate([groups[-1], pending])
        else:
            groups.append(pending)
    # pool adjacent violators: a non-decreasing fit of the observed fractions
    merged = []
    for group in groups:
        merged.append([float(output[group].mean()), float(labels[group].mean()), len(group)])
        while len(merged) > 1 and merged[-2][1] > merged[-1][1]:
            (x1, y1, w1), (x2, y2, w2) = merged[-2], merged[-1]
            merged[-2:] = [[(x1 * w1 + x2 * w2) / (w1 + w2), (y1 * w1 + y2 * w2) / (w1 + w2), w1 + w2]]
    nodes = [(0.0, 0.0)] + [(x, y) for x, y, _ in merged] + [(1.0, 1.0)]
    return tuple(node for i, node in enumerate(nodes) if i == 0 or node[0] > nodes[i - 1][0])


#: Where `beta_nodes` samples its map: dense near 0 and 1, where most candidates lie, every 0.02 between.
_BETA_GRID = np.unique(np.concatenate([[0.0, 0.001, 0.002, 0.005, 0.01, 0.015], np.arange(0.02, 0.981, 0.02),
                                       [0.985, 0.99, 0.995, 0.998, 0.999, 1.0]]))  # fmt: skip


def _beta_features(output):
    output = np.clip(np.asarray(output, dtype=float), 1e-6, 1 - 1e-6)
    return np.column_stack([np.log(output), -np.log1p(-output), np.ones(len(output))])


def beta_nodes(output, labels):
    """Nodes ``(output, reliability)`` of a beta calibration of predicted probabilities onto observed ones.

    The map is ``logit P = a ln(output) - b ln(1 - output) + c`` (Kull, Silva Filho & Flach 2017), fitted by
    maximum likelihood to the labels with ``a, b >= 0``, so that it is monotone and takes 0 to 0 and 1 to 1;
    it is returned sampled at 61 outputs, to be interpolated linearly as `monotone_nodes` is. Three
    parameters fitted on every candidate, against the pooled bins of `monotone_nodes`: a set-up's tuning
    holds few candidates between the many spurious ones near 0 and the bright sources near 1, and binned
    there, its map was up to 24 points off on C43-8's test images (``benchmarks/studies/reliability_maps.py``).

    Parameters
    ----------
    output : array-like
        Predicted probabilities in [0, 1].
    labels : array-like
        1 for a real candidate, 0 for a spurious one; both must occur.

    Returns
    -------
    nodes : tuple of (float, float)
    """
    output = np.asarray(output, dtype=float)
    labels = np.asarray(labels, dtype=float)
    if output.shape != labels.shape or output.ndim != 1:
        raise ValueError(f"output and labels must be 1-D of one shape, not {output.shape} and {labels.shape}")
    if not len(labels) or labels.min() == labels.max():
        raise ValueError("labels must contain both real (1) and spurious (0) candidates")
    x = _beta_features(output)

    def objective(w):
        s = x @ w
        return np.mean(np.logaddexp(0, s) - labels * s), x.T @ (1 / (1 + np.exp(-s)) - labels) / len(labels)

    w = optimize.minimize(objective, np.array([1.0, 1.0, 0.0]), jac=True, method="L-BFGS-B",
                          bounds=[(0, None), (0, None), (None, None)]).x  # fmt: skip
    mapped = 1 / (1 + np.exp(-(_beta_features(_BETA_GRID) @ w)))
    mapped[0], mapped[-1] = 0.0, 1.0
    return tuple((float(a), float(b)) for a, b in zip(_BETA_GRID, np.maximum.accumulate(mapped)))


@dataclass(frozen=True)
class DetectionSettings:
    """How a catalogue is made from a reconstruction with ``samples`` style samples.

    Attributes
    ----------
    samples : int
        K these settings were calibrated for (1: direct mode).
    candidate_nsigma : float
        Candidates are peaks of the sky model above this many dirty-image
        noise sigmas per beam area (`~astro_i2i.catalog.sky_model_threshold`).
    reliability : `ReliabilityModel` or None
        None: not calibrated; every candidate gets reliability NaN and only
        ``candidate_nsigma`` selects.
    min_reliability : float
        The default operating point: the cut that maximised F1 on the
        calibration images.
    flux_scale : float
        Fitted fluxes are multiplied by this: the median true / fitted flux of
        the calibration images' sources above 7.5 x 50 uJy, which corrects the
        Gaussian-beam template for the real PSF and the sources' spread of sizes
        (not the Eddington bias of fainter sources, which depends on the truth).
    flux_err_scale : float
        ``flux_err`` is this times the thermal error of the flux fit
        (calibrated so that 95 % of true fluxes lie within 1.96 flux_err).
    source_fwhm_arcsec : float or None
        FWHM (arcsec) of the matched filter that refines positions and of the
        flux fit's source: the typical source of the model's training
        population (the middle of its size range). None: the default set-up's
        0.6" scaled with the beam (`~astro_i2i.catalog.beam_scale`).
    reliability_radius_beams : float or None
        What ``reliability`` means: the probability that a true source lies
        within this many beam FWHM (the geometric mean of the axes) of the
        entry; 0.5 since 0.3. None: a checkpoint calibrated before, at the
        benchmark's 0.18" (0.21 beam) scaled with the beam.
    benchmark_min_reliability : float or None
        The cut that maximised F1 at the benchmark's matching radius
        (`~astro_i2i.metrics.match_radius`, 0.18" at the default set-up):
        the operating point of the benchmark's figures. None: ``min_reliability``.
    position_err_scale : float or None
        ``ra_err`` (``dec_err``) is ``hypot(position_err_scale * FWHM / mf_snr,
        position_err_floor_arcsec)``, FWHM the beam's extent along RA (Dec):
        calibrated so that 95 % of real sources have their true position within
        1.96 ra_err (dec_err). None: not calibrated, the errors are NaN.
    position_err_floor_arcsec : float
        The floor of the position errors (arcsec), calibrated with the scale.
    size_chi2_threshold : float or None
        The size fit's chi-square difference (`~astro_i2i.catalog.size_interval`)
        whose interval holds 95 % of real sources' true deconvolved FWHM. None:
        not calibrated, faint sources get no size.
    size_err_scale : float
        A resolved faint source's ``size_err`` is this times its interval's
        half-width over 1.96 (calibrated: 95 % of true FWHMs within
        ``fwhm_maj +- 1.96 size_err``).
    setup_recalibration : tuple of (float, float)
        Nodes of a monotone map of the final reliability (after the prior)
        onto the fraction of real candidates observed on simulated images of
        a user's own set-up (`~astro_i2i.training.tune_to_setup`); empty: none.
    """

    samples: int = 1
    candidate_nsigma: float = 1.0
    reliability: ReliabilityModel | None = None
    min_reliability: float = 0.0
    flux_scale: float = 1.0
    flux_err_scale: float = 1.0
    source_fwhm_arcsec: float | None = None
    reliability_radius_beams: float | None = None
    benchmark_min_reliability: float | None = None
    position_err_scale: float | None = None
    position_err_floor_arcsec: float = 0.0
    size_chi2_threshold: float | None = None
    size_err_scale: float = 1.0
    setup_recalibration: tuple = ()

    def __post_init__(self):
        nodes = tuple(tuple(float(v) for v in node) for node in self.setup_recalibration)
        if any(len(node) != 2 for node in nodes) or any(b[0] <= a[0] for a, b in zip(nodes, nodes[1:])):
            raise ValueError(f"setup_recalibration must be (output, reliability) pairs with increasing outputs, "
                             f"not {self.setup_recalibration!r}")  # fmt: skip
        object.__setattr__(self, "setup_recalibration", nodes)
        if isinstance(self.reliability, dict):
            object.__setattr__(self, "reliability", ReliabilityModel.from_dict(self.reliability))
        if int(self.samples) < 1:
            raise ValueError(f"samples must be >= 1, not {self.samples!r}")
        if not self.candidate_nsigma > 0:
            raise ValueError(f"candidate_nsigma must be positive, not {self.candidate_nsigma!r}")
        if not 0 <= self.min_reliability <= 1:
            raise ValueError(f"min_reliability must lie in [0, 1], not {self.min_reliability!r}")
        if not (self.flux_scale > 0 and self.flux_err_scale > 0):
            raise ValueError(f"flux_scale and flux_err_scale must be positive: {self.flux_scale!r}, "
                             f"{self.flux_err_scale!r}")  # fmt: skip
        if self.source_fwhm_arcsec is not None and not self.source_fwhm_arcsec > 0:
            raise ValueError(f"source_fwhm_arcsec must be positive or None, not {self.source_fwhm_arcsec!r}")
        for name in ("reliability_radius_beams", "position_err_scale", "size_chi2_threshold"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive or None, not {value!r}")
        if self.benchmark_min_reliability is not None and not 0 <= self.benchmark_min_reliability <= 1:
            raise ValueError(f"benchmark_min_reliability must lie in [0, 1] or be None, not "
                             f"{self.benchmark_min_reliability!r}")  # fmt: skip
        if not self.size_err_scale > 0:
            raise ValueError(f"size_err_scale must be positive, not {self.size_err_scale!r}")
        if not self.position_err_floor_arcsec >= 0:
            raise ValueError(f"position_err_floor_arcsec must be >= 0, not {self.position_err_floor_arcsec!r}")

    def recalibrated(self, reliability):
        """``reliability`` mapped by `setup_recalibration` (unchanged without one)."""
        if not self.setup_recalibration:
            return reliability
        nodes = np.asarray(self.setup_recalibration)
        return np.interp(reliability, nodes[:, 0], nodes[:, 1])

    @property
    def benchmark_cut(self):
        """The benchmark's operating point: ``benchmark_min_reliability``, else ``min_reliability``."""
        return self.min_reliability if self.benchmark_min_reliability is None else self.benchmark_min_reliability

    def reliability_meaning(self, beam=None):
        """What ``reliability`` is the probability of, in words (the catalogue column's description).

        Parameters
        ----------
        beam : `~radio_beam.Beam`, optional
            Gives the radius in arcsec too.

        Returns
        -------
        text : str
        """
        if self.reliability is None:
            return "not calibrated (NaN)"
        if self.reliability_radius_beams is None:
            return "calibrated probability that a true source lies within 0.18\" (scaled with the beam) of the entry"
        radius = f"{self.reliability_radius_beams:g} beam FWHM"
        if beam is not None:
            fwhm = float(np.sqrt(beam.major.to_value("arcsec") * beam.minor.to_value("arcsec")))
            radius += f", {self.reliability_radius_beams * fwhm:.2f}\""
        return f"calibrated probability that a true source lies within {radius} of the entry"

    def to_dict(self):
        """The settings as a plain dict (the reliability model's too); `from_dict` reads it back.

        Returns
        -------
        values : dict
        """
        values = asdict(self)
        values["reliability"] = None if self.reliability is None else self.reliability.to_dict()
        values["setup_recalibration"] = [list(node) for node in self.setup_recalibration]
        return values

    @classmethod
    def from_dict(cls, values):
        """`DetectionSettings` from the output of `to_dict` (``reliability`` may be a dict).

        Parameters
        ----------
        values : dict
            The fields by name.

        Returns
        -------
        settings : `DetectionSettings`
        """
        return cls(**values)
