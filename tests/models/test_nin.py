import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cvlib
from cvlib.analysis import counts
from cvlib.models.nin import NIN, NIN_CONFIGS, MLPConv, nin_cifar10, nin_sizes, slide_mlp

# The authors' cuda-convnet definition of the CIFAR-10 NIN (mavenlin/cuda-convnet, NIN/cifar-10_def),
# transcribed: name -> (input channels, output channels, kernel, padding).
RELEASED = {
    "conv1": (3, 192, 5, 2), "cccp1": (192, 160, 1, 0), "cccp2": (160, 96, 1, 0),
    "conv2": (96, 192, 5, 2), "cccp3": (192, 192, 1, 0), "cccp4": (192, 192, 1, 0),
    "conv3": (192, 192, 3, 1), "cccp5": (192, 192, 1, 0), "cccp6": (192, 10, 1, 0),
}


def convs_by_name(model: nn.Module) -> dict[str, nn.Conv2d]:
    return {name.split(".")[-1]: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}


def test_layers_match_the_released_definition():
    convs = convs_by_name(nin_cifar10())
    assert list(convs) == list(RELEASED)
    for name, (c_in, c_out, k, p) in RELEASED.items():
        conv = convs[name]
        assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (c_in, c_out, (k, k), (p, p))


def test_parameter_count_from_the_released_definition():
    # (k·k·C_in + 1)·C_out per layer, summed over the transcribed definition.
    expected = sum((k * k * c_in + 1) * c_out for c_in, c_out, k, _ in RELEASED.values())
    model = nin_cifar10()
    assert sum(p.numel() for p in model.parameters()) == expected == 966_986
    assert sum(counts.conv2d_params(ci, co, k) for ci, co, k, _ in RELEASED.values()) == expected


def test_every_layer_is_followed_by_relu_and_pools_round_up():
    model = nin_cifar10().eval()
    for block in (model.mlpconv1, model.mlpconv2, model.mlpconv3):
        kids = list(block.children())
        assert [type(m) for m in kids] == [nn.Conv2d, nn.ReLU] * 3
    # Caffe / cuda-convnet pooling: ceil((in - 3) / 2) + 1, so 32 -> 16 -> 8.
    caffe = lambda n: math.ceil((n - 3) / 2) + 1  # noqa: E731
    assert caffe(32) == 16 and caffe(16) == 8
    maps = model.class_maps(torch.zeros(1, 3, 32, 32))
    assert maps.shape == (1, 10, 8, 8)
    assert nin_sizes(32) == [("mlpconv1", 32), ("pool1", 16), ("mlpconv2", 16), ("pool2", 8),
                             ("mlpconv3", 8), ("gap", 1)]
    # PyTorch's default floor rounding would have given 15 and 7.
    assert F.max_pool2d(torch.zeros(1, 1, 32, 32), 3, 2).shape[-1] == 15


def test_forward_is_gap_of_the_class_maps():
    torch.manual_seed(0)
    model = nin_cifar10().double().eval()
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    maps = model.class_maps(x)
    assert torch.allclose(model(x), maps.mean(dim=(2, 3)))
    assert (maps >= 0).all()  # cccp6 is followed by a ReLU, as in the released model


def test_fully_convolutional_on_other_sizes():
    model = nin_cifar10().eval()
    assert model(torch.zeros(1, 3, 48, 40)).shape == (1, 10)
    assert model.class_maps(torch.zeros(1, 3, 48, 40)).shape[-2:] == (12, 10)


def test_dropout_only_in_training():
    torch.manual_seed(0)
    model = nin_cifar10()
    x = torch.randn(2, 3, 32, 32)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(2)
    assert not torch.equal(a, model(x))
    assert [m.p for m in model.modules() if isinstance(m, nn.Dropout)] == [0.5, 0.5]


def test_pool2_avg_variant():
    model = nin_cifar10(pool2="avg")
    assert isinstance(model.pool1, nn.MaxPool2d) and isinstance(model.pool2, nn.AvgPool2d)
    assert model.pool2.ceil_mode
    assert sum(p.numel() for p in model.parameters()) == 966_986


def test_num_classes_replaces_the_last_width():
    model = nin_cifar10(num_classes=7)
    assert convs_by_name(model)["cccp6"].out_channels == 7
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 7)


def test_mlpconv_is_an_mlp_slid_over_patches():
    torch.manual_seed(0)
    block = MLPConv(4, (6, 5, 3), kernel_size=5, padding=2).double()
    x = torch.randn(2, 4, 9, 7, dtype=torch.float64)
    assert torch.allclose(block(x), slide_mlp(block.as_mlp(), x, kernel_size=5, padding=2))
    # one position by hand: the 5×5×4 patch around (3, 2), flattened channel-major
    padded = F.pad(x, (2, 2, 2, 2))
    patch = padded[1, :, 3:8, 2:7].reshape(-1)
    assert torch.allclose(block(x)[1, :, 3, 2], block.as_mlp()(patch))


def test_cccp_layers_are_a_per_pixel_mlp():
    torch.manual_seed(1)
    block = MLPConv(3, (8, 6, 4), kernel_size=3, padding=1).double()
    mlp = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU()).double()
    with torch.no_grad():
        mlp[0].weight.copy_(block.cccp1.weight[:, :, 0, 0])
        mlp[0].bias.copy_(block.cccp1.bias)
        mlp[2].weight.copy_(block.cccp2.weight[:, :, 0, 0])
        mlp[2].bias.copy_(block.cccp2.bias)
    x = torch.randn(2, 3, 6, 5, dtype=torch.float64)
    f1 = block.conv_relu(block.conv(x))
    per_pixel = mlp(f1.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # channels last, Linear, back
    assert torch.allclose(block(x), per_pixel)
    assert torch.allclose(block(x), slide_mlp(mlp, f1))


def test_slide_mlp_of_one_linear_is_conv2d():
    torch.manual_seed(2)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    fc = nn.Linear(3 * 3 * 3, 5).double()
    ours = slide_mlp(fc, x, kernel_size=3, padding=1)
    ref = F.conv2d(x, fc.weight.reshape(5, 3, 3, 3), fc.bias, padding=1)
    assert torch.allclose(ours, ref)


def test_default_names_and_profile_rows():
    block = MLPConv(3, (4, 4, 2), 3)
    assert block.names == ("conv", "cccp1", "cccp2")
    prof = cvlib.profile(nin_cifar10(), 32)
    assert prof.total_params == 966_986
    assert prof["mlpconv3.cccp6"].output_shape == (10, 8, 8)
    assert prof["gap"].output_shape == (10, 1, 1)
    assert prof["mlpconv2.conv2"].macs == counts.conv2d_macs(96, 192, 5, 16)


@pytest.mark.parametrize("call,match", [
    (lambda: MLPConv(3, (), 3), "at least one"),
    (lambda: MLPConv(3, (4, 0), 3), r"widths\[1\] must be an integer >= 1"),
    (lambda: MLPConv(0, (4,), 3), "in_channels"),
    (lambda: MLPConv(3, (4,), 3, padding=-1), "padding"),
    (lambda: MLPConv(3, (4, 4), 3, names=("a",)), "distinct names"),
    (lambda: MLPConv(3, (4, 4), 3, names=("a", "a")), "distinct names"),
    (lambda: slide_mlp(nn.Linear(3, 2), torch.zeros(3, 4, 4)), r"\(N, C, H, W\)"),
    (lambda: slide_mlp(nn.Linear(5, 2), torch.zeros(1, 3, 4, 4)), "first Linear takes 5"),
    (lambda: slide_mlp(nn.Linear(75, 2), torch.zeros(1, 3, 4, 4), kernel_size=5), "larger than the padded"),
    (lambda: NIN("imagenet"), "unknown NIN configuration"),
    (lambda: NIN([]), "non-empty"),
    (lambda: NIN([(3, 1)]), "kernel, padding, widths"),
    (lambda: NIN(pools=("max",)), "pools must give"),
    (lambda: nin_cifar10(pool2="min"), "pools must give"),
    (lambda: NIN(dropout=1.0), "dropout"),
    (lambda: NIN(num_classes=0), "num_classes"),
    (lambda: nin_sizes(0), "input_size"),
])
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_config_table_is_the_papers_cifar10_model():
    blocks = NIN_CONFIGS["cifar10"]
    assert [b[2] for b in blocks] == [(192, 160, 96), (192, 192, 192), (192, 192, 10)]
    assert [b[0] for b in blocks] == [5, 5, 3]
