"""Locate files shipped in the `resources` package, from source, installed or frozen alike."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _root() -> Path:
    """The folder of the `resources` package. Its files sit next to its `__init__` from source,
    installed and in the frozen build (PyInstaller puts the package's data beside it); only a
    package without a folder on disk (a zip) needs importlib.resources, which costs 5–10 ms of the
    start before the login window."""
    import resources

    here = Path(getattr(resources, "__file__", None) or "").parent
    if getattr(resources, "__file__", None) and (here / "icons").is_dir():
        return here
    from importlib import resources as _res

    return Path(str(_res.files("resources")))


def resource_path(*parts: str) -> Path:
    """Return a real filesystem path to a shipped resource (fonts must be real files for ReportLab)."""
    return _root().joinpath(*parts)


def font_path(style: str = "Regular") -> Path:
    return resource_path("fonts", f"LiberationSerif-{style}.ttf")
