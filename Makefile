# Two commands do everything on a fresh machine (Python 3.11, package registries):
#   make course [SMOKE=1] [DEVICE=auto|cpu|cuda]   run every notebook into build/course and build the
#                                                  course site from them: open build/course/site/index.html
#   make test                                      lint, unit, bad-input, notebook, claim, figure and browser tests
#   make slides                                    offline reveal.js decks into build/slides
# Both create .venv in the checkout when it is missing and install the package from pyproject.toml.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
SMOKE  ?= 0
DEVICE ?= auto
BUILD  ?= build

# Jupyter, IPython and matplotlib write into the build folder, not the home folder
# (abspath: BUILD may be relative to the checkout or absolute, as in make course BUILD=/tmp/out).
export IPYTHONDIR       := $(abspath $(BUILD))/.ipython
export JUPYTER_CONFIG_DIR := $(abspath $(BUILD))/.jupyter
export JUPYTER_DATA_DIR := $(abspath $(BUILD))/.jupyter-data
export JUPYTER_RUNTIME_DIR := $(abspath $(BUILD))/.jupyter-runtime
export MPLCONFIGDIR     := $(abspath $(BUILD))/.matplotlib
export PYTHONWARNINGS   := ignore::UserWarning:phasepack.tools

.PHONY: course test venv bench bench-scale slides clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e ".[course,test,bench]"
	mkdir -p $(IPYTHONDIR) $(MPLCONFIGDIR)  # IPython falls back to a temp folder, with a warning, when they are missing
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (imgsim)"
	touch $@

venv: $(VENV)/.installed

# The site is built even when a notebook failed (its page shows the error), and make still fails.
course: $(VENV)/.installed
	$(PY) -m tools.run_course --smoke $(SMOKE) --device $(DEVICE) --out $(BUILD)/course; status=$$?; \
	$(PY) -m tools.course_site --executed $(BUILD)/course --out $(BUILD)/course/site --assets $(BUILD)/site-assets \
	&& exit $$status

test: $(VENV)/.installed
	@# the app's end-to-end test drives Debian's chromium; install it when we can (root on Debian)
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && apt-get update -qq && apt-get install -y -qq chromium; } || true
	$(PY) -m ruff check imgsim_helpers tests benchmarks notebooks tools
	$(VENV)/bin/lint-imports
	IMGSIM_SMOKE=1 $(PY) -m pytest --doctest-modules tests imgsim_helpers tools

slides: $(VENV)/.installed
	$(PY) -m tools.slides --out $(BUILD)/slides --executed $(BUILD)/course

bench: $(VENV)/.installed
	$(PY) -m benchmarks

bench-scale: $(VENV)/.installed
	$(PY) -m benchmarks index embed

clean:
	rm -rf $(BUILD)
