import subprocess
import sys

import pytest

from cvlib.cli import main, paper_figure
from cvlib.models import MODELS, build


def test_profile_vgg16(capsys):
    assert main(["profile", "vgg16"]) == 0
    out = capsys.readouterr().out
    assert "138,357,544" in out
    assert "15.47 G" in out


def test_rf_vgg16(capsys):
    assert main(["rf", "vgg16"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("features.conv5_3"))
    assert line.split()[2] == "196"


def test_help_lists_models():
    out = subprocess.run([sys.executable, "-m", "cvlib", "--help"], capture_output=True, text=True, check=True).stdout
    for name in MODELS:
        assert name in out


def test_unknown_model():
    with pytest.raises(SystemExit):
        main(["profile", "no-such-net"])
    with pytest.raises(ValueError, match="known models"):
        build("no-such-net")


def _list_rows(out: str) -> dict[str, list[str]]:
    """The table's rows by model name (the lines between the rule under the header and the blank line)."""
    lines = out.split("\n\n")[0].splitlines()[2:]
    return {line.split()[0]: line.split() for line in lines}


def test_list_prints_every_model_with_its_metadata(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    rows = _list_rows(out)
    assert list(rows) == sorted(MODELS)
    for name, cells in rows.items():
        info = MODELS[name]
        assert cells[1] == info.paper and cells[2] == "×".join(map(str, info.input_shape))
    assert rows["vgg16"][3:] == ["138M", "-", "Table", "2", "torchvision", "vgg16", "138,357,544"]
    assert rows["lenet5"][2:5] == ["1×32×32", "60,000", "-"]
    assert rows["mobilenet_v1"][3:5] == ["4.2M", "569M"] and rows["resnet20_cifar"][3] == "0.27M"
    assert rows["resnet152"][3:5] == ["-", "11.3G"] and rows["mobilenet_v1_conv"][4] == "4866M"
    # A documented difference is marked and explained below the table.
    assert rows["resnet50"][4:6] == ["3.8G", "[7]"]
    assert "[7] resnet50 MACs: 3,857,973,248 is 3.86 G" in out


def test_list_pattern(capsys):
    assert main(["list", "resnet*"]) == 0
    rows = _list_rows(capsys.readouterr().out)
    assert set(rows) == {n for n in MODELS if n.startswith("resnet")}
    assert rows["resnet50_v1_5"][-2:] == ["resnet50", "25,557,032"]
    assert main(["list", "vgg1?"]) == 0
    assert set(_list_rows(capsys.readouterr().out)) == {"vgg11", "vgg13", "vgg16", "vgg19"}
    assert main(["list", "no-such-*"]) == 1
    assert "no model matches" in capsys.readouterr().out


def test_list_from_the_shell():
    out = subprocess.run([sys.executable, "-m", "cvlib", "list", "densenet*"], capture_output=True, text=True,
                         check=True).stdout
    assert set(_list_rows(out)) == {"densenet121", "densenet169", "densenet201", "densenet264"}
    assert "20,013,928" in out and "§4.4" in out


@pytest.mark.parametrize("value,rtol,text", [
    (None, 0.0, "-"), (138_000_000, 0.5 / 138, "138M"), (4_200_000, 0.05 / 4.2, "4.2M"),
    (270_000, 0.005 / 0.27, "0.27M"), (1_800_000_000, 0.05 / 1.8, "1.8G"), (4_866_000_000, 0.5 / 4866, "4866M"),
    (60_000, 0.5 / 60_000, "60,000"), (60_000, 0.0, "60,000"),
])
def test_paper_figure_prints_the_papers_digits(value, rtol, text):
    assert paper_figure(value, rtol) == text
