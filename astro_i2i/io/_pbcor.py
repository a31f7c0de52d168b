"""Is a dirty image primary-beam corrected? Its noise then grows towards the edge as 1 / PB (no torch)."""

import warnings

import numpy as np
from astropy.stats import mad_std

from ..exceptions import InputError, PrimaryBeamWarning

__all__ = ["check_not_pb_corrected", "undo_pb_correction", "pb_noise_ratios", "PBCOR_INNER", "PBCOR_OUTER",
           "PBCOR_MIN_PIXELS", "PBCOR_MIN_PREDICTED", "PBCOR_MAX_PIXELS"]

#: The check compares the robust noise where the primary beam is below ``PBCOR_OUTER`` with that where it is at
#: least ``PBCOR_INNER``, when each zone holds ``PBCOR_MIN_PIXELS`` finite pixels and 1 / PB predicts a growth of
#: at least ``PBCOR_MIN_PREDICTED`` (images cut at PB 0.2 predict 3.1).
PBCOR_INNER, PBCOR_OUTER, PBCOR_MIN_PIXELS, PBCOR_MIN_PREDICTED = 0.8, 0.4, 1000, 1.5
PBCOR_MAX_PIXELS = 200_000


def pb_noise_ratios(data, pb):
    """Robust noise where PB < `PBCOR_OUTER` over that where PB >= `PBCOR_INNER`, and what 1 / PB predicts for it.

    None without a primary beam or with fewer than `PBCOR_MIN_PIXELS` finite pixels in either zone (an image
    that does not reach the primary beam's edge says nothing).
    """
    if pb is None:
        return None
    data, pb = np.asarray(data, dtype=float), np.asarray(pb, dtype=float)
    finite = np.isfinite(data) & np.isfinite(pb) & (pb > 0)
    inner, outer = finite & (pb >= PBCOR_INNER), finite & (pb < PBCOR_OUTER)
    if min(inner.sum(), outer.sum()) < PBCOR_MIN_PIXELS:
        return None
    rng = np.random.default_rng(0)
    # At most PBCOR_MAX_PIXELS a zone (a fixed subset): a 16-megapixel image is checked as fast as a small one.
    inner, outer = (np.flatnonzero(zone) for zone in (inner, outer))
    inner, outer = (np.sort(rng.choice(zone, PBCOR_MAX_PIXELS, replace=False)) if zone.size > PBCOR_MAX_PIXELS
                    else zone for zone in (inner, outer))  # fmt: skip
    data, pb = data.ravel(), pb.ravel()
    low = float(mad_std(data[inner]))
    if not low > 0:
        return None
    measured = float(mad_std(data[outer])) / low
    # What flat noise divided by this PB would give, the same robust way (a mixture of widths, not their mean).
    predicted = float(mad_std(rng.standard_normal(outer.size) / pb[outer]) /
                      mad_std(rng.standard_normal(inner.size) / pb[inner]))  # fmt: skip
    return measured, predicted


def _verdict(ratios):
    """True (corrected), False (not) or None (the image cannot tell) from `pb_noise_ratios`."""
    if ratios is None or ratios[1] < PBCOR_MIN_PREDICTED:
        return None
    measured, predicted = ratios
    # Halfway (on a log scale) from flat noise to 1 / PB's growth. CASA-made images of two set-ups (17 images):
    # 0.87-1.05 as made, 2.70-3.30 divided by their .pb, against 3.14-3.18 predicted (cut 1.77); 200 simulated
    # fields, half with 2-20 mJy sources anywhere in the disc: 0.79-1.41 as made, 2.45-4.40 divided
    # (docs/reconstruct.rst).
    return bool(np.log(measured) >= 0.5 * np.log(predicted))


def check_not_pb_corrected(name, data, pb, *, force=None, stacklevel=3):
    """Refuse an image whose noise grows towards the edge as 1 / PB (with ``force=True``, warn instead).

    ``force=None``: the caller has no way to go on, and the message offers none.

    Parameters
    ----------
    name : str
        The image's name, for the message.
    data : `~numpy.ndarray`
        The image (Jy/beam).
    pb : `~numpy.ndarray`
        The primary beam on the image's grid.
    force : bool or None, optional
        True: warn (`~astro_i2i.exceptions.PrimaryBeamWarning`) instead of
        raising; False: raise, the message offering ``pb_corrected=True`` or
        ``force=True``; None (default): raise, offering neither.
    stacklevel : int, optional
        Stack level of the warning. Default 3.

    Raises
    ------
    `~astro_i2i.exceptions.InputError`
        The image looks primary-beam corrected and ``force`` is not True.
    """
    ratios = pb_noise_ratios(data, pb)
    if not _verdict(ratios):
        return
    measured, predicted = ratios
    problem = (f"looks primary-beam corrected: its noise is {measured:.1f}x higher where the primary beam is below "
               f"{PBCOR_OUTER:g} than above {PBCOR_INNER:g} (1 / PB predicts {predicted:.1f}x)")  # fmt: skip
    remedy = "; astro-i2i needs the image before the correction (tclean's .image, not .image.pbcor, or this one " \
             "times the primary beam)"  # fmt: skip
    if not force:
        escape = ", or give pb_corrected=True with that primary beam, or use force=True to go on"
        raise InputError(name, problem + remedy + (escape if force is False else ""))
    warnings.warn(f"{name}: {problem}; forced", PrimaryBeamWarning, stacklevel=stacklevel)


def undo_pb_correction(name, data, pb):
    """A primary-beam corrected image times its primary beam (NaN where the beam is not positive).

    Refused when the image's noise does not grow towards the edge as 1 / PB (it was not corrected).

    Parameters
    ----------
    name : str
        The image's name, for messages.
    data : `~numpy.ndarray`
        The primary-beam corrected image.
    pb : `~numpy.ndarray`
        The primary beam on the image's grid.

    Returns
    -------
    data : `~numpy.ndarray`
        ``data * pb`` in ``data``'s dtype; NaN where ``pb`` is not finite or
        not positive.

    Raises
    ------
    `~astro_i2i.exceptions.InputError`
        The image looks uncorrected, or no pixel is finite where the primary
        beam is positive.
    """
    ratios = pb_noise_ratios(data, pb)
    if _verdict(ratios) is False:
        raise InputError(name, f"pb_corrected=True, but its noise does not grow towards the edge as 1 / PB "
                               f"({ratios[0]:.1f}x where the primary beam is below {PBCOR_OUTER:g}, against "
                               f"{ratios[1]:.1f}x if corrected): it looks uncorrected; drop pb_corrected=True")  # fmt: skip
    data, pb = np.asarray(data), np.asarray(pb, dtype=float)
    usable = np.isfinite(pb) & (pb > 0)
    out = np.where(usable, data * np.where(usable, pb, 0), np.nan).astype(data.dtype)
    if not np.isfinite(out).any():
        raise InputError(name, "no pixel is finite where the primary beam is positive")
    return out
