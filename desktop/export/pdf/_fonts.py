"""Register Liberation Serif (shipped in resources/fonts) as an embedded TTF family."""

from __future__ import annotations

import threading

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from desktop.resources import font_path

FAMILY = "LiberationSerif"
REGULAR = "LiberationSerif"
BOLD = "LiberationSerif-Bold"
ITALIC = "LiberationSerif-Italic"
BOLD_ITALIC = "LiberationSerif-BoldItalic"

_STYLES = {REGULAR: "Regular", BOLD: "Bold", ITALIC: "Italic", BOLD_ITALIC: "BoldItalic"}
_lock = threading.Lock()
_done = False


def register_fonts() -> None:
    """Idempotent; TrueType fonts are always embedded (as subsets) by ReportLab."""
    global _done
    if _done:
        return
    with _lock:
        if _done:
            return
        for name, style in _STYLES.items():
            path = font_path(style)
            if not path.is_file():
                raise FileNotFoundError(f"missing font file {path}")
            pdfmetrics.registerFont(TTFont(name, str(path)))
        # makes <b>/<i> markup in paragraphs pick the right member of the family
        pdfmetrics.registerFontFamily(
            FAMILY, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        _done = True
