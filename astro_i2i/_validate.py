"""Argument checks shared by the public functions (no torch): each raises `TypeError` or `ValueError` quoting the value.

One helper per kind of argument, as photutils' and reproject's public
functions validate their inputs once with shared helpers. Every
positive-integer argument (samples, steps, batch_size, threads, block, n, ...)
goes through `positive_int`, every count that may be 0 through `non_negative_int`.
"""

import numbers

__all__ = ["positive_int", "non_negative_int", "unit_interval"]


def positive_int(value, name, *, optional=False):
    """``value`` as an `int` >= 1 (None passes through when ``optional``).

    Integers of any kind (`int`, `numpy.integer`) are accepted; `bool`, floats
    and strings are not, even when their value is a whole number, so that
    ``samples=True`` or ``samples=2.5`` is not silently read as 1 or 2.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the message.
    optional : bool, optional
        Accept None (returned as it is).

    Returns
    -------
    value : int or None

    Raises
    ------
    ValueError
        If ``value`` is not an integer, or is below 1 (one error for both: the
        message says what was given).
    """
    return _integer(value, name, 1, "a positive integer", optional)


def non_negative_int(value, name, *, optional=False):
    """``value`` as an `int` >= 0; otherwise as `positive_int`."""
    return _integer(value, name, 0, "an integer >= 0", optional)


def _integer(value, name, minimum, kind, optional):
    """`positive_int` and `non_negative_int`'s check: an integer (not a `bool`) of at least ``minimum``."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be {kind}, not {value!r}")
    return int(value)


def unit_interval(value, name, *, optional=False):
    """``value`` as a `float` in [0, 1] (None passes through when ``optional``).

    ``value``, ``name`` and ``optional`` are as for `positive_int`; the value
    must be a real number (not a `bool`).

    Returns
    -------
    value : float or None

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it lies outside [0, 1] (NaN included).
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], not {value!r}")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must lie in [0, 1], not {value!r}")
    return float(value)
