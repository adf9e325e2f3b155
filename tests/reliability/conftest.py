"""Shared pieces of the reliability suite: template data folders and the figures report.

Fast subset: `pytest -m "not slow" tests/reliability` (part of `make test`).
Long runs:   `make reliability` (= `pytest -m slow tests/reliability`).

Every test that measures something records it with the `figures` fixture; the lines are printed
in the terminal summary and, when RELIABILITY_FIGURES=path is set, written there as JSON (this is
where the numbers in docs/reliability.md come from).

Why this file re-exports tests/conftest.py: a conftest.py in a folder without __init__.py is
imported under the module name "conftest", replacing the parent one in sys.modules; the other
test modules do `from conftest import ADMIN_PW`, so this module must offer the same names.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_PARENT_FILE = HERE.parent / "conftest.py"


def _parent_conftest():
    name = "_vks_tests_conftest"
    mod = sys.modules.get(name)
    if mod is None:
        spec = importlib.util.spec_from_file_location(name, _PARENT_FILE)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


def _is_fixture(value) -> bool:
    return (hasattr(value, "_pytestfixturefunction") or hasattr(value, "_fixture_function_marker")
            or type(value).__name__ == "FixtureFunctionDefinition")


for _name, _value in vars(_parent_conftest()).items():
    if not _name.startswith("_") and not _is_fixture(_value) and _name not in globals():
        globals()[_name] = _value

if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

_FIGURES: list[tuple[str, str]] = []


class Figures:
    """Collects measured figures: `figures.add("crash", "1,000 runs, 0 lost commits")`."""

    def add(self, topic: str, line: str) -> None:
        _FIGURES.append((topic, line))


@pytest.fixture(scope="session")
def figures() -> Figures:
    return Figures()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for topic, line in _FIGURES:
        terminalreporter.write_line(f"[{topic}] {line}")
    out = os.environ.get("RELIABILITY_FIGURES")
    if out:
        Path(out).write_text(json.dumps([{"topic": t, "line": l} for t, l in _FIGURES], ensure_ascii=False, indent=1),
                             "utf-8")


@pytest.fixture(scope="session")
def base_template(tmp_path_factory):
    """A prepared unit folder (see crash_worker.prepare_base), built once per session."""
    import crash_worker

    root = tmp_path_factory.mktemp("template-base")
    facts = crash_worker.prepare_base(root)
    return root, facts


@pytest.fixture(scope="session")
def old_schema_template(tmp_path_factory):
    import crash_worker

    root = tmp_path_factory.mktemp("template-0002")
    crash_worker.prepare_old_schema(root)
    return root
