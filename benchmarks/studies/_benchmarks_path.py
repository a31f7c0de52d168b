"""Puts ``benchmarks/`` on ``sys.path``: a study run as ``python benchmarks/studies/NAME.py`` finds ``_common``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
