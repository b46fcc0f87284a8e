"""The shape of cvlib: dependencies point one way, packages export explicitly, notebooks use public names.

Rank of each package (a module may import only packages of lower rank, or its own package)::

    _validate < analysis < nn < {scratch, train, data} < models < detection;   book imports only _validate

``scratch``, ``train`` and ``data`` sit side by side and do not import one another. ``cvlib/__init__``,
``__main__`` and ``cli`` may import anything.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pathlib

import jupytext
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CVLIB = ROOT / "cvlib"
RANK = {"_validate": 0, "analysis": 1, "nn": 2, "scratch": 3, "train": 3, "data": 3, "models": 4, "detection": 5}
FREE = {"__init__", "__main__", "cli"}


def package_of(path: pathlib.Path) -> str:
    return path.relative_to(CVLIB).parts[0].removesuffix(".py")


def cvlib_imports(path: pathlib.Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno} uses a relative import; "
                                     "cvlib imports absolutely")
            if node.module and node.module.split(".")[0] == "cvlib":
                parts = node.module.split(".")
                targets = [parts[1]] if len(parts) > 1 else [a.name for a in node.names]
                found += [(node.lineno, t) for t in targets]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name.split(".")[1]) for a in node.names
                      if a.name.startswith("cvlib.")]
    return found


MODULES = sorted(p for p in CVLIB.rglob("*.py") if package_of(p) not in FREE)


def test_every_package_is_ranked():
    packages = {package_of(p) for p in MODULES}
    assert packages <= set(RANK) | {"book"}, packages - set(RANK)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(CVLIB)))
def test_imports_point_one_way(path):
    own = package_of(path)
    for line, target in cvlib_imports(path):
        if target == own:
            continue
        where = f"{path.relative_to(ROOT)}:{line} imports cvlib.{target}"
        if own == "book":
            assert target == "_validate", f"{where}; the page devices import only cvlib._validate"
            continue
        assert target in RANK, f"{where}, which no library module may import"
        assert RANK[target] < RANK[own], f"{where}, but cvlib.{own} comes before cvlib.{target}"


@pytest.mark.parametrize("path", sorted(CVLIB.rglob("__init__.py")), ids=lambda p: str(p.relative_to(CVLIB)))
def test_packages_export_explicitly(path):
    text = path.read_text()
    tree = ast.parse(text)
    assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no docstring saying what belongs there"
    assert "globals()" not in text and "noqa: E402" not in text
    module = importlib.import_module(".".join(path.relative_to(ROOT).parent.parts))
    assert isinstance(module.__all__, list)
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists {name!r}, which it does not define"


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.md"))


def notebook_imports(md: pathlib.Path) -> list[ast.ImportFrom | ast.Import]:
    nb = jupytext.read(md)
    nodes = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:       # a cell of IPython magics
            continue
        nodes += [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                  and "cvlib" in ast.unparse(n)]
    return nodes


@pytest.mark.parametrize("md", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_import_public_names(md):
    for node in notebook_imports(md):
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
            continue
        module = importlib.import_module(node.module)
        public = getattr(module, "__all__", None)
        for alias in node.names:
            name = alias.name
            is_submodule = hasattr(module, "__path__") and importlib.util.find_spec(f"{node.module}.{name}") is not None
            assert not name.startswith("_"), f"{md.name} imports the private {node.module}.{name}"
            assert is_submodule or (public is not None and name in public), (
                f"{md.name} imports {node.module}.{name}, which is not in that module's __all__")
