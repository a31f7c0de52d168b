"""Many inputs in one call: serial and dask.distributed give the same products; resumable with skip_existing."""

import numpy as np
import pytest
from astropy.io import fits

from .conftest import celestial_header, make_data, write_cube

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


@pytest.fixture
def cube(tmp_path):
    (tmp_path / "in").mkdir(exist_ok=True)
    return write_cube(tmp_path / "in" / "cube.fits")


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


def _same_products(inputs, dir_a, dir_b):
    from astro_i2i.reconstruct import product_path

    for path in inputs:
        a, b = _data(product_path(path, dir_a)), _data(product_path(path, dir_b))
        assert a.keys() == b.keys()
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
        for table in ("CATALOG", "CATALOG_SOURCES"):
            if table in a:
                with fits.open(product_path(path, dir_a)) as ha, fits.open(product_path(path, dir_b)) as hb:
                    assert ha[table].data.tobytes() == hb[table].data.tobytes()


def test_interrupted_run_leaves_no_partial_cube(inputs, cube, tmp_path):
    from astro_i2i.reconstruct import reconstruct_many

    order = [inputs[0], cube, *inputs[1:]]
    full = reconstruct_many(order, tmp_path / "full", samples=2, block=1)
    assert len(full.done) == 4
    events = []

    def interrupt(path, output, reason, units):
        events.append((path, units))
        if path == str(cube) and len(events) == 3:  # the cube's second block is in: Ctrl-C
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        reconstruct_many(order, tmp_path / "resumed", samples=2, block=1, _on_event=interrupt)
    # The finished image stays; the half-written cube is gone, no temporary file left behind.
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == ["field0_i2i.fits"]
    resumed = reconstruct_many(order, tmp_path / "resumed", samples=2, block=1, skip_existing=True)
    assert resumed.skipped == [str(inputs[0])] and len(resumed.done) == 3
    _same_products(order, tmp_path / "full", tmp_path / "resumed")


def test_distributed_run_matches_serial_with_a_killed_worker(inputs, cube, tmp_path):
    """A cube split in channel blocks over 2 processes, one of them killed mid-run: the same products."""
    import os
    import signal

    distributed = pytest.importorskip("distributed")
    from astro_i2i.reconstruct import reconstruct_many

    order = [cube, *inputs]
    serial = reconstruct_many(order, tmp_path / "serial", samples=2, block=1)
    killed = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:  # fmt: skip
        pids = client.run(os.getpid)

        def kill_one(path, output, reason, units):
            if not killed:  # after the first piece of work comes back, a worker dies (the nanny restarts it)
                killed.append(pids[sorted(pids)[0]])
                os.kill(killed[0], signal.SIGKILL)

        parallel = reconstruct_many(order, tmp_path / "parallel", samples=2, client=client, block=1,
                                    _on_event=kill_one)  # fmt: skip
        assert set(client.run(os.getpid).values()).isdisjoint(killed)  # the worker did die
    assert len(serial.done) == len(parallel.done) == 4 and not parallel.failed
    _same_products(order, tmp_path / "serial", tmp_path / "parallel")


def test_preload_and_unreachable_scheduler(inputs, tmp_path, capsys):
    pytest.importorskip("distributed")
    import dask

    from astro_i2i.cli import main
    from astro_i2i.reconstruct import many, preload_model

    # What `dask worker --preload astro_i2i.reconstruct.preload` loads is what the tasks then find in the cache.
    assert preload_model() is many._reconstructor(many._model_name(None), "cpu")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(SystemExit) as exit_info:
        main(["reconstruct", *map(str, inputs), "-o", str(tmp_path / "out") + "/", "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "--scheduler: cannot reach a dask scheduler at tcp://127.0.0.1:9" in err
