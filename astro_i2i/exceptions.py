"""Exceptions and warnings raised by astro-i2i for problems with the user's input or data."""

import os
import sys
import warnings

from astropy.utils.exceptions import AstropyUserWarning

__all__ = ["warn_user", "InputError", "AstroI2IWarning", "BeamWarning", "CalibrationWarning", "SetupWarning",
           "PrimaryBeamWarning", "BrightSourceWarning", "ChannelWarning"]


class InputError(ValueError):
    """Bad input: a file, an option or a value that astro-i2i cannot use.

    The message always starts with the name of the offending file or option,
    so that ``str(error)`` is a complete one-line explanation.

    Parameters
    ----------
    source : str
        The file (or option) the problem is in.
    problem : str
        What is wrong, in a few words.
    """

    def __init__(self, source, problem):
        self.source = str(source)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.source}: {self.problem}")


class AstroI2IWarning(AstropyUserWarning):
    """A problem with the data that astro-i2i works around (the base class of its warnings)."""


class BeamWarning(AstroI2IWarning):
    """The beam is missing or differs from the model's."""


class CalibrationWarning(AstroI2IWarning):
    """A model's inference settings were not calibrated for what is asked of them."""


class SetupWarning(AstroI2IWarning):
    """The observation differs from the set-up the model was trained on (``astro-i2i adapt`` fits one to it)."""


class PrimaryBeamWarning(AstroI2IWarning):
    """The image looks primary-beam corrected (its noise grows towards the edge as 1 / PB)."""


class BrightSourceWarning(AstroI2IWarning):
    """A source is much brighter than the model's training population: the sky model saturates near it."""


class ChannelWarning(AstroI2IWarning):
    """A channel of a cube could not be reconstructed (all blank or all zero) and is passed through as NaN."""


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_user(message, category):
    """``warnings.warn(message, category)`` pointing at the first caller outside astro-i2i.

    However deep inside the package the warning arises (a cube's channel, a
    many-file task), it is reported at the user's line, as a warning from a
    library's public function should be.

    Parameters
    ----------
    message : str
    category : type
        An `AstroI2IWarning` subclass.
    """
    frame, level = sys._getframe(1), 2  # stacklevel 2: warn_user's caller
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
