import subprocess
import sys

import pytest

from cvlib.cli import main
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
