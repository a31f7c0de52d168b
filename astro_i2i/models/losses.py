"""Losses of the 2-to-1 model."""

import torch

__all__ = ["distance_correlation"]


def _u_centred_distances(x, eps=1e-12):
    """U-centred distance matrix (Szekely & Rizzo 2014), zero on the diagonal."""
    n = len(x)
    # Not torch.cdist: its gradient is NaN at the zero self-distances.
    squared = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(dim=-1)
    off_diagonal = ~torch.eye(n, dtype=torch.bool, device=x.device)
    distances = torch.where(off_diagonal, torch.sqrt(squared + eps), torch.zeros_like(squared))
    rows = distances.sum(dim=1, keepdim=True) / (n - 2)
    columns = distances.sum(dim=0, keepdim=True) / (n - 2)
    total = distances.sum() / ((n - 1) * (n - 2))
    return torch.where(off_diagonal, distances - rows - columns + total, torch.zeros_like(distances))


def distance_correlation(a, b, *, squared=False):
    """Bias-corrected distance correlation (Szekely & Rizzo 2014) between paired samples.

    The plain (V-statistic) estimator is biased towards 1 for small batches
    (about 0.6 for independent variables at n = 8); the U-centred one is
    unbiased for the squared distance correlation, so independent samples give
    about 0 whatever the batch size.

    Parameters
    ----------
    a, b : `torch.Tensor`
        ``(n, ...)``: n >= 4 paired samples of any shape (flattened per sample).
    squared : bool, optional
        Return the squared statistic (can be slightly negative; smooth, the
        better training loss) instead of its square root clipped at 0.

    Returns
    -------
    dcor : `torch.Tensor`
        Scalar, differentiable.
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"need paired samples, got {a.shape[0]} and {b.shape[0]}")
    n = a.shape[0]
    if n < 4:
        raise ValueError(f"the bias-corrected distance correlation needs at least 4 samples, got {n}")
    a_centred = _u_centred_distances(a.reshape(n, -1).float())
    b_centred = _u_centred_distances(b.reshape(n, -1).float())
    scale = 1.0 / (n * (n - 3))
    covariance = scale * (a_centred * b_centred).sum()
    # eps inside the sqrt: a batch of empty skies has zero variance, and sqrt'(0) is infinite.
    variance = scale * torch.sqrt((a_centred * a_centred).sum() * (b_centred * b_centred).sum() + 1e-20)
    r_squared = covariance / (variance + 1e-12)
    return r_squared if squared else torch.sqrt(torch.clamp(r_squared, min=0.0) + 1e-12)
