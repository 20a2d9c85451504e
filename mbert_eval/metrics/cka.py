"""Linear centered kernel alignment (CKA) between two sets of representations of the same examples.

Kornblith et al. (2019), "Similarity of Neural Network Representations Revisited", eq. for the linear kernel: with
X (n × p) and Y (n × q) centred column-wise, CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F), the normalized HSIC of the
two linear kernels. It is invariant to orthogonal transforms and isotropic scaling of either side, not to
arbitrary invertible linear maps; Conneau et al. (2020) use it between languages' representations of parallel
sentences.
"""

from __future__ import annotations

import torch


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA (Kornblith et al. 2019) between rows of `x` (n × p) and rows of `y` (n × q): row i of both is
    the same example; 1.0 for representations equal up to rotation and scale, near 0 for unrelated ones. Computed
    in float64; an all-constant side has no similarity to measure and is a ValueError."""
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear CKA needs two matrices with the same rows, got {tuple(x.shape)} and {tuple(y.shape)}")
    x = x.double() - x.double().mean(0, keepdim=True)
    y = y.double() - y.double().mean(0, keepdim=True)
    cross = torch.linalg.matrix_norm(y.T @ x) ** 2
    norms = torch.linalg.matrix_norm(x.T @ x) * torch.linalg.matrix_norm(y.T @ y)
    if norms == 0:
        raise ValueError("linear CKA of a constant representation is undefined")
    return (cross / norms).item()
