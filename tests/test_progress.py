"""One progress convention (issue 26 item 6): ``progress`` is None/False, True (a tqdm bar) or ``f(done, total)``."""

import numpy as np
import pytest

from astro_i2i._progress import Progress, check_progress
from astro_i2i.reconstruct import Reconstructor
from astro_i2i.simulate import SimulationConfig, write_dataset

from .conftest import celestial_header, make_data
from .test_inference import model_paths  # noqa: F401  (the small test models)

pytestmark = pytest.mark.filterwarnings("ignore::astro_i2i.exceptions.CalibrationWarning")


def test_progress_calls_back_and_refuses_other_values(capsys):
    calls = []
    with Progress(lambda done, total: calls.append((done, total)), 3, desc="x", unit="y") as report:
        for _ in range(3):
            report.update()
    assert calls == [(1, 3), (2, 3), (3, 3)]
    with Progress(True, 2, desc="things", unit="thing") as report:
        report.update(2, loss="0.1")
    assert "things" in capsys.readouterr().err
    Progress(None, 2, desc="x", unit="y").update()  # nothing shown, nothing raised
    for bad in ("yes", 1, 0.5):
        with pytest.raises(TypeError, match="callable"):
            check_progress(bad)


def test_reconstruct_reports_its_tiles(model_paths):  # noqa: F811
    reconstructor = Reconstructor.from_pretrained(model_paths["two_to_one"])
    header, shape = celestial_header(192)
    calls = []
    reconstructor.reconstruct((make_data(shape), header), samples=1,
                              progress=lambda done, total: calls.append((done, total)))  # fmt: skip
    total = calls[-1][1]
    assert total >= 1 and [done for done, _ in calls][-1] == total and all(t == total for _, t in calls)
    assert np.all(np.diff([done for done, _ in calls]) > 0)
    with pytest.raises(TypeError, match="progress"):
        reconstructor.reconstruct((make_data(shape), header), samples=1, progress="bar")


def test_write_dataset_reports_its_images(tmp_path):
    calls = []
    config = SimulationConfig.from_dict({"image": {"size": 64}})
    write_dataset(tmp_path / "d", 3, config=config, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
