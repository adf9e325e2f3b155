# Overrides PyInstaller's hook-PySide6.QtWidgets.py (user hooks have the highest priority): same
# collection, then Qt plugins and translations the app does not use are dropped *before*
# dependency analysis, so the libraries they would pull in are never collected.
# The rules live in installer/bundle_policy.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bundle_policy  # noqa: E402
from PyInstaller.utils.hooks.qt import add_qt6_dependencies  # noqa: E402

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = bundle_policy.filter_qt_binaries(binaries)
datas = bundle_policy.filter_qt_datas(datas)
