import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_errata_page_is_built_from_its_data():
    result = subprocess.run([sys.executable, "tools/build_errata.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_errata_entries_point_at_real_notebooks():
    sys.path.insert(0, str(ROOT / "tools"))
    import build_errata

    for entry in build_errata.load():
        assert (ROOT / f"{entry['notebook']}.md").exists()
        # The notebook mentions its erratum (links back to the errata page).
        assert "errata" in (ROOT / f"{entry['notebook']}.md").read_text(encoding="utf-8")
