"""Overlapping tiles with cross-fading, so that images of any size run through a fixed-size network."""

import numpy as np

from .._progress import Progress

__all__ = ["tile_starts", "edge_weights", "tiled", "TILE_MARGIN_FRACTION"]

#: Each tile drops this fraction of its size at its inner edges, and neighbours
#: cross-fade over the same width again: 64 + 64 pixels for 512 x 512 tiles.
TILE_MARGIN_FRACTION = 1 / 8



def tile_starts(length, tile, overlap):
    if length <= tile:
        return [0]
    stride = tile - overlap
    return sorted(set(range(0, length - tile, stride)) | {length - tile})


def edge_weights(start, tile, length, margin, ramp):
    """1-D blending weights of one tile: 0 over ``margin`` pixels at an edge inside the image (where
    the network saw zero padding instead of the neighbours), then a raised-cosine ramp, then 1."""
    w = np.ones(tile, dtype=np.float32)
    rise = (0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)).astype(np.float32)
    if start > 0:
        w[:margin] = 0
        w[margin : margin + ramp] = rise
    if start + tile < length:
        w[tile - margin :] = 0
        w[tile - margin - ramp : tile - margin] = np.minimum(w[tile - margin - ramp : tile - margin], rise[::-1])
    return w


def tiled(image, apply, *, tile, margin, ramp, multiple, batch_size, n_out, style_factor=None, progress=None,
          min_tile=None):  # fmt: skip
    """Run ``apply`` over overlapping tiles of a 2-D image and blend the results.

    Neighbouring tiles overlap by ``2 * margin + ramp`` pixels: each drops the
    ``margin`` pixels next to its inner edges and the two cross-fade over
    ``ramp`` pixels (raised cosine, weights summing to 1).
    ``apply(tiles, indices)`` takes a float32 array ``(B, tile, tile)`` and the
    tiles' indices and returns ``(outputs (B, n_out, tile, tile), style)``,
    ``style`` being None or ``(B, C, tile / style_factor, tile / style_factor)``.
    Returns the blended ``(n_out, H, W)`` outputs and ``(C, h, w)`` style (or None).

    Parameters
    ----------
    image : `~numpy.ndarray`
        The 2-D image ``(H, W)``; NaN are replaced by 0 before tiling.
    apply : callable
        ``apply(tiles, indices) -> (outputs, style)``, as above.
    tile : int
        Tile size in pixels (square tiles); a multiple of ``multiple``.
    margin : int
        Pixels dropped next to each tile's inner edges.
    ramp : int
        Width in pixels of the raised-cosine cross-fade between neighbours.
    multiple : int
        The image is zero-padded to a multiple of this (and to at least
        ``tile``) on each axis.
    batch_size : int
        Tiles passed to ``apply`` at a time.
    n_out : int
        Outputs per tile (the second axis of ``apply``'s outputs).
    style_factor : int, optional
        Downsampling of the style relative to the image; needed only when
        ``apply`` returns a style. Default None.
    progress : None, bool or callable, optional
        Progress over the tiles: True for a `tqdm` bar, or a callable
        ``progress(done, total)`` (`astro_i2i._progress`). Default None.
    min_tile : int, optional
        With it, an image smaller than ``tile`` is one tile of its own size
        (its longer side rounded up to ``multiple``), or of ``min_tile`` if
        that is larger, rather than padded to ``tile``. Default None.

    Returns
    -------
    blended : `~numpy.ndarray`
        The blended outputs ``(n_out, H, W)``, float32, in ``apply``'s units.
    style : `~numpy.ndarray` or None
        The blended style ``(C, ceil(H / style_factor), ceil(W / style_factor))``,
        or None when ``apply`` returns none.
    """
    ny, nx = image.shape
    # An image smaller than a tile is one tile of its own size (rounded up to ``multiple``), or of ``min_tile``.
    if min_tile is not None:
        tile = min(tile, max(min_tile, -(-ny // multiple) * multiple, -(-nx // multiple) * multiple))
    pad_y = max(tile, -(-ny // multiple) * multiple)
    pad_x = max(tile, -(-nx // multiple) * multiple)
    padded = np.zeros((pad_y, pad_x), dtype=np.float32)
    padded[:ny, :nx] = np.nan_to_num(image)
    overlap = 2 * margin + ramp
    corners = [(y, x) for y in tile_starts(pad_y, tile, overlap) for x in tile_starts(pad_x, tile, overlap)]
    total = np.zeros((n_out, pad_y, pad_x), dtype=np.float32)
    weight = np.zeros((pad_y, pad_x), dtype=np.float32)
    style_total = style_weight = None
    report = Progress(progress, len(corners), desc="tiles", unit="tile")
    for first in range(0, len(corners), batch_size):
        batch = corners[first : first + batch_size]
        tiles = np.stack([padded[y : y + tile, x : x + tile] for y, x in batch])
        outputs, style = apply(tiles, list(range(first, first + len(batch))))
        for (y, x), out in zip(batch, outputs):
            window = np.outer(edge_weights(y, tile, pad_y, margin, ramp), edge_weights(x, tile, pad_x, margin, ramp))
            total[:, y : y + tile, x : x + tile] += out * window
            weight[y : y + tile, x : x + tile] += window
        if style is not None:
            f, ts = style_factor, style.shape[-1]
            if style_total is None:
                style_total = np.zeros((style.shape[1], pad_y // f, pad_x // f), dtype=np.float32)
                style_weight = np.zeros((pad_y // f, pad_x // f), dtype=np.float32)
            m, r = margin // f, max(1, ramp // f)
            for (y, x), st in zip(batch, style):
                window = np.outer(edge_weights(y // f, ts, pad_y // f, m, r), edge_weights(x // f, ts, pad_x // f, m, r))
                style_total[:, y // f : y // f + ts, x // f : x // f + ts] += st * window
                style_weight[y // f : y // f + ts, x // f : x // f + ts] += window
        report.update(len(batch))
    report.close()
    blended = total / weight
    style_map = None
    if style_total is not None:
        f = style_factor
        style_map = (style_total / np.maximum(style_weight, 1e-12))[:, : -(-ny // f), : -(-nx // f)]
    return blended[:, :ny, :nx], style_map
