"""One progress convention for every long call (no torch).

Every function that takes a while takes ``progress``:

- ``None`` or ``False``: nothing is shown;
- ``True``: a `tqdm` bar on stderr;
- a callable: called as ``progress(done, total)`` after each unit of work (a tile of
  `Reconstructor.reconstruct`, a channel of a cube, an image of ``write_dataset``, a
  file of ``reconstruct_many``, a step of ``train``), ``done`` counting from 1.
"""

__all__ = ["Progress", "check_progress"]


def check_progress(progress, name="progress"):
    """``progress`` if it follows the convention, else `TypeError` quoting it."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress
    raise TypeError(f"{name} must be None, True, False or a callable (done, total), not {progress!r}")


class Progress:
    """A progress report of ``total`` units under the convention (module docstring).

    Parameters
    ----------
    progress : None, bool or callable
    total : int
    desc, unit : str
        The bar's label and unit.
    initial : int, optional
        Units already done (a resumed run).
    """

    def __init__(self, progress, total, *, desc, unit, initial=0):
        progress = check_progress(progress)
        self.done, self.total = int(initial), int(total)
        self._call = progress if callable(progress) and not isinstance(progress, bool) else None
        self._bar = None
        if progress is True:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, initial=self.done, desc=desc, unit=unit, dynamic_ncols=True)

    def update(self, n=1, **postfix):
        """``n`` more units done; ``postfix`` (e.g. ``loss=...``) goes on the bar."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix(**postfix)
        if self._call is not None:
            self._call(self.done, self.total)

    def close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
