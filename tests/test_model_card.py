"""The typed model card of a checkpoint, and the models' recorded constructor arguments (issue 26, item 3)."""

import dataclasses

import numpy as np
import pytest
from astropy import units as u
from radio_beam import Beam

torch = pytest.importorskip("torch")

from astro_i2i import InputError  # noqa: E402
from astro_i2i.data import model_path  # noqa: E402
from astro_i2i.models import (  # noqa: E402
    DDPM,
    InferenceSettings,
    ModelCard,
    MSEUNet,
    Normalisation,
    SkyModel,
    TwoToOne,
    load_checkpoint,
    save_checkpoint,
)
from astro_i2i.models.checkpoint import checkpoint_summary  # noqa: E402
from astro_i2i.simulate import SimulationConfig  # noqa: E402


def _tiny():
    torch.manual_seed(0)
    return TwoToOne(base_channels=4, depth=2, style_channels=2, style_levels=1)


@pytest.mark.parametrize("name, architecture", [("two_to_one", "two_to_one"), ("mse", "mse_unet"),
                                                ("ddpm", "ddpm")])  # fmt: skip
def test_shipped_models_load_into_a_typed_card(name, architecture):
    path = model_path(name)
    raw = torch.load(path, weights_only=True)
    model, card = load_checkpoint(path)
    assert isinstance(card, ModelCard) and card.architecture == model.architecture == architecture
    assert card.model_config == raw["model_config"] == model.config
    assert isinstance(card.simulation, SimulationConfig)
    assert card.simulation == SimulationConfig.from_record(raw["simulation"])
    assert card.simulation.targets == SimulationConfig().targets  # a section the record predates: the defaults
    assert card.simulation_sections == set(raw["simulation"]) - {"beam"}
    assert isinstance(card.beam, Beam)
    major, minor, pa = raw["simulation"]["beam"]
    assert card.beam.major.to_value(u.arcsec) == major and card.beam.minor.to_value(u.arcsec) == minor
    assert card.beam.pa.to_value(u.deg) == pa
    assert card.beam_fwhm.to_value(u.arcsec) == pytest.approx(0.855, abs=0.01)
    assert isinstance(card.normalisation, Normalisation) and card.normalisation.downsample == 4
    assert isinstance(card.inference, InferenceSettings) and card.inference.calibrated
    assert card.pixel_scale == 0.1 * u.arcsec and card.image_size == 512
    assert card.frequency == 230 * u.GHz and card.flux_max == 0.5e-3 * u.Jy
    assert card.source_fwhm.to_value(u.arcsec) == pytest.approx(0.6)
    assert card.primary_beam.dish_diameter_m == 10.7
    assert card.beam_area_pixels == pytest.approx(np.pi / (4 * np.log(2)) * major * minor / 0.01)
    assert card.adapted is None and card.observation is None and card.psf is None
    assert card.imaged_observation() is None
    assert card.training_config["model"]["architecture"] == architecture
    assert card.metrics["calibration"]["n_images"] >= 300 and card.package_version == raw["package_version"]
    assert card.format_version == 1 and len(card.checksum) == 64
    assert architecture in repr(card) and "calibrated" in repr(card)
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.beam = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.simulation = SimulationConfig()
    assert card.replace(checksum=None).checksum is None and card.checksum is not None


def test_a_card_round_trips_through_a_checkpoint(tmp_path):
    model = _tiny()
    simulation = SimulationConfig.from_dict({"image": {"size": 64, "pixel_scale_arcsec": 0.2}})
    beam = Beam(1.1 * u.arcsec, 0.9 * u.arcsec, 30 * u.deg)
    arrays = {"psf": np.ones((128, 128), np.float32), "primary_beam": np.ones((64, 64), np.float32),
              "blank_mask": np.zeros((64, 64), np.uint8), "noise_power": np.ones((64, 33), np.float32),
              "rms_jy": 3e-5}  # fmt: skip
    notes = {"dirty": "obs.fits", "psf": "obs.psf.fits", "minutes": 1.0}
    path = save_checkpoint(tmp_path / "m.pt", model, normalisation=Normalisation(downsample=2), simulation=simulation,
                           beam=beam, adapted=notes, training={"steps": 3}, metrics={"validation": {"f1": 0.25}},
                           inference=InferenceSettings(sigma_style=0.1), observation=arrays)  # fmt: skip
    raw = torch.load(path, weights_only=True)  # the on-disk format: plain values, the beam in arcsec and deg
    assert raw["simulation"] == {**simulation.to_dict(), "beam": [1.1, 0.9, 30.0], "adapted": notes}
    loaded, card = load_checkpoint(path)
    assert card.simulation == simulation and card.beam == beam and card.adapted == notes
    assert card.normalisation == Normalisation(downsample=2) and card.inference.sigma_style == 0.1
    assert card.training == {"steps": 3} and card.metrics == {"validation": {"f1": 0.25}}
    np.testing.assert_array_equal(card.psf, arrays["psf"])
    assert card.imaged_observation().rms_jy == 3e-5
    # Written back (as a recalibration does): the same record, with what was changed.
    again = save_checkpoint(tmp_path / "again.pt", loaded, card=card, metrics={"calibration": {"n_images": 4}})
    raw_again = torch.load(again, weights_only=True)
    for key in ("simulation", "normalisation", "inference", "training", "model_config", "architecture"):
        assert raw_again[key] == raw[key], key
    assert raw_again["metrics"] == {"calibration": {"n_images": 4}}
    np.testing.assert_array_equal(raw_again["observation"]["psf"].numpy(), arrays["psf"])
    with pytest.raises(TypeError, match="normalisation"):
        save_checkpoint(tmp_path / "none.pt", loaded)


def test_partial_and_older_records_load(tmp_path):
    model = _tiny()
    path = save_checkpoint(tmp_path / "partial.pt", model, normalisation=Normalisation(),
                           simulation={"image": {"size": 64, "pixel_scale_arcsec": 0.1}, "beam": [0.89, 0.82, 82.0]})
    _, card = load_checkpoint(path)
    assert card.simulation_sections == {"image"} and card.image_size == 64
    assert card.frequency is None and card.primary_beam is None and card.flux_max is None  # not recorded
    lines = checkpoint_summary(card, "partial.pt")  # no KeyError on a partial record
    assert "grid:        64 x 64 at 0.1\"" in lines and "frequency:   unknown" in lines
    assert "beam:        0.89\" x 0.82\", PA 82 deg" in lines and "metrics:     none recorded" in lines
    # Re-saved, the record keeps to the sections it had.
    again = save_checkpoint(tmp_path / "again.pt", model, card=card)
    assert torch.load(again, weights_only=True)["simulation"] == torch.load(path, weights_only=True)["simulation"]

    # A checkpoint of another version: keys this one does not know, sections and records missing.
    payload = torch.load(path, weights_only=True)
    payload["simulation"] = {"image": {"size": 64, "pixel_scale_arcsec": 0.1, "oversampling": 2},
                             "telescope": {"name": "ALMA"}, "adapted": {"dirty": "x.fits"}}  # fmt: skip
    payload["future_record"] = {"anything": 1}
    for key in ("inference", "metrics", "training", "package_version"):
        del payload[key]
    older = tmp_path / "older.pt"
    torch.save(payload, older)
    _, card = load_checkpoint(older)
    assert card.simulation.image.size == 64 and card.simulation_sections == {"image"}
    assert card.beam is None and card.beam_fwhm is None and card.beam_area_pixels is None
    assert card.adapted == {"dirty": "x.fits"} and card.metrics == {} and card.training == {}
    assert not card.inference.calibrated and card.package_version is None
    lines = checkpoint_summary(card, "older.pt")
    assert "beam:        unknown" in lines and any(line.startswith("adapted to:  x.fits") for line in lines)
    # No simulation record at all.
    _, card = load_checkpoint(save_checkpoint(tmp_path / "bare.pt", model, normalisation=Normalisation()))
    assert card.simulation is None and card.pixel_scale is None and card.source_fwhm is None
    assert card.simulation_sections == frozenset()
    assert "grid:        unknown" in checkpoint_summary(card, "bare.pt")
    # A record that is not valid is one error at loading.
    payload["simulation"] = {"image": {"size": 63}}
    torch.save(payload, older)
    with pytest.raises(InputError, match="image.size"):
        load_checkpoint(older)
    payload["simulation"] = {"beam": [0.9, 0.8]}
    torch.save(payload, older)
    with pytest.raises(InputError, match="beam"):
        load_checkpoint(older)


def test_evaluation_helpers_take_a_card():
    from astro_i2i.training import beam_area_pixels, record_beam, record_source_fwhm

    _, card = load_checkpoint(model_path("mse"))
    record = torch.load(model_path("mse"), weights_only=True)["simulation"]
    assert record_beam(card) == record_beam(record) == card.beam
    assert beam_area_pixels(card) == beam_area_pixels(record) == card.beam_area_pixels
    assert record_source_fwhm(card) == record_source_fwhm(card.simulation) == record_source_fwhm(record)
    assert record_source_fwhm(card) == pytest.approx(0.6)
    with pytest.raises(ValueError, match="beam"):
        record_beam({"image": {"size": 64}})


@pytest.mark.parametrize("cls, arguments, expected", [
    (MSEUNet, {}, {"base_channels": 16, "depth": 3, "norm": "group"}),
    (MSEUNet, {"base_channels": 4, "depth": 2, "norm": "pixel"}, {"base_channels": 4, "depth": 2, "norm": "pixel"}),
    (TwoToOne, {}, {"base_channels": 16, "depth": 3, "style_channels": 4, "style_levels": 3, "norm": "group",
                    "content_channels": 16}),
    (TwoToOne, {"base_channels": 4, "style_levels": 1}, {"base_channels": 4, "depth": 3, "style_channels": 4,
                                                         "style_levels": 1, "norm": "group", "content_channels": 4}),
    (TwoToOne, {"base_channels": 4, "content_channels": 8, "norm": "pixel"},
     {"base_channels": 4, "depth": 3, "style_channels": 4, "style_levels": 3, "norm": "pixel", "content_channels": 8}),
    (DDPM, {}, {"base_channels": 32, "depth": 3, "norm": "pixel", "timesteps": 1000, "sampling_steps": 25,
                "clip": 1.5}),
    (DDPM, {"base_channels": 4, "depth": 2, "timesteps": 50, "sampling_steps": 5, "clip": 2.0},
     {"base_channels": 4, "depth": 2, "norm": "pixel", "timesteps": 50, "sampling_steps": 5, "clip": 2.0}),
])  # fmt: skip
def test_models_record_their_constructor_arguments(cls, arguments, expected):
    model = cls(**arguments)
    assert model.config == expected  # what the hand-written configs of 0.1 saved
    assert list(model.config) == list(expected)
    rebuilt = cls(**model.config)
    assert rebuilt.config == model.config
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in model.parameters()]


def test_a_subclass_records_its_own_arguments_once():
    class Wider(MSEUNet):
        architecture = "wider_test"

        def __init__(self, *, width=8, **kwargs):
            super().__init__(base_channels=width, **kwargs)

    assert Wider(width=4, norm="pixel").config == {"width": 4, "norm": "pixel"}
    assert Wider().config == {"width": 8}
    assert Wider(**Wider(width=4).config).net is not None

    with pytest.raises(TypeError, match="nameable"):

        class Positional(SkyModel):
            def __init__(self, width, /):
                super().__init__()
