"""The whole registry against its metadata: every model is built on the meta device (shapes only, no
weights), profiled once, and compared with the paper's figures and the library counts it records."""

import re
from pathlib import Path

import pytest
import torch

import cvlib
from cvlib.models import MODELS
from cvlib.models.registry import ModelInfo, register_model, within_rounding

BIB = Path(__file__).resolve().parents[2] / "book" / "references.bib"
BIB_KEYS = set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(encoding="utf-8"), flags=re.M))


def test_every_builder_lives_in_its_family_module():
    assert len(MODELS) >= 33
    for name, i in MODELS.items():
        assert isinstance(i, ModelInfo) and i.name == name
        assert i.builder.__module__.startswith("cvlib.models.") and i.builder.__module__ != "cvlib.models.registry"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_its_metadata(name):
    info = MODELS[name]
    with torch.device("meta"):
        model = info.build()
    prof = cvlib.profile(model, info.input_shape)
    assert all(p.is_meta for p in model.parameters())
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert prof.total_params == n_params

    # What the model says of itself agrees with the registry, and it outputs one score per class.
    assert getattr(model, "input_size", info.input_size[0]) in (info.input_size[0], info.input_size)
    assert getattr(model, "in_channels", info.in_channels) == info.in_channels
    assert prof.input_shape == info.input_shape
    assert prof.rows[-1].output_shape == (info.num_classes,)

    assert info.paper in BIB_KEYS, f"{info.paper!r} is not a key of book/references.bib"

    if info.library_params is not None:
        assert n_params == info.library_params, f"{info.library} has {info.library_params:,} parameters"

    for kind, ours, figure, rtol, differ in (
            ("params", n_params, info.paper_params, info.params_rtol, info.params_differ),
            ("MACs", prof.total_macs, info.paper_macs, info.macs_rtol, info.macs_differ)):
        if figure is None:
            continue
        assert info.source, f"{kind}: a paper figure needs its source"
        assert 0 < rtol < 0.2, f"{kind}: rtol {rtol} is not the rounding of a printed figure"
        agrees = within_rounding(ours, figure, rtol)
        if differ:
            # The documented difference is real: beyond the rounding of the printed figure.
            assert not agrees, f"{kind}: {ours:,} rounds to the paper's {figure:,}; drop the *_differ note"
        else:
            assert agrees, (f"{kind}: {ours:,} is {ours / figure - 1:+.2%} from the paper's {figure:,} "
                            f"(rounding allows ±{rtol:.2%}); fix the model or document why in *_differ")


def test_within_rounding():
    assert within_rounding(138_357_544, 138_000_000, 0.5 / 138)
    assert within_rounding(138_500_000, 138_000_000, 0.5 / 138)  # the half unit itself
    assert not within_rounding(138_500_001, 138_000_000, 0.5 / 138)
    assert within_rounding(60_000, 60_000, 0.0) and not within_rounding(60_001, 60_000, 0.0)


def test_claimed_library_counts_and_documented_differences():
    # torchvision's documented counts (weights=None, trainable parameters), set by hand here: with the
    # test above (registry count == our count) they make our count == torchvision's.
    library = {n: i.library_params for n, i in MODELS.items() if i.library_params is not None}
    assert library == {
        "vgg11": 132_863_336, "vgg13": 133_047_848, "vgg16": 138_357_544, "vgg19": 143_667_240,
        "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50_v1_5": 25_557_032,
        "densenet121": 7_978_856, "densenet169": 14_149_480, "densenet201": 20_013_928,
        "mobilenet_v2": 3_504_872}
    differs = sorted((n, kind) for n, i in MODELS.items()
                     for kind, why in (("params", i.params_differ), ("MACs", i.macs_differ)) if why)
    assert differs == [("alexnet_2gpu", "params"), ("googlenet", "MACs"), ("mobilenet_v1_conv", "MACs"),
                       ("mobilenet_v2", "MACs"), ("mobilenet_v2", "params"), ("resnet34", "MACs"),
                       ("resnet50", "MACs")]


@pytest.mark.parametrize("kwargs,match", [
    (dict(paper_params=100), "needs its source"),
    (dict(params_rtol=0.1), "paper_params, which is not given"),
    (dict(macs_differ="why"), "paper_macs, which is not given"),
    (dict(paper_macs=100, source="Table 1", macs_differ=3), "macs_differ must be a string"),
    (dict(library="torchvision.models.x"), "go together"),
    (dict(paper_params=0, source="Table 1"), "paper_params must be an integer >= 1"),
    (dict(paper_params=100, source="Table 1", params_rtol=2.0), "params_rtol"),
    (dict(input_size=(224, 0)), r"input_size\[1\]"),
])
def test_register_model_rejects_bad_metadata(kwargs, match):
    kwargs = {"paper": "he2016deep", "input_size": 224, **kwargs}
    with pytest.raises(ValueError, match=match):
        register_model("test_only_model", **kwargs)
    assert "test_only_model" not in MODELS


def test_a_name_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        register_model("resnet18", paper="he2016deep", input_size=224)(lambda: None)
    with pytest.raises(ValueError, match="lower-case"):
        register_model("ResNet18", paper="he2016deep", input_size=224)
