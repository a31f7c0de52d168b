"""What the README and the documentation tell a new user (read from the checkout; skipped in an installed copy)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst"))]

pytestmark = pytest.mark.skipif(not (ROOT / "README.rst").exists(), reason="not a checkout: no README.rst")


def _text(path):
    return " ".join(path.read_text(encoding="utf-8").split())  # lines joined: a phrase may wrap


def test_reference_images_are_named_beside_the_repository_root():
    """``shared/reference/casa`` "beside the checkout" is ``../shared/reference/casa``: say the ``../``."""
    for page in PAGES:
        for match in re.finditer(r"(\S*)shared/reference/", _text(page)):
            assert match.group(1).endswith("../"), (page.name, match.group(0))
    assert "``../shared/reference/casa``" in _text(ROOT / "README.rst")


def test_io_page_does_not_say_cubes_are_unsupported():
    text = _text(ROOT / "docs" / "io.rst")
    assert "not supported yet" not in text
    assert "read_cube" in text and "channel by channel" in text
