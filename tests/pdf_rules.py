"""Read a PDF back as a secretary's ruler would: every text line with its font, size and
position, and every horizontal rule, through PDFium (pypdfium2, already a dependency).

Coordinates are in points with the origin at the TOP-left of the page (y grows downwards).
"""

from __future__ import annotations

import ctypes
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c


@dataclass
class Char:
    ch: str
    font: str
    size: float
    x0: float
    x1: float
    top: float
    bottom: float
    baseline: float


@dataclass
class Line:
    """A run of characters on one baseline, without a wide gap (one table cell, one column)."""

    chars: list[Char] = field(default_factory=list)

    @property
    def text(self) -> str:
        return unicodedata.normalize("NFC", "".join(c.ch for c in self.chars)).strip()

    @property
    def ink(self) -> list[Char]:
        return [c for c in self.chars if not c.ch.isspace()]

    @property
    def x0(self) -> float:
        return min(c.x0 for c in self.ink)

    @property
    def x1(self) -> float:
        return max(c.x1 for c in self.ink)

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def baseline(self) -> float:
        return self.chars[0].baseline

    @property
    def top(self) -> float:
        return min(c.top for c in self.ink)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.ink)

    @property
    def fonts(self) -> set[str]:
        return {c.font for c in self.ink}

    @property
    def sizes(self) -> set[float]:
        return {round(c.size, 1) for c in self.ink}

    @property
    def bold(self) -> bool:
        return all("Bold" in f for f in self.fonts)

    @property
    def regular(self) -> bool:
        return all("Bold" not in f and "Italic" not in f for f in self.fonts)

    @property
    def italic(self) -> bool:
        return all("Italic" in f for f in self.fonts)

    def __repr__(self) -> str:
        return f"Line({self.text!r}, {sorted(self.fonts)}, {sorted(self.sizes)}, x={self.x0:.1f}-{self.x1:.1f}, y={self.baseline:.1f})"


@dataclass
class Rule:
    x0: float
    x1: float
    y: float

    @property
    def length(self) -> float:
        return self.x1 - self.x0

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass
class Page:
    number: int
    width: float
    height: float
    lines: list[Line]
    rules: list[Rule]

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    def find(self, pattern: str) -> Line:
        """The first line whose text matches ``pattern`` (a regular expression, searched)."""
        for line in self.lines:
            if re.search(pattern, line.text):
                return line
        raise AssertionError(f"page {self.number}: no line matches {pattern!r}:\n"
                             + "\n".join(repr(x) for x in self.lines[:60]))

    def find_all(self, pattern: str) -> list[Line]:
        return [x for x in self.lines if re.search(pattern, x.text)]

    def rules_below(self, line: Line, within: float = 12.0) -> list[Rule]:
        return [r for r in self.rules if line.bottom - 1 <= r.y <= line.bottom + within
                and r.x1 > line.x0 - 60 and r.x0 < line.x1 + 60]


def _chars(textpage, height: float) -> list[Char]:
    out = []
    buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    ox, oy = ctypes.c_double(), ctypes.c_double()
    for i in range(textpage.count_chars()):
        ch = textpage.get_text_range(i, 1)
        if not ch or ch in "\r\n":
            continue
        pdfium_c.FPDFText_GetFontInfo(textpage.raw, i, buf, 256, ctypes.byref(flags))
        size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
        left, bottom, right, top = textpage.get_charbox(i)
        pdfium_c.FPDFText_GetCharOrigin(textpage.raw, i, ctypes.byref(ox), ctypes.byref(oy))
        font = buf.value.decode("latin-1")
        font = font.split("+", 1)[-1]
        out.append(Char(ch, font, size, left, right, height - top, height - bottom, height - oy.value))
    return out


def _lines(chars: list[Char]) -> list[Line]:
    rows: dict[float, list[Char]] = {}
    for c in chars:
        key = next((k for k in rows if abs(k - c.baseline) < 0.8), c.baseline)
        rows.setdefault(key, []).append(c)
    lines: list[Line] = []
    for base in sorted(rows):
        run = sorted(rows[base], key=lambda c: c.x0)
        current = Line()
        last_x1 = None
        for c in run:
            gap_limit = max(c.size, 6) * 1.6
            if c.ch.isspace() and c.ch != "\u00a0":
                if current.chars:
                    current.chars.append(c)
                continue
            gap = c.x0 - last_x1 if last_x1 is not None else 0.0
            new_font = bool(current.ink) and current.ink[-1].font != c.font
            if current.ink and (gap > gap_limit or (new_font and gap > 3.0)):
                lines.append(current)
                current = Line()
            current.chars.append(c)
            last_x1 = c.x1
        if current.ink:
            lines.append(current)
    return lines


def _rules(page, height: float) -> list[Rule]:
    out = []
    for obj in page.get_objects():
        if obj.type != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        left, bottom, right, top = obj.get_bounds()
        if top - bottom <= 2.0 and right - left >= 10:
            out.append(Rule(left, right, height - (top + bottom) / 2))
    return out


def read_pdf(path: Path) -> list[Page]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        pages = []
        for n in range(len(pdf)):
            page = pdf[n]
            w, h = page.get_size()
            tp = page.get_textpage()
            pages.append(Page(n + 1, w, h, _lines(_chars(tp, h)), _rules(page, h)))
            tp.close()
            page.close()
        return pages
    finally:
        pdf.close()
