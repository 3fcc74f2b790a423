"""The course runner: notebook discovery, the notebooks' conventions, executing the course."""

import json

import nbformat
import pytest

from imgsim_helpers.core.errors import EmptyInputError, InvalidParameterError
from tools import run_course as course
from tools.run_course import COLAB_INSTALL_TAG


def test_notebooks_are_in_teaching_order_and_filterable():
    names = [p.name for p in course.course_notebooks()]
    assert names == sorted(names) and names[0].startswith("00_")
    assert [p.name[:2] for p in course.course_notebooks(only=["01"])] == ["01"]
    with pytest.raises(EmptyInputError):
        course.course_notebooks(only=["99"])


@pytest.mark.parametrize("notebook", course.course_notebooks(), ids=lambda p: p.stem)
def test_committed_notebooks_follow_the_conventions(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any(c.outputs for c in code), "commit notebooks without outputs"
    assert COLAB_INSTALL_TAG in code[0].metadata.get("tags", []), "the first code cell installs on Colab"
    code = code[1:]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1], "the first code cell after the imports is tagged 'parameters'"
    params = code[1].source
    for name in ("SMOKE", "DEVICE", "SEED", "OUTPUT_DIR"):
        assert f"{name} =" in params, name
    assert "ClaimRecorder" in "".join(c.source for c in code), "the notebook records its claims"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_run_course_rejects_an_unknown_device(tmp_path):
    with pytest.raises(InvalidParameterError):
        course.run_course(tmp_path, smoke=True, device="tpu")


@pytest.mark.notebook
def test_run_course_writes_executed_notebook_records_and_times(tmp_path):
    entries = course.run_course(tmp_path, smoke=True, device="cpu", only=["00"])
    assert entries[0]["status"] == "ok"
    for name in ("00_setup_and_data.ipynb", "run_times.json"):
        assert (tmp_path / name).is_file(), name
    assert json.loads((tmp_path / "run_times.json").read_text())[0]["seconds"] > 0
    assert (tmp_path / "results" / "00_setup_and_data.results.json").is_file()
