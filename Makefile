# Two entry points do all set-up on a fresh machine:
#   make examples   generate the annexes of the bundled example contracts into output/
#   make test       run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: examples test setup system-packages check bench clean golden

examples: setup
	$(BIN)/annex-gen check examples
	$(BIN)/annex-gen generate examples/*.yaml --out output

test: setup
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-packages
	bash scripts/install-system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

check: setup
	$(BIN)/annex-gen check

bench: setup
	$(BIN)/python bench/render_bench.py

golden: setup
	$(BIN)/python tests/regenerate_golden.py

clean:
	rm -rf $(VENV) output
