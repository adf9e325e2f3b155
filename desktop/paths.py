"""Where the data folder is: --data-dir, then VKS_CDS_DATA_DIR, then Qt's AppLocalDataLocation.

Only QtCore is used (no GUI), so the CLI resolves the same default folder as the GUI.
"""

from __future__ import annotations

import os
from pathlib import Path

from desktop import APP_ID, ORG_NAME

ENV_DATA_DIR = "VKS_CDS_DATA_DIR"


def default_data_dir() -> Path:
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_ID)
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(loc)


def resolve_data_dir(cli_value: str | None) -> Path:
    if cli_value:
        return Path(cli_value).expanduser().resolve()
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser().resolve()
    return default_data_dir()
