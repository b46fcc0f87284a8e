import pytest
import torch

from cvlib.nn.lrn import LocalResponseNorm, local_response_norm


@pytest.mark.parametrize("n", [1, 2, 3, 5, 6])
def test_matches_torch_with_alpha_times_n(n):
    torch.manual_seed(n)
    a = torch.randn(2, 11, 4, 4, dtype=torch.float64) * 30
    ours = local_response_norm(a, n=n, alpha=1e-4, beta=0.75, k=2.0)
    ref = torch.nn.LocalResponseNorm(n, alpha=1e-4 * n, beta=0.75, k=2.0)(a)
    torch.testing.assert_close(ours, ref)


def test_formula_by_hand():
    a = torch.arange(1.0, 8.0).reshape(1, 7, 1, 1)
    i = 3
    window = sum(a[0, j, 0, 0] ** 2 for j in range(i - 2, i + 3))
    expected = a[0, i, 0, 0] / (2 + 1e-4 * window) ** 0.75
    assert torch.isclose(LocalResponseNorm()(a)[0, i, 0, 0], expected)


def test_bad_input():
    with pytest.raises(ValueError, match="N, C, H, W"):
        local_response_norm(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="n"):
        local_response_norm(torch.zeros(1, 3, 2, 2), n=0)
