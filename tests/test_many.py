"""Many inputs in one call: serial and dask.distributed give the same products; resumable with skip_existing."""

import numpy as np
import pytest
from astropy.io import fits

from .conftest import celestial_header, make_data

torch = pytest.importorskip("torch")


@pytest.fixture
def inputs(tmp_path):
    paths = []
    for k in range(3):
        header, shape = celestial_header(64)
        path = tmp_path / "in" / f"field{k}.fits"
        path.parent.mkdir(exist_ok=True)
        fits.PrimaryHDU(make_data(shape, seed=k), header=header).writeto(path)
        paths.append(path)
    return paths


def _data(path):
    with fits.open(path) as hdulist:
        return {h.name: h.data.copy() for h in hdulist if h.is_image}


def test_serial_run_is_resumable_and_reports_failures(inputs, tmp_path, capsys):
    from astro_i2i.cli import main
    from astro_i2i.reconstruct import product_path, reconstruct_many

    full = reconstruct_many(inputs, tmp_path / "full", samples=2)
    assert len(full.done) == 3 and not full.failed and not full.skipped
    # Interrupted after two files, then resumed: only the missing one is made, and it is the same.
    partial = reconstruct_many(inputs[:2], tmp_path / "resumed", samples=2)
    assert len(partial.done) == 2
    resumed = reconstruct_many(inputs, tmp_path / "resumed", samples=2, skip_existing=True)
    assert len(resumed.done) == 1 and len(resumed.skipped) == 2
    for path in inputs:
        a, b = _data(product_path(path, tmp_path / "full")), _data(product_path(path, tmp_path / "resumed"))
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    # A bad file fails with its reason; the others are done; the CLI says so and exits 1.
    bad = tmp_path / "in" / "broken.fits"
    bad.write_text("not a FITS file")
    with pytest.raises(SystemExit) as exit_info:
        main(["reconstruct", *map(str, inputs), str(bad), "-o", str(tmp_path / "cli") + "/", "-k", "2"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "3 done, 0 skipped (product exists), 1 failed: broken.fits: not a FITS file" in out
    assert sorted(p.name for p in (tmp_path / "cli").iterdir()) == [f"field{k}_i2i.fits" for k in range(3)]
    # Without --skip-existing or --overwrite an existing product is a failure, not replaced.
    again = reconstruct_many(inputs[:1], tmp_path / "cli", samples=2)
    assert not again.done and "output file exists" in again.failed[0][1]


def test_distributed_run_matches_serial(inputs, tmp_path):
    distributed = pytest.importorskip("distributed")
    from astro_i2i.reconstruct import product_path, reconstruct_many

    serial = reconstruct_many(inputs, tmp_path / "serial", samples=2)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:  # fmt: skip
        parallel = reconstruct_many(inputs, tmp_path / "parallel", samples=2, client=client)
    assert len(serial.done) == len(parallel.done) == 3
    for path in inputs:
        a, b = _data(product_path(path, tmp_path / "serial")), _data(product_path(path, tmp_path / "parallel"))
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
