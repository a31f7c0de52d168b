import json
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from astro_i2i import InputError  # noqa: E402
from astro_i2i.exceptions import CalibrationWarning  # noqa: E402
from astro_i2i.models import load_checkpoint  # noqa: E402
from astro_i2i.training import TrainingConfig, train  # noqa: E402

TINY = {
    "model": {"architecture": "two_to_one", "base_channels": 4, "depth": 2, "style_channels": 2, "style_levels": 2},
    "data": {"crop": 32, "crops_per_image": 2, "n_pointings": 1},
    "optimisation": {"steps": 4, "batch_size": 4, "checkpoint_every": 2},
    "validation": {"every": 2, "n_images": 2, "calibration_images": 4},
}


@pytest.fixture(autouse=True)
def seeded_torch():
    torch.manual_seed(0)  # the same tiny networks, and the same run time, every time


def test_train_resume_and_checkpoint(tmp_path):
    config = TrainingConfig(**TINY)
    output = tmp_path / "model.pt"
    best = train(config, output, progress=False)
    assert best["step"] in (2, 4)
    model, card = load_checkpoint(output)
    assert model.architecture == "two_to_one"
    assert card.training["steps"] == best["step"]
    assert card.simulation.observation.array == "alma.cycle5.3"
    assert 0.8 < card.beam.major.to_value("arcsec") < 1.0
    assert card.inference.sigma_style > 0
    assert card.metrics["validation"]["f1"] == pytest.approx(best["f1"], nan_ok=True)
    log = [json.loads(line) for line in (tmp_path / "model.pt.log.jsonl").read_text().splitlines()]
    validations = [(entry["step"], np.nan_to_num(entry["validation"]["f1"])) for entry in log if "validation" in entry]
    assert [step for step, _ in validations] == [2, 4]
    # The checkpoint is the validation with the best F1 (the first of equals).
    assert best["step"] == max(validations, key=lambda v: v[1])[0]
    assert np.nan_to_num(best["f1"]) == max(f1 for _, f1 in validations)
    calibration = card.metrics["calibration"]
    assert calibration["n_images"] == 4 and calibration["seed"] == 1_500_000
    settings = card.inference
    assert settings.sigma_style == calibration["sigma_style"] and settings.calibrated
    assert [d.samples for d in settings.detection] == [1, 10] and settings.samples == 10
    # The figures are at the benchmark's operating point; the default cut is recorded beside it (issue 28).
    assert settings.detection_for(1).benchmark_cut == calibration["direct"]["min_reliability"]
    assert settings.detection_for(10).benchmark_cut == calibration["samples"]["min_reliability"]
    assert settings.detection_for(10).min_reliability == calibration["samples"]["default_min_reliability"]
    assert settings.uncertainty.to_dict() == calibration["uncertainty"]
    assert [entry["calibration"]["sigma_style"] for entry in log if "calibration" in entry] == [calibration["sigma_style"]]
    state = torch.load(tmp_path / "model.pt.state.pt", weights_only=True)
    assert state["step"] == 4
    # Resume a longer run from the saved state.
    longer = TrainingConfig(**{**TINY, "optimisation": {**TINY["optimisation"], "steps": 6}})
    with pytest.raises(InputError, match="different training config"):
        train(longer, output, resume=True, progress=False)
    train(config, output, resume=True, progress=False)  # already finished: nothing to do
    assert torch.load(tmp_path / "model.pt.state.pt", weights_only=True)["step"] == 4
    with pytest.raises(InputError, match="output file exists"):
        train(config, output, progress=False)


def test_mse_baseline_trains(tmp_path):
    config = TrainingConfig(**{**TINY, "model": {"architecture": "mse_unet", "base_channels": 4, "depth": 2}})
    train(config, tmp_path / "mse.pt", progress=False)
    model, card = load_checkpoint(tmp_path / "mse.pt")
    settings = card.inference
    assert model.architecture == "mse_unet" and settings.sigma_style == 0 and settings.uncertainty is None
    assert [d.samples for d in settings.detection] == [1] and settings.samples == 1
    assert settings.detection[0].benchmark_cut == card.metrics["calibration"]["direct"]["min_reliability"]


def test_calibrate_checkpoint(tmp_path, capsys):
    from astro_i2i.cli import main
    from astro_i2i.training import calibrate_checkpoint

    config = TrainingConfig(**{**TINY, "model": {"architecture": "mse_unet", "base_channels": 4, "depth": 2}})
    trained = tmp_path / "mse.pt"
    train(config, trained, progress=False)
    before = trained.read_bytes()
    with pytest.raises(ValueError, match="n_images must be an integer >= 4, not 2"):
        calibrate_checkpoint(trained, tmp_path / "out.pt", n_images=2)
    with pytest.raises(InputError, match="output file exists"):
        calibrate_checkpoint(trained, trained, n_images=4)  # in place only with overwrite
    assert trained.read_bytes() == before
    result = calibrate_checkpoint(trained, tmp_path / "out.pt", n_images=5, seed=77)
    _, card = load_checkpoint(tmp_path / "out.pt")
    assert card.metrics["calibration"]["n_images"] == 5 and card.metrics["calibration"]["seed"] == 77
    assert card.inference.detection[0].benchmark_cut == result["direct"]["min_reliability"]
    assert 0 < result["direct"]["min_reliability"] < 1
    original = load_checkpoint(trained)[1]
    assert card.training == original.training  # the rest is carried over
    raw = (torch.load(path, weights_only=True)["simulation"] for path in (tmp_path / "out.pt", trained))
    assert next(raw) == next(raw)  # the simulation record as written
    command = ["calibrate", str(trained), "-o", str(trained), "--n-images", "4", "--seed", "78"]
    with pytest.raises(SystemExit) as exit_info:
        main(command)
    assert exit_info.value.code == 2 and "output file exists" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(command + ["--overwrite"])
    assert exit_info.value.code == 0 and "direct: F1" in capsys.readouterr().out
    assert load_checkpoint(trained)[1].metrics["calibration"]["seed"] == 78


def test_config_errors(tmp_path):
    with pytest.raises(InputError, match="unknown key"):
        TrainingConfig(data={"cropsize": 3})
    with pytest.raises(InputError, match="batch_size must be >= 4"):
        TrainingConfig(optimisation={"batch_size": 2})
    with pytest.raises(InputError, match="architecture 'gan'"):
        TrainingConfig(model={"architecture": "gan"})
    path = tmp_path / "c.yaml"
    path.write_text("optimisation:\n  stepz: 1\n")
    with pytest.raises(InputError, match="c.yaml: unknown key"):
        TrainingConfig.from_yaml(path)


def test_best_checkpoint_is_tracked_past_empty_validations():
    from astro_i2i.training.train import _improves

    best = {"f1": -1.0}
    assert _improves({"f1": float("nan")}, best)  # nothing found yet: still the best so far
    best = {"f1": float("nan")}
    assert _improves({"f1": 0.2}, best)  # a NaN best must not block later improvements
    assert not _improves({"f1": 0.1}, {"f1": 0.2})
    assert _improves({"f1": 0.2}, {"f1": 0.2})  # a tie goes to the later, longer-trained step


def test_ddpm_trains_calibrates_and_reconstructs(tmp_path):
    """A tiny DDPM goes through the same loop, calibration and Reconstructor as the other models."""
    from astro_i2i.reconstruct import Reconstructor
    from astro_i2i.simulate import SimulationConfig, simulate_image

    tiny = {"architecture": "ddpm", "base_channels": 4, "depth": 2, "timesteps": 50, "sampling_steps": 3}
    config = TrainingConfig(**{**TINY, "model": tiny})
    train(config, tmp_path / "ddpm.pt", progress=False)
    model, card = load_checkpoint(tmp_path / "ddpm.pt")
    settings = card.inference
    assert model.architecture == "ddpm" and model.sampling_steps == 3 and model.stochastic
    # Calibrated for its own default K (20, as the reference work), without a style perturbation.
    assert [d.samples for d in settings.detection] == [1, 20] and settings.samples == 20
    assert settings.sigma_style == 0 and settings.uncertainty is not None
    assert model.network_runs(20) == 60

    reconstructor = Reconstructor.from_pretrained(tmp_path / "ddpm.pt")
    image = simulate_image(SimulationConfig(), np.random.default_rng(5))
    header = image["wcs"].to_header()
    header["BUNIT"] = "Jy/beam"
    header.update(reconstructor.beam.to_header_keywords())
    with pytest.warns(CalibrationWarning, match="calibrated for K = 20, not 4"):
        first = reconstructor.reconstruct((image["dirty"], header), samples=4, steps=2)
    warnings.simplefilter("ignore", CalibrationWarning)
    again = reconstructor.reconstruct((image["dirty"], header), samples=4, steps=2)
    other_steps = reconstructor.reconstruct((image["dirty"], header), samples=4, steps=5)
    assert first.style is None and first.uncertainty is not None  # no STYLE extension for a diffusion model
    np.testing.assert_array_equal(first.sky, again.sky)  # DDIM is deterministic given the seed
    assert not np.allclose(first.sky, other_steps.sky, equal_nan=True)
    assert first.provenance["steps"] == 2 and reconstructor.model.sampling_steps == 3  # restored after the call
    assert np.all(np.isnan(first.sky) == np.isnan(image["dirty"]))
    with pytest.raises(ValueError, match="steps must be a positive integer, not 0"):
        reconstructor.reconstruct((image["dirty"], header), steps=0)
    with pytest.raises(InputError, match="steps: applies to diffusion models"):
        Reconstructor.from_pretrained("mse").reconstruct((image["dirty"], header), steps=10)
