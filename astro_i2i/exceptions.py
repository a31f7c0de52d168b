"""Exceptions raised by astro-i2i for problems with the user's input."""

__all__ = ["InputError"]


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
