"""Register Liberation Serif (shipped in resources/fonts) as an embedded TTF family."""

from __future__ import annotations

import threading

from reportlab.lib.fonts import addMapping
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
        pdfmetrics.registerFontFamily(
            FAMILY, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC
        )
        # <b>/<i> markup in paragraphs whose style names a member of the family
        for name, (b, i) in {
            REGULAR: (0, 0),
            BOLD: (1, 0),
            ITALIC: (0, 1),
            BOLD_ITALIC: (1, 1),
        }.items():
            addMapping(FAMILY, b, i, name)
        _done = True


def has_glyph(ch: str) -> bool:
    register_fonts()
    font = pdfmetrics.getFont(REGULAR)
    return ord(ch) in font.face.charToGlyph
