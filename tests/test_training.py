import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from astro_i2i import InputError  # noqa: E402
from astro_i2i.models import load_checkpoint  # noqa: E402
from astro_i2i.training import TrainingConfig, train  # noqa: E402

TINY = {
    "model": {"architecture": "two_to_one", "base_channels": 4, "depth": 2, "style_channels": 2, "style_levels": 2},
    "data": {"crop": 32, "crops_per_image": 2, "n_pointings": 1},
    "optimisation": {"steps": 4, "batch_size": 4, "checkpoint_every": 2},
    "validation": {"every": 2, "n_images": 2},
}


def test_train_resume_and_checkpoint(tmp_path):
    config = TrainingConfig(**TINY)
    output = tmp_path / "model.pt"
    best = train(config, output, progress=False)
    assert 0 <= np.nan_to_num(best["f1"]) <= 1 and best["step"] in (2, 4)
    model, info = load_checkpoint(output)
    assert model.architecture == "two_to_one"
    assert info["training"]["steps"] == best["step"]
    assert info["simulation"]["observation"]["array"] == "alma.cycle5.3"
    assert 0.8 < info["simulation"]["beam"][0] < 1.0  # arcsec
    assert info["inference"]["sigma_style"] > 0
    assert info["metrics"]["validation"]["f1"] == pytest.approx(best["f1"], nan_ok=True)
    log = [json.loads(line) for line in (tmp_path / "model.pt.log.jsonl").read_text().splitlines()]
    assert any("validation" in entry for entry in log) and any("sigma_style" in entry for entry in log)
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
    model, info = load_checkpoint(tmp_path / "mse.pt")
    assert model.architecture == "mse_unet" and "sigma_style" not in info["inference"]


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
    from astro_i2i.training import _improves

    best = {"f1": -1.0}
    assert _improves({"f1": float("nan")}, best)  # nothing found yet: still the best so far
    best = {"f1": float("nan")}
    assert _improves({"f1": 0.2}, best)  # a NaN best must not block later improvements
    assert not _improves({"f1": 0.1}, {"f1": 0.2})
