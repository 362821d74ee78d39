# Two entry points do all set-up on a fresh machine:
#   make examples   generate the annexes of the bundled example contracts into output/
#   make test       run the test suite
# make setup installs exactly uv.lock (no resolver runs); make lock refreshes the lock.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: examples test setup lock docs screenshots gallery system-packages check bench clean golden

examples: setup
	$(BIN)/annex-gen check examples
	$(BIN)/annex-gen generate examples/*.yaml --out output

test: setup
	$(BIN)/python -m pytest

setup: $(STAMP)

# uv itself, pinned by hash
$(UV): scripts/uv-requirements.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --no-deps -r scripts/uv-requirements.txt

$(STAMP): $(UV) uv.lock pyproject.toml scripts/install-system-packages
	bash scripts/install-system-packages
	$(UV) sync --quiet --frozen --compile-bytecode --extra test --python $(PYTHON)
	$(BIN)/python -m compileall -q src
	touch $(STAMP)

lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)
	@echo "uv.lock refreshed: run make test before committing it"

docs: setup
	$(BIN)/python scripts/cli-reference.py docs/reference/cli.md
	$(BIN)/mkdocs build --strict

# the documentation's screenshots (docs/img/), written by the browser tests that take them
screenshots: setup
	ANNEX_GEN_DOCS_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/integration/test_web_browser.py \
		tests/integration/test_web_legal_browser.py tests/integration/test_publish_screenshots.py \
		tests/integration/test_registry_editor_browser.py tests/integration/test_lifecycle_browser.py

# every page in both languages at 390 and 1280 px, from the screens test, into docs/img/gallery/
gallery: setup
	$(BIN)/python -m pytest -q tests/integration/test_web_screens.py
	$(BIN)/python scripts/gallery.py

check: setup
	$(BIN)/annex-gen check

bench: setup
	$(BIN)/python bench/render_bench.py

golden: setup
	$(BIN)/python tests/regenerate_golden.py

clean:
	rm -rf $(VENV) $(TOOLS) output site
