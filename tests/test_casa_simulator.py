"""The simulator against CASA itself (benchmarks/validate_simulator.py prints the same figures)."""

import numpy as np
import pytest

from astro_i2i.simulate.validation import compare_with_casa

from .conftest import REFERENCE

pytestmark = pytest.mark.skipif(not REFERENCE.exists(), reason="no CASA reference images (set ASTRO_I2I_CASA_REFERENCE or put them in ../shared/reference/casa)")


@pytest.fixture(scope="module")
def result():
    return compare_with_casa(REFERENCE, images=["002", "005", "008", "009", "010", "011"])


def test_beam(result):
    for row in result["beams"]:
        (om, on, op), (cm, cn, cp) = row["ours"], row["casa"]
        assert om == pytest.approx(cm, rel=0.05) and on == pytest.approx(cn, rel=0.05)
        assert abs((op - cp + 90) % 180 - 90) < 10


def test_noise(result):
    assert len(result["noise"]) == 2
    for ours, casa in result["noise"]:
        assert ours == pytest.approx(casa, rel=0.10)
    assert result["autocorrelation"]["correlation"] >= 0.95


def test_mask_and_primary_beam(result):
    for ours, casa in result["mask_radius"]:
        assert abs(ours - casa) < 3
    assert result["primary_beam_max_difference"] < 0.02


def test_source_positions(result):
    positions = result["positions"]
    assert len(positions) >= 5
    offsets = np.array([[p["dx"], p["dy"]] for p in positions])
    # No systematic shift or flip: the mean offset is well within a pixel.
    assert np.all(np.abs(offsets.mean(axis=0)) < 1.0)
    sigma_beam = 0.857 / 2.3548 / 0.1
    for p in positions:
        # Each offset within 5 sigma of CASA's noise-limited position error.
        assert p["offset"] < 5 * np.sqrt(2) * sigma_beam / p["snr"]
        assert p["ours_vs_truth"] < 0.5
