"""Atomic creation of output files: a temporary file, then a rename."""

import contextlib
import os
import tempfile
from pathlib import Path

from .exceptions import InputError

__all__ = ["check_output_path", "check_output_paths", "atomic_output", "same_file"]


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


def same_file(a, b):
    """Whether paths ``a`` and ``b`` name the same file, whether it exists yet or not."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return a.samefile(b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_output_paths(outputs, *, inputs=None, overwrite=False):
    """Raise `InputError` unless each output names its own file, none is an input, and each can be written.

    Called before any work, so that a clash never leaves a product behind.

    Parameters
    ----------
    outputs : dict
        What each output is (a flag such as ``'--quicklook'``) -> its path; None is skipped.
    inputs : dict, optional
        What each input is -> its path; None is skipped.
    overwrite : bool, optional
        Whether existing files may be replaced (`check_output_path`).

    Returns
    -------
    paths : dict
        The outputs given, as `pathlib.Path`.
    """
    outputs = {what: Path(path) for what, path in outputs.items() if path is not None and str(path) != ""}
    inputs = {what: Path(path) for what, path in (inputs or {}).items() if path is not None and str(path) != ""}
    named = list(outputs.items())
    for i, (what, path) in enumerate(named):
        for other, other_path in named[:i]:
            if same_file(path, other_path):
                raise InputError(path, f"given as both {other} and {what}: give each output its own name")
        for other, input_path in inputs.items():
            if same_file(path, input_path):
                raise InputError(path, f"is the input {other} and the output {what}: give the output another name")
    for path in outputs.values():
        check_output_path(path, overwrite=overwrite)
    return outputs


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
