# Overrides PyInstaller's hook-PySide6.py: identical, except that the Windows-only extras
# (opengl32sw.dll software OpenGL, ANGLE) are dropped: a QtWidgets app never creates a GL context.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bundle_policy  # noqa: E402
from PyInstaller.utils.hooks import check_requirement  # noqa: E402
from PyInstaller.utils.hooks.qt import ensure_single_qt_bindings_package, pyside6_library_info  # noqa: E402

ensure_single_qt_bindings_package("PySide6")

if pyside6_library_info.version is not None:
    hiddenimports = ["shiboken6", "inspect"]
    if check_requirement("PySide6 >= 6.4.0"):
        hiddenimports += ["PySide6.support.deprecated"]
    binaries = bundle_policy.filter_qt_binaries(pyside6_library_info.collect_extra_binaries())
