"""Rotating log file in the data folder. Events and numeric ids only: never secrets or contents."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

_installed: logging.Handler | None = None


def setup_logging(data_dir: Path, level: int = logging.INFO) -> None:
    global _installed
    logs = Path(data_dir) / "logs"
    try:
        logs.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            logs / "vks-cds.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()  # an unwritable folder is reported by the vault, not here
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    if _installed is not None:
        root.removeHandler(_installed)
        _installed.close()
    root.addHandler(handler)
    root.setLevel(level)
    _installed = handler
