"""Linear CKA (Kornblith et al. 2019) against a direct HSIC computation and its invariances."""

import pytest
import torch

from mbert_eval.metrics import linear_cka


def hsic(k: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """HSIC of two kernel matrices, tr(K H L H) / (n - 1)², with H the centring matrix (Gretton et al. 2005)."""
    n = k.shape[0]
    h = torch.eye(n, dtype=torch.float64) - 1.0 / n
    return torch.trace(k @ h @ m @ h) / (n - 1) ** 2


def data(rows: int = 60, width: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_linear_cka_is_the_normalized_hsic_of_the_linear_kernels():
    x, y = data(seed=0), data(width=7, seed=1) + 0.5 * data(seed=0)[:, :7]
    k, m = x @ x.T, y @ y.T
    direct = hsic(k, m) / torch.sqrt(hsic(k, k) * hsic(m, m))
    assert linear_cka(x, y) == pytest.approx(direct.item(), rel=1e-9)


def test_linear_cka_is_one_under_rotation_scaling_and_translation():
    x = data()
    rotation, _ = torch.linalg.qr(data(rows=10, seed=2))
    assert linear_cka(x, 3.0 * x @ rotation + 5.0) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(x, x.float()) == pytest.approx(1.0, abs=1e-6)


def test_linear_cka_is_not_invariant_to_any_linear_map():
    x = data()
    stretch = torch.diag(torch.tensor([30.0] + [1.0] * 9, dtype=torch.float64))
    assert linear_cka(x, x @ stretch) < 0.9


def test_linear_cka_of_independent_data_is_near_zero_and_symmetric():
    x, y = data(rows=2000, seed=3), data(rows=2000, seed=4)
    assert linear_cka(x, y) < 0.02
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x))


def test_linear_cka_refuses_unpaired_rows_and_constant_sides():
    with pytest.raises(ValueError, match="same rows"):
        linear_cka(data(rows=5), data(rows=6))
    with pytest.raises(ValueError, match="constant"):
        linear_cka(torch.ones(5, 3), data(rows=5))
