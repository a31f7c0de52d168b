"""One options object for every path, and the primary beam as an input like the dirty image (issue 26)."""

import dataclasses
import pickle

import numpy as np
import pytest
from astropy.io import fits

from astro_i2i.exceptions import InputError
from astro_i2i.io import find_primary_beam, read_cube, read_image, read_primary_beam

from .conftest import NCHAN, celestial_header, make_data, write_cube


def _pb_plane(n, width=0.6):
    """A Gaussian primary beam peaking at 1 on the reference pixel (n/2) of `celestial_header`'s grid."""
    yy, xx = np.mgrid[:n, :n]
    return np.exp(-((xx - n / 2) ** 2 + (yy - n / 2) ** 2) / (2 * (width * n) ** 2)).astype(np.float32)


def _write_pb(path, n=64, *, planes=None):
    """A CASA-like .pb: (RA, DEC, FREQ, STOKES) with one plane, or ``planes`` channels (RA, DEC, FREQ)."""
    if planes is None:
        header, _ = celestial_header(n, axes="casa", bunit=None, beam=False)
        data = _pb_plane(n)[np.newaxis, np.newaxis]
    else:
        header, _ = celestial_header(n, axes="cube", bunit=None, beam=False, nchan=len(planes))
        data = np.stack(planes)
    fits.PrimaryHDU(data, header=header).writeto(path)
    return path


def test_options_are_checked_once_and_frozen():
    from astro_i2i.reconstruct import ReconstructOptions

    options = ReconstructOptions(samples=np.int64(3), seed=np.int32(5), min_reliability=0.5)
    assert (options.samples, options.seed, options.min_reliability) == (3, 5, 0.5)
    assert type(options.samples) is int and type(options.seed) is int
    assert ReconstructOptions().seed_or_default == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.samples = 4
    for bad, error, match in [({"samples": 0}, ValueError, "samples must be a positive integer, not 0"),
                              ({"samples": 2.5}, ValueError, "not 2.5"), ({"samples": True}, ValueError, "not True"),
                              ({"steps": -1}, ValueError, "steps"), ({"seed": "1"}, TypeError, "seed"),
                              ({"min_reliability": 1.5}, ValueError, "min_reliability must lie in"),
                              ({"force": "yes"}, TypeError, "force must be True or False, not 'yes'"),
                              ({"primary_beam": 3}, TypeError, "primary_beam must be a file name"),
                              ({"pb_corrected": True}, InputError, "needs the primary beam")]:  # fmt: skip
        with pytest.raises(error, match=match):
            ReconstructOptions(**bad)
    # replace() checks again; options= and keywords together are refused; the object travels to workers.
    with pytest.raises(ValueError, match="samples"):
        options.replace(samples=0)
    with pytest.raises(ValueError, match=r"give options= or the keywords \(seed\), not both"):
        ReconstructOptions.from_keywords(options, seed=1)
    with pytest.raises(TypeError, match="unknown reconstruction option"):
        ReconstructOptions.from_keywords(None, sample=1)
    assert ReconstructOptions.from_keywords(options, force=False, clean_bright=True) is options
    assert pickle.loads(pickle.dumps(options)) == options


def test_reconstruct_takes_options_or_keywords(tmp_path):
    from astro_i2i import Reconstructor
    from astro_i2i.reconstruct import ReconstructOptions

    header, shape = celestial_header(64)
    image = (make_data(shape, seed=3), header)
    reconstructor = Reconstructor.from_pretrained()
    by_keywords = reconstructor.reconstruct(image, samples=2, seed=4)
    by_object = reconstructor.reconstruct(image, options=ReconstructOptions(samples=2, seed=4))
    # (Equal to float rounding: under a loaded CPU, torch's convolutions have differed in the last bits.)
    np.testing.assert_allclose(by_keywords.sky, by_object.sky, rtol=1e-5, atol=1e-9 * np.nanmax(by_keywords.sky))
    assert by_keywords.provenance == by_object.provenance
    with pytest.raises(ValueError, match="not both"):
        reconstructor.reconstruct(image, samples=2, options=ReconstructOptions())
    with pytest.raises(ValueError, match="batch_size must be a positive integer, not 0"):
        reconstructor.reconstruct(image, samples=2, batch_size=0)


def test_primary_beam_beside_the_image_is_found(tmp_path):
    for image, pb in [("field.image.fits", "field.pb.fits"), ("field.image", "field.pb"),
                      ("member.uid___A1.spw0.cont.I.pbcor.fits", "member.uid___A1.spw0.cont.I.pb.fits.gz"),
                      ("x.image.pbcor.fits", "x.pb.fits")]:  # fmt: skip
        (tmp_path / image).write_bytes(b"")
        (tmp_path / pb).write_bytes(b"")
        assert find_primary_beam(tmp_path / image) == tmp_path / pb, image
    # Names that follow no imager's pattern, and inputs that are not files, have none.
    (tmp_path / "dirty_000.fits").write_bytes(b"")
    (tmp_path / "dirty_000.pb.fits").write_bytes(b"")
    assert find_primary_beam(tmp_path / "dirty_000.fits") is None
    assert find_primary_beam(tmp_path / "other.image.fits") is None  # no .pb beside it
    assert find_primary_beam(np.zeros((4, 4))) is None


def test_cube_primary_beam_one_plane_per_channel_read_once(tmp_path, monkeypatch):
    from astro_i2i import Reconstructor
    from astro_i2i.io import _read

    path = write_cube(tmp_path / "cube.fits")
    planes = [_pb_plane(64, width=0.3 + 0.1 * k) for k in range(NCHAN)]
    pb_path = _write_pb(tmp_path / "cube_pb.fits", planes=planes)
    cube = read_cube(path)
    assert read_primary_beam(pb_path, image=cube).shape == (NCHAN, 64, 64)
    assert read_primary_beam(_write_pb(tmp_path / "flat.pb.fits"), image=cube).shape == (64, 64)
    with pytest.raises(InputError, match="primary beam has 2 planes; .* needs 1 or 4 \\(one per channel\\)"):
        read_primary_beam(_write_pb(tmp_path / "two.fits", planes=planes[:2]), image=cube)

    reads = []
    original = _read.read_hdu
    monkeypatch.setattr(_read, "read_hdu", lambda source, **kw: (reads.append(str(source)), original(source, **kw))[1])
    reconstructor = Reconstructor.from_pretrained()
    result = reconstructor.reconstruct(path, samples=2, primary_beam=str(pb_path))
    assert reads.count(str(pb_path)) == 1  # the file is read once for the whole cube
    assert result.provenance["primary_beam"] == str(pb_path)
    # Each channel is the 2-D reconstruction of that channel with its own plane of the primary beam.
    channel = reconstructor.reconstruct(cube.channel(2), samples=2, seed=2, primary_beam=planes[2])
    np.testing.assert_array_equal(result.sky[2], channel.sky)
    flux = result.catalog[result.catalog["channel"] == 2]["flux"]
    np.testing.assert_allclose(np.sort(flux.value), np.sort(channel.catalog["flux"].value))


def test_a_file_that_is_not_a_primary_beam_is_refused(tmp_path):
    header, shape = celestial_header(64)
    dirty = tmp_path / "dirty.fits"
    fits.PrimaryHDU(make_data(shape), header=header).writeto(dirty)
    image = read_image(dirty)
    psf_header, _ = celestial_header(64, bunit=None, beam=False)
    yy, xx = np.mgrid[:64, :64]
    psf = np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 18.0) - 0.1 * np.cos(0.5 * xx)
    fits.PrimaryHDU(psf.astype(np.float32), header=psf_header).writeto(tmp_path / "psf.fits")
    fits.PrimaryHDU((0.5 * _pb_plane(64)), header=psf_header).writeto(tmp_path / "half.fits")
    shifted = np.roll(_pb_plane(64, width=0.1), 25, axis=1)
    fits.PrimaryHDU(shifted, header=psf_header).writeto(tmp_path / "shifted.fits")
    for name, match in [("dirty.fits", "brightness unit 'Jy/beam'"), ("psf.fits", "negative values"),
                        ("half.fits", "peaks at 0.5, not near 1"), ("shifted.fits", "pixels from .*'s pointing")]:  # fmt: skip
        with pytest.raises(InputError, match=match):
            read_primary_beam(tmp_path / name, image=image)


def test_many_files_take_one_primary_beam_or_each_their_own(tmp_path, capsys):
    from astro_i2i.cli import main
    from astro_i2i.io import read_products
    from astro_i2i.reconstruct import product_path, reconstruct_many

    (tmp_path / "in").mkdir()
    inputs = []
    for k in range(2):
        header, shape = celestial_header(64)
        path = tmp_path / "in" / f"field{k}.image.fits"
        fits.PrimaryHDU(make_data(shape, seed=k), header=header).writeto(path)
        inputs.append(path)
    beside = _write_pb(tmp_path / "in" / "field0.pb.fits")
    shared = _write_pb(tmp_path / "shared_pb.fits")
    result = reconstruct_many(inputs, tmp_path / "own", samples=2)
    assert not result.failed
    recorded = [read_products(product_path(p, tmp_path / "own")).provenance.get("primary_beam") for p in inputs]
    assert recorded == [str(beside), "model antenna (Airy)"]
    # One for all, from the command line (refused before 0.3).
    with pytest.raises(SystemExit) as exit_info:
        main(["reconstruct", *map(str, inputs), "-o", str(tmp_path / "one") + "/", "-k", "2", "--pb", str(shared),
              "--no-progress"])  # fmt: skip
    assert exit_info.value.code == 0, capsys.readouterr()
    for path in inputs:
        assert read_products(product_path(path, tmp_path / "one")).provenance["primary_beam"] == str(shared)
    # A primary beam that does not fit is each file's failure, with its reason.
    wrong = _write_pb(tmp_path / "small_pb.fits", n=32)
    result = reconstruct_many(inputs, tmp_path / "wrong", samples=2, primary_beam=wrong)
    assert len(result.failed) == 2 and "primary beam is 32 x 32 pixels" in result.failed[0][1]
