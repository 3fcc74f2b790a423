"""The package a learner opens: layered, small, every module a module, nothing process-wide.

The layering itself (each layer imports only those below it, the library never imports the
lessons or the course tools, no cycles) is import-linter's job: ``lint-imports`` in make test,
with the contracts in pyproject.toml.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest
from setuptools import find_packages

import imgsim_helpers

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "imgsim_helpers"
# The installed library: everything but the per-notebook experiment code.
LIBRARY_FILES = sorted(p for p in PACKAGE.rglob("*.py") if "lessons" not in p.relative_to(PACKAGE).parts)
LINE_BUDGET = 9_000
LONGEST_FUNCTION = 80

ALL_MODULES = sorted(m.name for m in pkgutil.walk_packages(imgsim_helpers.__path__, "imgsim_helpers."))


def _functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


def test_the_library_stays_within_its_line_budget():
    lines = {p.relative_to(ROOT): len(p.read_text().splitlines()) for p in LIBRARY_FILES}
    biggest = sorted(lines.items(), key=lambda item: -item[1])[:5]
    assert sum(lines.values()) <= LINE_BUDGET, f"{sum(lines.values())} lines; the biggest: {biggest}"


def test_no_library_function_is_longer_than_a_screen():
    long = [f"{p.relative_to(ROOT)}:{line} {name} ({length} lines)"
            for p in LIBRARY_FILES for name, line, length in _functions(p) if length > LONGEST_FUNCTION]
    assert not long, "split these into named steps: " + "; ".join(long)


@pytest.mark.parametrize("name", ALL_MODULES)
def test_every_module_imports_as_a_module(name):
    module = importlib.import_module(name)
    parent, _, leaf = name.rpartition(".")
    # a package attribute that is a function named like its module would hide the module
    assert isinstance(getattr(importlib.import_module(parent), leaf), types.ModuleType)
    assert isinstance(module, types.ModuleType)


def test_no_module_is_named_like_a_function_it_defines():
    clashes = [f"{p.relative_to(ROOT)} defines {name}()"
               for p in PACKAGE.rglob("*.py") for name, _, _ in _functions(p) if name == p.stem]
    assert not clashes, clashes


def test_importing_the_package_loads_no_submodule_and_adds_no_warnings_filter():
    probe = (
        "import sys, warnings\n"
        "before = list(warnings.filters)\n"
        "import imgsim_helpers\n"
        "print(len(warnings.filters) - len(before))\n"
        "print(sorted(m for m in sys.modules if m.startswith('imgsim_helpers.')))\n"
        "print('cv2' in sys.modules, 'torch' in sys.modules, 'scipy.fft' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=ROOT).stdout.splitlines()
    assert out == ["0", "[]", "False False False"]


def test_every_public_name_resolves_from_the_module_that_defines_it():
    for name in imgsim_helpers.__all__:
        value = getattr(imgsim_helpers, name)
        module = getattr(value, "__module__", None)
        if module is not None and module.startswith("imgsim_helpers."):
            assert not module.startswith("imgsim_helpers.lessons"), f"{name} comes from a lesson"


def test_the_wheel_carries_the_library_and_lessons_but_no_course_tools():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = set(find_packages(str(ROOT), include=config["include"]))
    assert "imgsim_helpers.lessons" in packages and "imgsim_helpers.metrics" in packages
    assert not any(p == "tools" or p.startswith("tools.") for p in packages)
    assert not any(p.startswith(("tests", "benchmarks")) for p in packages)
