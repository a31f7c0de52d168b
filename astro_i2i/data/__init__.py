"""Files that ship with astro-i2i: ALMA antenna lists and example images."""

from importlib import resources
from pathlib import Path

from ..exceptions import InputError

__all__ = ["example_path", "list_examples", "antenna_config_path", "list_antenna_configs", "model_path",
           "models_dir", "population_path", "training_config_path", "list_training_configs"]

_EXAMPLES = {
    "dirty": ("examples/example_dirty.fits.gz", "simulated ALMA Cycle 5.3 Band 6 dirty image (Jy/beam)"),
    "psf": ("examples/example_psf.fits.gz", "its PSF"),
    "sky": ("examples/example_sky.fits.gz", "its true sky model (Jy/pixel)"),
    "truth": ("examples/example_truth.ecsv", "its true source list"),
    "casa_image": ("examples/casa_image", "folder: one field as tclean and the ALMA archive give it (the tutorial's data)"),
}


def _data_dir():
    return Path(str(resources.files(__name__)))


def model_path(name_or_path):
    """A checkpoint: a shipped model by name (``'two_to_one'``, ``'mse'``, ``'ddpm'``) or a path, as given.

    Parameters
    ----------
    name_or_path : str or path-like
        A ``.pt`` path or an existing file (returned as given), else a
        shipped model's name.

    Returns
    -------
    path : `pathlib.Path`
        Not checked to exist for a name.
    """
    path = Path(name_or_path)
    if path.suffix == ".pt" or path.exists():
        return path
    return models_dir() / f"{name_or_path}.pt"


def models_dir():
    """The folder of the shipped models' checkpoints (``astro_i2i/data/models``).

    Returns
    -------
    path : `pathlib.Path`
    """
    return _data_dir() / "models"


def training_config_path(name):
    """A shipped training configuration's YAML file (``astro_i2i/data/configs/NAME.yaml``), as ``train`` takes it.

    Parameters
    ----------
    name : str
        One of `list_training_configs`.

    Returns
    -------
    path : `pathlib.Path`
        Not checked to exist.
    """
    return _data_dir() / "configs" / f"{name}.yaml"


def list_training_configs():
    """Names of the shipped training configurations (``astro-i2i train --config NAME``).

    Returns
    -------
    names : list of str
        Sorted.
    """
    return sorted(p.stem for p in (_data_dir() / "configs").glob("*.yaml"))


def population_path(name):
    """A shipped source population's YAML file (``astro_i2i/data/populations/NAME.yaml``).

    Parameters
    ----------
    name : str
        The population's name (one of ``astro_i2i.simulate.config.POPULATIONS``).

    Returns
    -------
    path : `pathlib.Path`
        Not checked to exist.
    """
    return _data_dir() / "populations" / f"{name}.yaml"


def list_examples():
    """Names and descriptions of the example files that ship with astro-i2i.

    Returns
    -------
    examples : dict
        ``{name: description}``: ``'dirty'``, ``'psf'``, ``'sky'``, ``'truth'``.
    """
    return {name: description for name, (_, description) in _EXAMPLES.items()}


def example_path(name="dirty"):
    """Path of a shipped example file.

    Parameters
    ----------
    name : str, optional
        One of `list_examples`: ``'dirty'``, ``'psf'``, ``'sky'``, ``'truth'``
        or ``'casa_image'`` (a folder: :doc:`/tutorial`'s data).

    Returns
    -------
    path : `pathlib.Path`
    """
    if name not in _EXAMPLES:
        raise InputError(name, f"no such example; choose from {', '.join(_EXAMPLES)}")
    path = _data_dir() / _EXAMPLES[name][0]
    if not path.exists():
        raise InputError(path, "example file missing from this installation")
    return path


def list_antenna_configs():
    """Names of the shipped CASA antenna lists (``alma.cycle5.1`` ... ``alma.cycle5.10``, and the 7-m ACA's
    ``aca.cycle5``: simulate it with ``primary_beam.dish_diameter_m`` 6.25, CASA's model of the 7-m dish).

    Returns
    -------
    names : list of str
        Sorted as strings.
    """
    return sorted(p.name[: -len(".cfg")] for p in (_data_dir() / "alma").glob("*.cfg"))


def antenna_config_path(name):
    """Path of a shipped antenna list, by name (``'alma.cycle5.3'``) or a path to a ``.cfg`` file.

    Parameters
    ----------
    name : str or path-like
        An existing ``.cfg`` file, or one of `list_antenna_configs`.

    Returns
    -------
    path : `pathlib.Path`

    Raises
    ------
    `~astro_i2i.exceptions.InputError`
        No such shipped configuration.
    """
    candidate = Path(name)
    if candidate.suffix == ".cfg" and candidate.exists():
        return candidate
    path = _data_dir() / "alma" / f"{name}.cfg"
    if not path.exists():
        raise InputError(name, f"unknown antenna configuration; shipped: {', '.join(list_antenna_configs())}")
    return path
