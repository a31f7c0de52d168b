import numpy as np
import pytest

torch = pytest.importorskip("torch")

from astro_i2i import InputError  # noqa: E402
from astro_i2i.models import (  # noqa: E402
    MSEUNet,
    Normalisation,
    TwoToOne,
    distance_correlation,
    load_checkpoint,
    save_checkpoint,
)


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return TwoToOne(base_channels=4, depth=2, style_channels=2, style_levels=2)


def test_shapes_of_the_four_networks(small_model):
    x = torch.randn(2, 1, 32, 32)
    c = torch.randn(2, 1, 32, 32)
    style = small_model.encode_style(c, x)
    assert style.shape == (2, 2, 8, 8)  # 4x coarser than the image
    assert small_model.estimate_style(x).shape == style.shape
    assert small_model.reconstruct(x, style).shape == (2, 1, 32, 32)
    assert small_model.reconstruct(x).shape == (2, 1, 32, 32)
    assert small_model.generate(c, style).shape == (2, 1, 32, 32)
    samples, centre = small_model.sample(x, 3, sigma_style=0.5)
    assert samples.shape == (2, 3, 1, 32, 32) and centre.shape == style.shape
    assert samples.std(dim=1).mean() > 0  # perturbed styles give different skies
    assert torch.allclose(small_model.sample(x, 2, sigma_style=0.0)[0][:, 0], small_model.reconstruct(x))
    assert torch.allclose(small_model.sample(x, 1)[0][:, 0], small_model.reconstruct(x))
    # One generator per batch element: an image's samples do not depend on its batch.
    generators = [torch.Generator().manual_seed(k) for k in (5, 6)]
    together = small_model.sample(x, 3, sigma_style=0.5, generators=generators)[0]
    alone = small_model.sample(x[1:], 3, sigma_style=0.5, generators=[torch.Generator().manual_seed(6)])[0]
    assert torch.allclose(together[1], alone[0], atol=1e-5)  # float32 convolutions of other batch sizes


def test_models_own_their_loss_and_sampling(small_model):
    from astro_i2i.models import SkyModel

    mse = MSEUNet(base_channels=4, depth=2)
    x, c = torch.randn(4, 1, 32, 32), torch.randn(4, 1, 32, 32)
    weights = {"content": 1.0, "composite": 1.0, "direct": 1.0, "style_fit": 1.0, "distance_correlation": 0.1}
    for model in (small_model, mse):
        assert isinstance(model, SkyModel)
        total, parts = model.loss(x, c, weights)
        assert total.requires_grad and "content" in parts
    assert set(small_model.loss(x, c, weights)[1]) == {"content", "composite", "style_fit", "distance_correlation",
                                                       "direct"}  # fmt: skip
    # The MSE baseline is deterministic: one sample whatever K, and no style.
    skies, style = mse.sample(x, 5, sigma_style=1.0)
    assert skies.shape == (4, 1, 1, 32, 32) and style is None and not mse.stochastic
    assert small_model.stochastic and small_model.has_style and small_model.style_factor == 4
    with pytest.raises(TypeError, match="no style"):
        mse.estimate_style(x)


def test_fully_convolutional(small_model):
    assert small_model.reconstruct(torch.randn(1, 1, 48, 64)).shape == (1, 1, 48, 64)
    assert MSEUNet(base_channels=4, depth=2)(torch.randn(1, 1, 48, 64)).shape == (1, 1, 48, 64)


def test_distance_correlation():
    torch.manual_seed(1)
    a = torch.randn(1024, 3)
    assert distance_correlation(a, 2 * a + 1) == pytest.approx(1.0, abs=1e-3)
    assert distance_correlation(a, torch.randn(1024, 5)) < 0.1
    assert distance_correlation(a, a**2) > 0.3  # uncorrelated but dependent
    # Bias-corrected: independent small batches average about 0 (the plain estimator gives ~0.6 at n = 8).
    small = [float(distance_correlation(torch.randn(8, 3), torch.randn(8, 64), squared=True)) for _ in range(200)]
    assert abs(np.mean(small)) < 0.05
    with pytest.raises(ValueError):
        distance_correlation(a[:3], a[:3])
    # Differentiable, also with identical samples (empty sky crops)
    b = torch.randn(16, 4, requires_grad=True)
    distance_correlation(b, torch.randn(16, 4), squared=True).backward()
    assert b.grad is not None and torch.isfinite(b.grad).all()
    c = torch.randn(16, 4, requires_grad=True)
    loss = distance_correlation(c, torch.zeros(16, 4), squared=True)
    loss.backward()
    assert abs(float(loss.detach())) < 1e-6 and torch.isfinite(c.grad).all()


def test_wider_content_generator_survives_a_checkpoint(tmp_path):
    model = TwoToOne(base_channels=4, depth=2, style_channels=2, style_levels=1, content_channels=8)
    widths = {name: next(net.parameters()).shape[0] for name, net in model.named_children()}
    assert widths["content_generator"] == 8
    assert widths["composite_generator"] == widths["style_encoder"] == 4
    save_checkpoint(tmp_path / "wide.pt", model, normalisation=Normalisation())
    loaded, _ = load_checkpoint(tmp_path / "wide.pt")
    assert loaded.config["content_channels"] == 8
    x = torch.randn(1, 1, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(loaded.reconstruct(x), model.reconstruct(x))


def test_normalisation_round_trip():
    norm = Normalisation()
    sky = np.array([-1e-6, 0.0, 1e-7, 3e-5, 1e-4])
    np.testing.assert_allclose(norm.sky_from_network(norm.sky_to_network(sky)), sky, rtol=1e-12, atol=1e-20)
    t = torch.tensor(sky)
    assert torch.allclose(norm.sky_from_network(norm.sky_to_network(t)), t)
    assert norm.dirty_to_network(4.6e-4) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        Normalisation(sky_power=0)


def test_checkpoint_round_trip(small_model, tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(path, small_model, normalisation=Normalisation(sky_scale=2e-5),
                    simulation={"image": {"pixel_scale_arcsec": 0.1}, "beam": [0.89, 0.82, 82.0]},
                    training={"steps": 10}, metrics={"f1": 0.5}, inference={"sigma_style": 0.3})  # fmt: skip
    raw = torch.load(path, weights_only=True)  # plain values only
    assert raw["architecture"] == "two_to_one" and raw["model_config"]["style_channels"] == 2
    assert raw["simulation"] == {"image": {"pixel_scale_arcsec": 0.1}, "beam": [0.89, 0.82, 82.0]}
    model, card = load_checkpoint(path)
    assert isinstance(model, TwoToOne) and not model.training
    assert card.normalisation.sky_scale == 2e-5
    assert card.metrics["f1"] == 0.5 and card.inference.sigma_style == 0.3
    assert not card.inference.calibrated  # written without a reliability model
    assert card.beam.major.to_value("arcsec") == 0.89 and card.beam.pa.to_value("deg") == 82.0
    assert len(card.checksum) == 64
    x = torch.randn(1, 1, 32, 32)
    small_model.eval()
    with torch.no_grad():
        assert torch.equal(model.reconstruct(x), small_model.reconstruct(x))
    with pytest.raises(InputError, match="output file exists"):
        save_checkpoint(path, small_model, normalisation=Normalisation())


def test_inference_settings_round_trip_and_legacy_records():
    from astro_i2i.catalog import DetectionSettings, ReliabilityModel
    from astro_i2i.exceptions import CalibrationWarning
    from astro_i2i.models import InferenceSettings, UncertaintyCalibration

    reliability = ReliabilityModel(features=("log_mf_snr",), mean=(1.0,), scale=(0.5,), weights=(2.0,), bias=-1.0)
    settings = InferenceSettings(samples=10, sigma_style=0.02, detection=(
        DetectionSettings(samples=10, reliability=reliability, min_reliability=0.2, flux_scale=0.9),
        DetectionSettings(samples=1, reliability=reliability, min_reliability=0.1)),
        uncertainty=UncertaintyCalibration(sample_scale=0.6, dirty_scale=8.0))  # fmt: skip
    assert [d.samples for d in settings.detection] == [1, 10]  # sorted by K
    assert InferenceSettings.from_dict(settings.to_dict()) == settings and settings.calibrated
    assert settings.detection_for(10).min_reliability == 0.2
    with pytest.warns(CalibrationWarning, match="K = 10, not 20"):
        assert settings.detection_for(20).samples == 10
    # A checkpoint of astro-i2i 0.1: thresholds only, uncalibrated.
    legacy = InferenceSettings.from_dict({"detection_nsigma": 1.0, "sigma_style": 0.02, "samples": 10,
                                          "detection_nsigma_samples": 1.5})  # fmt: skip
    assert not legacy.calibrated and legacy.detection_for(10).candidate_nsigma == 1.5
    with pytest.raises(ValueError, match="sigma_style"):
        InferenceSettings(sigma_style=-1)
    calibration = UncertaintyCalibration(sample_scale=2.0, dirty_scale=3.0)
    np.testing.assert_allclose(calibration.sigma(np.array([1.0, np.nan]), np.array([-2.0, 1.0]), 1.0), [2.0, np.nan])
    np.testing.assert_allclose(calibration.sigma(np.array([0.0]), np.array([2.0]), 0.5), [3.0])


def test_checkpoint_errors(small_model, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        load_checkpoint(tmp_path / "none.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="corrupt.pt: not a readable astro-i2i checkpoint"):
        load_checkpoint(corrupt)
    path = tmp_path / "model.pt"
    save_checkpoint(path, small_model, normalisation=Normalisation())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(InputError, match="truncated.pt"):
        load_checkpoint(truncated)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(InputError, match="not an astro-i2i checkpoint"):
        load_checkpoint(other)
    # Weights of another architecture (a different width) under this config.
    payload = torch.load(path, weights_only=True)
    payload["model_config"]["base_channels"] = 8
    mismatch = tmp_path / "mismatch.pt"
    torch.save(payload, mismatch)
    with pytest.raises(InputError, match="weights do not fit architecture 'two_to_one'"):
        load_checkpoint(mismatch)
    payload["architecture"] = "diffusion"
    unknown = tmp_path / "unknown.pt"
    torch.save(payload, unknown)
    with pytest.raises(InputError, match="unknown architecture 'diffusion'"):
        load_checkpoint(unknown)


def test_io_and_catalog_do_not_import_torch():
    import subprocess
    import sys

    code = ("import sys; import astro_i2i.io, astro_i2i.catalog, astro_i2i.metrics, astro_i2i.simulate, "
            "astro_i2i.baselines; print('torch' in sys.modules)")  # fmt: skip
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_ddpm_loss_and_deterministic_sampling():
    from astro_i2i.models import DDPM

    torch.manual_seed(0)
    model = DDPM(base_channels=4, depth=2, timesteps=20, sampling_steps=4)
    dirty, sky = torch.randn(2, 1, 16, 16), torch.rand(2, 1, 16, 16)
    loss, parts = model.loss(dirty, sky, {})
    loss.backward()
    assert loss.ndim == 0 and set(parts) == {"v"} and model.net.head.weight.grad is not None
    model.eval()
    with torch.no_grad():
        generators = [torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)]
        skies, style = model.sample(dirty, 3, generators=generators)
        again, _ = model.sample(dirty, 3, generators=[torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)])
    assert skies.shape == (2, 3, 1, 16, 16) and style is None
    torch.testing.assert_close(skies, again)
    assert torch.all(skies >= 0) and torch.all(skies <= (1 + model.clip) / 2)  # y clipped to [-1, clip]
    assert not torch.allclose(skies[:, 0], skies[:, 1])  # K different starting noises
    # The DDIM levels go from T to the clean sky in the asked-for number of steps.
    assert model._levels().tolist() == [20, 15, 10, 5, 0]
    with pytest.raises(ValueError, match="sampling_steps must be in"):
        DDPM(timesteps=10, sampling_steps=11)
