"""Reading YAML config files with one-line errors."""

from pathlib import Path

import yaml

from .exceptions import InputError


def read_yaml(path):
    """The parsed content of a YAML file; `InputError` if it is missing or not valid YAML."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "file not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise InputError(path, f"not valid YAML ({' '.join(str(exc).split())})") from None
