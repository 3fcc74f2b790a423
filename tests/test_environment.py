"""environment.yml (conda / Binder) stays consistent with pyproject.toml."""

import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from tests.conftest import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
ENVIRONMENT = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())


def _conda_and_pip():
    conda, pip = [], []
    for entry in ENVIRONMENT["dependencies"]:
        if isinstance(entry, dict):
            pip.extend(entry.get("pip", []))
        else:
            conda.append(entry)
    return conda, pip


def test_python_version_satisfies_requires_python():
    conda, _ = _conda_and_pip()
    python = [c for c in conda if c.startswith("python")]
    assert python, "environment.yml must pin a python version"
    version = python[0].split("=", 1)[1]
    assert version in SpecifierSet(PYPROJECT["project"]["requires-python"])


def test_pip_section_installs_this_package_with_existing_extras():
    _, pip = _conda_and_pip()
    local = [p for p in pip if p.lstrip("-e ").strip("\"'").startswith(".")]
    assert local, "the pip section must install the package itself (pip install -e .)"
    spec = local[0].split(".", 1)[1].strip("\"'")
    extras = spec.strip("[]").split(",") if spec else []
    assert set(extras) <= set(PYPROJECT["project"]["optional-dependencies"])


def test_every_other_package_is_a_declared_dependency():
    conda, pip = _conda_and_pip()
    declared = {Requirement(r).name.lower().replace("_", "-") for r in PYPROJECT["project"]["dependencies"]}
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        declared |= {Requirement(r).name.lower().replace("_", "-") for r in extra}
    others = [c.split("=")[0] for c in conda if not c.startswith(("python", "pip"))]
    others += [Requirement(p).name for p in pip if not p.lstrip("-e ").strip("\"'").startswith(".")]
    for name in others:
        assert name.lower().replace("_", "-") in declared, f"{name} is in environment.yml but not pyproject.toml"


def test_dependencies_are_ranges_and_opencv_stays_below_5():
    for raw in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(raw)
        assert "==" not in str(requirement.specifier), f"{raw}: use a range, not a pin"
        if requirement.name == "opencv-python":
            assert "5.0" not in requirement.specifier, "AKAZE/BRISK need OpenCV 4.x"
