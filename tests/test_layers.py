"""The core (desktop/models, desktop/export) is Qt-free: every one of its modules is imported in a
fresh interpreter and no PySide6/shiboken6 module may be loaded. The layer contracts themselves
are checked by import-linter in .ci/run (pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _core_modules() -> list[str]:
    out = []
    for pkg in ("desktop/models", "desktop/export"):
        for path in sorted((REPO / pkg).rglob("*.py")):
            rel = path.relative_to(REPO).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts[-1] == "env" and "migrations" in parts:
                continue  # alembic's env.py runs a migration when imported; it is not a module
            out.append(".".join(parts))
    return out


def test_every_core_module_imports_without_qt():
    modules = _core_modules()
    assert len(modules) > 40 and "desktop.models.domain.workflow" in modules and "desktop.export.pdf.forms" in modules
    code = ("import importlib, json, sys\n"
            f"mods = {modules!r}\n"
            "for m in mods: importlib.import_module(m)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6'))))\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1]) == []


def test_colours_and_style_sheets_live_in_the_theme():
    """Widgets name a style from desktop/ui/theme.py; no hex colour or literal style sheet elsewhere."""
    import re

    offenders = []
    for path in sorted((REPO / "desktop" / "ui").glob("*.py")):
        if path.name in ("theme.py", "screenshots.py"):
            continue
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if re.search(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b['\";]", line) or re.search(r'setStyleSheet\("[^"]', line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert offenders == []
