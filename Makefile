# VKS CĐS — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint reliability bench clean screenshots windows

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# With a display: the application. Without one: the headless end-to-end demo.
run: $(STAMP)
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] || [ "$$(uname -s)" = "Darwin" ]; then \
		$(BIN)/vks-cds; \
	else \
		echo "Không có màn hình: chạy bản minh họa không giao diện (vks-cds demo)."; \
		$(BIN)/vks-cds demo --out out/demo; \
	fi

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m "not slow"

# ruff (pyflakes + bugbear), mypy on desktop/models and desktop/export, import-linter layer contracts.
lint: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lint]'
	$(BIN)/ruff check desktop tests benchmarks installer
	$(BIN)/mypy
	$(BIN)/lint-imports

reliability: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m slow tests/reliability

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do QT_QPA_PLATFORM=offscreen $(BIN)/python $$b || exit 1; done

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m desktop.ui.screenshots docs/screenshots

# The real Windows build under Wine, from pinned, hash-checked inputs: dist/windows/vks-cds/ and
# dist/windows/vks-cds-<version>-setup.exe, installed, run, upgraded and uninstalled under Wine
# (installer/wine_build.sh; docs/installer.md). Caches in ~/.cache/vks-cds-wine.
windows: $(STAMP)
	PYTHON=$(BIN)/python installer/wine_build.sh

clean:
	rm -rf $(VENV) build dist out .pytest_cache
