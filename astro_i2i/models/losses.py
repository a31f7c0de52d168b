"""Losses of the 2-to-1 model."""

import torch

__all__ = ["distance_correlation"]


def _centred_distances(x, eps=1e-12):
    # Not torch.cdist: its gradient is NaN at the zero self-distances.
    squared = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(dim=-1)
    off_diagonal = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
    distances = torch.where(off_diagonal, torch.sqrt(squared + eps), torch.zeros_like(squared))
    return distances - distances.mean(dim=0, keepdim=True) - distances.mean(dim=1, keepdim=True) + distances.mean()


def distance_correlation(a, b, eps=1e-9):
    """Distance correlation (Szekely et al. 2007) between two sets of samples.

    Parameters
    ----------
    a, b : `torch.Tensor`
        ``(n, ...)``: n paired samples of any shape (flattened per sample).
        Zero only if ``a`` and ``b`` are independent (for n -> infinity);
        1 if one is a similarity transform of the other.

    Returns
    -------
    dcor : `torch.Tensor`
        Scalar in [0, 1], differentiable.
    """
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"need paired samples, got {a.shape[0]} and {b.shape[0]}")
    if a.shape[0] < 2:
        raise ValueError("distance correlation needs at least two samples")
    a_centred = _centred_distances(a.reshape(a.shape[0], -1).float())
    b_centred = _centred_distances(b.reshape(b.shape[0], -1).float())
    covariance = (a_centred * b_centred).mean()
    variance_a = (a_centred * a_centred).mean()
    variance_b = (b_centred * b_centred).mean()
    return torch.sqrt(torch.clamp(covariance, min=0) / (torch.sqrt(variance_a * variance_b) + eps) + eps)
