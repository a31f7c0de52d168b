"""Sphinx configuration for astro-i2i (sphinx-astropy)."""

import datetime

from sphinx_astropy.conf.v2 import *  # noqa: F401,F403
from sphinx_astropy.conf.v2 import exclude_patterns, extensions

from astro_i2i import __version__

project = "astro-i2i"
author = "astro-i2i developers"
copyright = f"{datetime.date.today().year}, {author}"
version = release = __version__

extensions = list(extensions)
exclude_patterns = list(exclude_patterns) + ["_build"]
# The build machines have no network beyond package registries: no remote inventories.
intersphinx_mapping = {}
html_theme = "pydata_sphinx_theme"
html_theme_options = {"navigation_with_keys": False}
html_static_path = []
nitpicky = False
automodsumm_inherited_members = False
suppress_warnings = ["ref.python"]
