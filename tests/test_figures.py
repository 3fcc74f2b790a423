"""Every figure a notebook draws is in the executed notebook, as an inline PNG a page can show.

The notebooks are executed once per session at smoke size (``tests.notebook_runs``, shared with
the claim tests). Which cells draw is read from their source: a call into ``plt``, a plotting
method (``ax.imshow``, ``fig.colorbar``…), a course helper that draws (``viz.show_images``,
``plot_*``, ``draw_*``, ``show_*``, ``image_grid``), or a function defined in the notebook
whose body does one of these. A drawing cell without an ``image/png`` output is a figure a
learner does not see: that is how the course once shipped with 0 of its ~76 figures (the
kernel ran with ``MPLBACKEND=Agg`` and never switched to the inline backend).
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from tests.notebook_runs import executed_notebook
from tools.run_course import course_notebooks

pytestmark = pytest.mark.notebook

# pyplot calls that configure or clean up instead of drawing
PYPLOT_NOT_DRAWING = {"close", "rc", "rcParams", "rcdefaults", "style", "ioff", "ion", "get_cmap",
                      "colormaps", "cm", "switch_backend", "get_backend", "isinteractive"}
# methods of matplotlib's Axes and Figure that put something on a figure
PLOTTING_METHODS = {"plot", "imshow", "matshow", "bar", "barh", "hist", "scatter", "errorbar", "fill_between",
                    "boxplot", "violinplot", "step", "stem", "pie", "contour", "contourf", "pcolormesh",
                    "semilogx", "semilogy", "loglog", "axhline", "axvline", "colorbar", "subplots", "add_subplot"}
# course helpers that draw: viz.show_images, viz.plot_heatmap, fs.plot_explorer, viz.draw_matches...
HELPER_NAME = re.compile(r"^(plot_|show_|draw_)|^image_grid$")
NOT_DRAWING = {"mark_random_weights"}  # stamps a figure another call drew


def _called_name(call: ast.Call) -> tuple[str | None, str]:
    """(the object's name or None, the function's name) of ``obj.name(...)`` / ``name(...)``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        owner = func.value.id if isinstance(func.value, ast.Name) else None
        return owner, func.attr
    if isinstance(func, ast.Name):
        return None, func.id
    return None, ""


def _draws(call: ast.Call, drawing_functions: set[str]) -> bool:
    owner, name = _called_name(call)
    if name in NOT_DRAWING:
        return False
    if owner == "plt":
        return name not in PYPLOT_NOT_DRAWING
    if owner is None and name in drawing_functions:
        return True
    return name in PLOTTING_METHODS or bool(HELPER_NAME.search(name))


def _python(source: str) -> ast.Module:
    """A cell's source without IPython magics and shell lines (``%matplotlib inline``, ``!pip``)."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    return ast.parse("\n".join(lines))


def _calls_outside_functions(tree: ast.AST):
    """The calls a cell makes when it runs (a ``def`` body runs only when called)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Call):
            yield node
        yield from _calls_outside_functions(node)


def drawing_cells(nb) -> list[int]:
    """Indices (into ``nb.cells``) of the code cells whose source draws a figure."""
    drawing_functions: set[str] = set()
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        tree = _python(cell.source)
        for node in ast.walk(tree):  # functions defined here that draw when called
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(inner, ast.Call) and _draws(inner, drawing_functions) for inner in ast.walk(node)
            ):
                drawing_functions.add(node.name)
        if any(_draws(call, drawing_functions) for call in _calls_outside_functions(tree)):
            found.append(index)
    return found


def figures_per_cell(nb) -> dict[int, int]:
    """The number of inline PNG outputs of each code cell that has any."""
    counts = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            pngs = sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
            if pngs:
                counts[index] = pngs
    return counts


def test_drawing_cells_are_found_in_source():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(cells=[
        code("%matplotlib inline\nimport matplotlib.pyplot as plt"),        # 0 configures
        code("fig, ax = plt.subplots()\nax.imshow(x)"),                   # 1 draws
        md("plt.plot(x) in prose"),                                        # 2 markdown
        code("def show(a):\n    viz.show_images([a])\n    plt.show()"),  # 3 defines only
        code("result = show(image)"),                                      # 4 calls a drawing function
        code("viz.mark_random_weights(fig, weights)\nplt.close('all')"),   # 5 stamps, closes
        code("fs.plot_explorer(result)"),                                  # 6 a course helper
        code("score = h.ssim(a, b)\nprint(score)"),                        # 7 computes
        code("grid = viz.image_grid(rows)"),                               # 8 draws
    ])
    assert drawing_cells(nb) == [1, 4, 6, 8]


@pytest.mark.parametrize("source", course_notebooks(), ids=lambda p: p.stem)
def test_every_drawing_cell_keeps_its_figure(source):
    nb = nbformat.read(executed_notebook(source.stem), as_version=4)
    drawing = drawing_cells(nb)
    figures = figures_per_cell(nb)
    assert drawing, f"{source.name}: no cell draws a figure (the course plots what people would rather see)"
    missing = [i for i in drawing if i not in figures]
    assert not missing, (
        f"{source.name}: {len(missing)} of {len(drawing)} drawing cells kept no figure (cells {missing}); "
        "the kernel did not use matplotlib's inline backend? (%matplotlib inline in the import cell)\n"
        + "\n---\n".join(nb.cells[i].source[:300] for i in missing[:3]))
    assert sum(figures.values()) >= len(drawing)
    # the other way round: a figure from a cell the source analysis calls non-drawing means the
    # analysis above misses a way these notebooks draw, which would let a dropped figure pass
    unexplained = sorted(set(figures) - set(drawing))
    assert not unexplained, (f"{source.name}: cells {unexplained} show figures but their source was not "
                             "recognised as drawing; teach drawing_cells() the call they use:\n"
                             + "\n---\n".join(nb.cells[i].source[:300] for i in unexplained[:3]))
