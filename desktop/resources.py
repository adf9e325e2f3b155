"""Locate files shipped in the `resources` package, from source, installed or frozen alike."""

from __future__ import annotations

from importlib import resources as _res
from pathlib import Path


def resource_path(*parts: str) -> Path:
    """Return a real filesystem path to a shipped resource (fonts must be real files for ReportLab)."""
    node = _res.files("resources")
    for part in parts:
        node = node / part
    return Path(str(node))


def font_path(style: str = "Regular") -> Path:
    return resource_path("fonts", f"LiberationSerif-{style}.ttf")
