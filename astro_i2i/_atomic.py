"""Atomic creation of output files: a temporary file, then a rename."""

import contextlib
import os
import tempfile
from pathlib import Path

from .exceptions import InputError

__all__ = ["check_output_path", "atomic_output"]


def check_output_path(path, *, overwrite=False):
    """Raise `InputError` unless ``path`` can be written.

    Parameters
    ----------
    path : str or path-like
        The output file.
    overwrite : bool, optional
        Whether an existing file may be replaced.

    Returns
    -------
    path : `pathlib.Path`
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a directory, not an output file name")
    if path.exists() and not overwrite:
        raise InputError(path, "output file exists (use --overwrite / overwrite=True to replace it)")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(path, f"output directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK):
        raise InputError(path, f"output directory '{parent}' is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path, *, overwrite=False):
    """Context manager yielding a temporary path that becomes ``path`` on success.

    The temporary file is created in the same directory, so the final rename is
    atomic. If the block raises, the temporary file is removed and ``path`` is
    untouched. Without ``overwrite`` an existing file is never replaced, even if
    it appears while the block runs.
    """
    path = check_output_path(path, overwrite=overwrite)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise InputError(path, "output file exists (use --overwrite / overwrite=True to replace it)") from None
            except OSError:
                # File systems without hard links: fall back to a checked rename.
                if path.exists():
                    raise InputError(path, "output file exists (use --overwrite / overwrite=True to replace it)") from None
                os.rename(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
