"""Translation hook usable from Qt-free code.

`tr(context, text)` goes through Qt's translator when the GUI has loaded Qt (so `.ts/.qm`
catalogues apply), and returns the Vietnamese source text otherwise (CLI, tests). This module
never imports Qt itself: it only looks at modules that are already loaded.
"""

from __future__ import annotations

import sys
import unicodedata


def tr(context: str, text: str) -> str:
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None and qtcore.QCoreApplication.instance() is not None:
        return qtcore.QCoreApplication.translate(context, text)
    return text


def nfc(text: str | None) -> str:
    """Normalise user text to NFC (decomposed Vietnamese prints tone marks in the wrong place)."""
    return unicodedata.normalize("NFC", text or "")


def fold(text: str | None) -> str:
    """Accent-insensitive search key: 'Chữ ký số' -> 'chu ky so'."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.casefold().split())
