"""Antenna lists and earth-rotation synthesis of the uv coverage."""

import functools

import numpy as np

from ..data import antenna_config_path
from ..exceptions import InputError

__all__ = ["read_antenna_config", "baseline_uvw", "hour_angles"]

SIDEREAL_DAY_S = 86164.0905


def read_antenna_config(name_or_path):
    """Read a CASA antenna list (``.cfg``, ``coordsys=LOC``).

    Parameters
    ----------
    name_or_path : str or path-like
        A shipped configuration (``'alma.cycle5.3'``) or a path to a ``.cfg`` file.

    Returns
    -------
    positions : `~numpy.ndarray`, shape (n_antennas, 3)
        East, north, up positions in metres relative to the array centre.
    diameters : `~numpy.ndarray`, shape (n_antennas,)
        Dish diameters in metres.
    names : list of str
        Pad names.
    """
    path = antenna_config_path(str(name_or_path))
    positions, diameters, names = _read_cfg(path, path.stat().st_mtime_ns)
    return positions.copy(), diameters.copy(), list(names)


@functools.lru_cache(maxsize=16)
def _read_cfg(path, modified_ns):
    """Parse a .cfg file; cached per path and modification time."""
    rows, coordsys = [], None
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            if "coordsys" in stripped.lower():
                coordsys = stripped.split("=", 1)[1].strip().split()[0].upper()
            continue
        rows.append(stripped.split())
    if coordsys not in (None, "LOC"):
        raise InputError(path, f"coordsys={coordsys} is not supported; only LOC (local east, north, up)")
    try:
        positions = np.array([[float(v) for v in row[:3]] for row in rows])
        diameters = np.array([float(row[3]) for row in rows])
    except (ValueError, IndexError):
        raise InputError(path, "rows must be 'x y z diameter [pad]'") from None
    if len(rows) < 2:
        raise InputError(path, "needs at least two antennas")
    names = tuple(row[4] if len(row) > 4 else f"A{i:03d}" for i, row in enumerate(rows))
    return positions, diameters, names


def hour_angles(duration_s, integration_s):
    """Hour angles (radians) of the integration midpoints, centred on transit."""
    n = max(int(round(duration_s / integration_s)), 1)
    seconds = (np.arange(n) - (n - 1) / 2) * integration_s
    return 2 * np.pi * seconds / SIDEREAL_DAY_S


def baseline_uvw(positions, latitude_deg, dec_deg, hour_angle_rad):
    """uvw coordinates (metres) of every baseline at every hour angle.

    Local (east, north, up) positions are turned into equatorial ``XYZ``
    baselines and projected towards the source (Thompson, Moran & Swenson,
    eq. 4.1): u points east, v north. One sign per baseline (i < j); imagers
    add the conjugate at ``-uvw``.

    Returns
    -------
    uvw : `~numpy.ndarray`, shape (n_times * n_baselines, 3)
    """
    lat = np.radians(latitude_deg)
    dec = np.radians(dec_deg)
    east, north, up = positions.T
    x = -np.sin(lat) * north + np.cos(lat) * up
    y = east
    z = np.cos(lat) * north + np.sin(lat) * up
    i, j = np.triu_indices(len(positions), k=1)
    bx, by, bz = x[j] - x[i], y[j] - y[i], z[j] - z[i]
    h = np.asarray(hour_angle_rad)[:, np.newaxis]
    sh, ch = np.sin(h), np.cos(h)
    u = sh * bx + ch * by
    v = -np.sin(dec) * ch * bx + np.sin(dec) * sh * by + np.cos(dec) * bz
    w = np.cos(dec) * ch * bx - np.cos(dec) * sh * by + np.sin(dec) * bz
    return np.stack([u.ravel(), v.ravel(), w.ravel()], axis=1)
