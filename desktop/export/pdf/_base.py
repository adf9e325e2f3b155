"""Page geometry, styles and building blocks shared by every printed document.

Layout follows Nghị định 30/2020/NĐ-CP, Phụ lục I (thể thức văn bản hành
chính): A4, margins top/bottom 20 mm, left 30 mm, right 15 mm; page numbers
centred in the top margin, not shown on the first page; each appendix
(phụ lục) numbered on its own.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import BinaryIO, Iterable, Protocol, Sequence
from xml.sax.saxutils import escape

import segno
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from desktop import APP_NAME, __version__

from ..documents import ReportHeader, SignatureBlock, Verification
from ..vnformat import nfc, upper
from ._fonts import BOLD, BOLD_ITALIC, ITALIC, REGULAR, register_fonts

# --------------------------------------------------------------------------- geometry

PAGE_PORTRAIT = A4
PAGE_LANDSCAPE = landscape(A4)
MARGIN_TOP = 20 * mm
MARGIN_BOTTOM = 20 * mm
MARGIN_LEFT = 30 * mm
MARGIN_RIGHT = 15 * mm
#: Baseline of the page number, measured down from the top edge (inside the top margin).
PAGE_NUMBER_BASELINE = 12 * mm
PAGE_NUMBER_SIZE = 13

BODY_WIDTH = PAGE_PORTRAIT[0] - MARGIN_LEFT - MARGIN_RIGHT  # 165 mm
LANDSCAPE_WIDTH = PAGE_LANDSCAPE[0] - MARGIN_LEFT - MARGIN_RIGHT  # 252 mm
LANDSCAPE_HEIGHT = PAGE_LANDSCAPE[1] - MARGIN_TOP - MARGIN_BOTTOM  # 170 mm

#: Header columns (tên cơ quan | quốc hiệu, tiêu ngữ). The Quốc hiệu line at 12 pt (NĐ 30:
#: 12-13) is 88,3 mm wide, which leaves 76 mm on the left: "VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO" at
#: 12 pt (72,7 mm) then stays on one line instead of breaking before "TỐI CAO".
HEADER_LEFT = 76 * mm
HEADER_RIGHT = BODY_WIDTH - HEADER_LEFT

BLACK = colors.black
GRID = colors.Color(0.25, 0.25, 0.25)
SHADE = colors.Color(0.90, 0.90, 0.90)
SHADE_LIGHT = colors.Color(0.96, 0.96, 0.96)

BODY_SIZE = 14
BODY_LEADING = 17
INDENT = 10 * mm  # NĐ 30: first-line indent 1 cm to 1,27 cm


# --------------------------------------------------------------------------- text helpers


def esc(text: object) -> str:
    """NFC + XML escape for Paragraph markup; newlines become line breaks."""
    return escape(nfc(text)).replace("\n", "<br/>")


def text_width(text: str, font: str, size: float) -> float:
    register_fonts()
    return stringWidth(nfc(text), font, size)


#: Syllable pairs that form one word in agency names and titles: never split across lines.
_KEEP_TOGETHER = {
    ("VIỆN", "KIỂM"), ("KIỂM", "SÁT"), ("NHÂN", "DÂN"), ("TỐI", "CAO"), ("CẤP", "CAO"),
    ("KHU", "VỰC"), ("THÀNH", "PHỐ"), ("THỊ", "XÃ"), ("CỘNG", "HÒA"), ("XÃ", "HỘI"),
    ("CHỦ", "NGHĨA"), ("VIỆT", "NAM"), ("VĂN", "PHÒNG"), ("KẾT", "QUẢ"), ("THỰC", "HIỆN"),
    ("MỤC", "TIÊU"), ("NHIỆM", "VỤ"), ("CHUYỂN", "ĐỔI"), ("BÁO", "CÁO"), ("TỔNG", "HỢP"),
    ("ĐƠN", "VỊ"), ("CÁC", "ĐƠN"), ("QUÂN", "SỰ"), ("TRUNG", "ƯƠNG"), ("HÀ", "NỘI"),
    ("HỒ", "CHÍ"), ("CHÍ", "MINH"), ("THANH", "HÓA"), ("NGHỆ", "AN"), ("ĐÀ", "NẴNG"),
    ("HẢI", "PHÒNG"), ("CẦN", "THƠ"), ("KHÔI", "PHỤC"), ("ĐĂNG", "KÝ"), ("XÁC", "NHẬN"),
    ("ĐỀ", "NGHỊ"), ("PHỤ", "LỤC"), ("PHIẾU", "MÃ"), ("HAI", "CẤP"), ("SÁT", "NHÂN"),
    ("KẾ", "HOẠCH"), ("PHƯƠNG", "HƯỚNG"), ("HƯỚNG", "DẪN"), ("NHÂN", "LỰC"), ("DỮ", "LIỆU"),
    ("AN", "TOÀN"), ("THÔNG", "TIN"), ("HẠ", "TẦNG"), ("CHỮ", "KÝ"), ("HÀNH", "ĐỘNG"),
    ("CÔNG", "TÁC"), ("TƯ", "PHÁP"), ("HÌNH", "SỰ"), ("DÂN", "SỰ"), ("CHÍNH", "QUYỀN"),
}
#: Words before which a heading line naturally breaks ("… NHÂN DÂN" / "TỈNH THANH HÓA").
_BREAK_BEFORE = {"TỈNH", "KHU", "THÀNH", "HUYỆN", "QUẬN", "THỊ", "TỐI", "CẤP", "QUÂN",
                 "CỦA", "NĂM", "VÀ", "VIỆN", "TẠI", "TRONG", "THEO", "CÁC", "VỀ"}


def _break_cost(words: Sequence[str], i: int) -> float:
    """Relative cost of breaking before words[i] (0 = natural break point)."""
    a, b = upper(words[i - 1]).strip(",;:"), upper(words[i])
    if (a, b) in _KEEP_TOGETHER or b[:1].isdigit():  # "năm 2025", "khu vực 1" stay whole
        return 1.0
    if b in _BREAK_BEFORE or a.endswith((",", ";", ":")) or a in ("-", "–"):
        return 0.0
    return 0.3


def balanced_lines(text: str, font: str, size: float, max_width: float) -> list[str]:
    """Break a heading into the fewest lines that fit, at natural points, evenly.

    Used for agency names and titles, which Vietnamese offices set as a
    pyramid ("VIỆN KIỂM SÁT NHÂN DÂN" / "TỈNH THANH HÓA") rather than
    greedily ("… NHÂN DÂN TỈNH" / "THANH HÓA").  Two-syllable words of the
    usual vocabulary are never split, a line never starts with a dash, and
    explicit newlines are kept.
    """
    out: list[str] = []
    for segment in nfc(text).split("\n"):
        words = segment.split()
        if not words:
            continue
        if text_width(" ".join(words), font, size) <= max_width or len(words) == 1:
            out.append(" ".join(words))
            continue
        n = len(words)
        if n > 24:  # body-length text: plain greedy wrapping is good enough
            out.extend(simpleSplit(" ".join(words), font, size, max_width))
            continue
        # ReportLab string widths are additive (no kerning): prefix sums make lines cheap
        space = text_width(" ", font, size)
        prefix = [0.0]
        for w in words:
            prefix.append(prefix[-1] + text_width(w, font, size))

        def span(a: int, b: int) -> float:
            return prefix[b] - prefix[a] + space * (b - a - 1)

        best: tuple | None = None
        best_lines: list[str] = []
        first_k: int | None = None
        for k in range(2, min(n, 6) + 1):
            if first_k is not None and k > first_k + 1:
                break  # one more line than needed may avoid a bad break; two never do
            combos = itertools.combinations(range(1, n), k - 1)
            for count, cuts in enumerate(combos):
                if count > 20000:  # long text: keep the best found so far
                    break
                bounds = (0, *cuts, n)
                widths = [span(a, b) for a, b in zip(bounds, bounds[1:])]
                widest = max(widths)
                if widest > max_width:
                    continue
                lines = [" ".join(words[a:b]) for a, b in zip(bounds, bounds[1:])]
                if first_k is None:
                    first_k = k
                penalty = sum(_break_cost(words, c) for c in cuts) * max_width
                penalty += sum(1 for line in lines[1:] if line[0] in "-–—") * max_width
                penalty += (k - first_k) * 0.25 * max_width
                # even lines, natural breaks, then the longer line on top (pyramid)
                key = (widest + penalty, -widths[0])
                if best is None or key < best:
                    best, best_lines = key, lines
        out.extend(best_lines or [" ".join(words)])
    return out


# --------------------------------------------------------------------------- styles


def _style(name: str, **kw) -> ParagraphStyle:
    base = dict(
        fontName=REGULAR,
        fontSize=BODY_SIZE,
        leading=BODY_LEADING,
        bulletFontName=REGULAR,
        textColor=BLACK,
        allowWidows=0,
        allowOrphans=0,
        splitLongWords=1,
    )
    base.update(kw)
    return ParagraphStyle(name, **base)


class Styles:
    """Paragraph styles (created after the fonts are registered)."""

    def __init__(self) -> None:
        register_fonts()
        c = TA_CENTER
        self.parent_agency = _style("parent", fontSize=12, leading=15, alignment=c)
        self.issuing_unit = _style("unit", fontName=BOLD, fontSize=12, leading=15, alignment=c)
        self.nation = _style("nation", fontName=BOLD, fontSize=12, leading=15, alignment=c)
        self.motto = _style("motto", fontName=BOLD, fontSize=13.5, leading=16, alignment=c)
        self.number = _style("number", fontSize=13, leading=16, alignment=c)
        self.place_date = _style("placedate", fontName=ITALIC, fontSize=13.5, leading=16, alignment=c)
        self.doc_type = _style("doctype", fontName=BOLD, fontSize=14, leading=17, alignment=c)
        self.subject = _style("subject", fontName=BOLD, fontSize=14, leading=17, alignment=c)
        self.recipients = _style("kinhgui", fontSize=14, leading=17, alignment=c)
        self.body = _style(
            "body", alignment=TA_JUSTIFY, firstLineIndent=INDENT, spaceBefore=6
        )
        self.heading = _style(
            "heading", fontName=BOLD, alignment=TA_JUSTIFY, firstLineIndent=INDENT,
            spaceBefore=8, keepWithNext=1,
        )
        self.caption = _style(
            "caption", fontName=ITALIC, fontSize=12, leading=14, alignment=c, spaceBefore=4
        )
        self.noi_nhan_title = _style("noinhan", fontName=BOLD_ITALIC, fontSize=12, leading=14)
        self.noi_nhan = _style("noinhanitem", fontSize=11, leading=13)
        self.sign_authority = _style("signauth", fontName=BOLD, fontSize=14, leading=17, alignment=c)
        self.sign_name = _style("signname", fontName=BOLD, fontSize=14, leading=17, alignment=c)
        self.sign_note = _style("signnote", fontName=ITALIC, fontSize=12, leading=14, alignment=c)
        self.small = _style("small", fontSize=10.5, leading=12.5)
        self.small_bold = _style("smallb", fontName=BOLD, fontSize=10.5, leading=12.5)
        self.small_italic = _style("smalli", fontName=ITALIC, fontSize=10, leading=12)
        self.appendix_label = _style("applabel", fontName=BOLD, fontSize=14, leading=17, alignment=c)
        self.appendix_title = _style("apptitle", fontName=BOLD, fontSize=13, leading=16, alignment=c)
        self.appendix_note = _style("appnote", fontName=ITALIC, fontSize=13, leading=16, alignment=c)
        self.cell = _style("cell", fontSize=10.5, leading=12.5, alignment=TA_LEFT)
        self.cell_center = _style("cellc", fontSize=10.5, leading=12.5, alignment=c)
        self.cell_head = _style("cellh", fontName=BOLD, fontSize=10.5, leading=12.5, alignment=c)
        self.cell_index = _style("celli", fontName=ITALIC, fontSize=9, leading=10.5, alignment=c)
        self.cell_group = _style("cellg", fontName=BOLD, fontSize=10.5, leading=12.5)
        self.matrix_unit = _style("mxu", fontSize=8.5, leading=9.5)
        self.matrix_unit_bold = _style("mxub", fontName=BOLD, fontSize=8.5, leading=9.5)
        self.table_caption = _style("tcap", fontName=BOLD_ITALIC, fontSize=11, leading=13,
                                    spaceBefore=4, spaceAfter=3, keepWithNext=1)
        self.appendix_section = _style("appsec", fontName=BOLD, fontSize=12, leading=15,
                                       spaceBefore=8, spaceAfter=4, keepWithNext=1)


_STYLES: Styles | None = None


def styles() -> Styles:
    global _STYLES
    if _STYLES is None:
        _STYLES = Styles()
    return _STYLES


def para(text: object, style: ParagraphStyle) -> Paragraph:
    return Paragraph(esc(text), style)


# --------------------------------------------------------------------------- flowables


class Rule(Flowable):
    """A centred horizontal rule of a given length (the lines under names and the motto).

    ``gap`` is the white space kept above the line, so that it clears the
    descenders of the text it underlines.
    """

    def __init__(self, length: float, thickness: float = 0.6, gap: float = 3.0) -> None:
        super().__init__()
        self.length = length
        self.thickness = thickness
        self.gap = gap
        self.hAlign = "CENTER"

    def wrap(self, avail_width, avail_height):
        return self.length, self.gap + self.thickness

    def draw(self):
        self.canv.setLineWidth(self.thickness)
        self.canv.setStrokeColor(BLACK)
        self.canv.line(0, self.thickness / 2, self.length, self.thickness / 2)


class QRCode(Flowable):
    """A QR code (segno) drawn as vector modules; ``size`` includes a 2-module quiet zone."""

    def __init__(self, payload: str, size: float = 26 * mm, error: str = "m") -> None:
        super().__init__()
        self.payload = payload
        self.size = size
        self.qr = segno.make(payload, error=error, micro=False)

    def wrap(self, avail_width, avail_height):
        return self.size, self.size

    def draw(self):
        matrix = self.qr.matrix
        border = 2
        n = len(matrix) + 2 * border
        m = self.size / n
        c = self.canv
        c.setFillColor(BLACK)
        c.setStrokeColor(BLACK)
        top = self.size
        for r, row in enumerate(matrix):
            y = top - (r + border + 1) * m
            col = 0
            width = len(row)
            while col < width:
                if row[col] & 1:
                    start = col
                    while col < width and row[col] & 1:
                        col += 1
                    # a hair of overlap avoids white seams between modules in viewers
                    c.rect((start + border) * m, y - 0.01, (col - start) * m + 0.01, m + 0.02,
                           stroke=0, fill=1)
                else:
                    col += 1


class FixedPitchText(Flowable):
    """Characters drawn centred in equal-width cells (a monospace look with any font).

    ``groups`` are drawn with a gap between them and optional small group
    numbers under each group, wrapping to as many lines as needed.
    """

    def __init__(self, groups: Sequence[str], font: str = BOLD, size: float = 22,
                 pitch: float | None = None, gap: float | None = None,
                 numbered: bool = False, boxed_chars: bool = False) -> None:
        super().__init__()
        self.groups = [nfc(g) for g in groups]
        self.font = font
        self.size = size
        widest = max((text_width(ch, font, size) for g in self.groups for ch in g), default=size)
        self.pitch = pitch or max(widest * 1.08, size * 0.72)
        self.gap = gap if gap is not None else self.pitch * 0.9
        self.numbered = numbered
        self.boxed = boxed_chars
        self.line_height = size * 1.35 + (size * 0.45 if numbered else 0)
        self.hAlign = "CENTER"

    def _layout(self, avail_width: float) -> list[list[int]]:
        lines: list[list[int]] = [[]]
        x = 0.0
        for i, g in enumerate(self.groups):
            w = len(g) * self.pitch
            if lines[-1] and x + self.gap + w > avail_width:
                lines.append([])
                x = 0.0
            x += (self.gap if lines[-1] else 0) + w
            lines[-1].append(i)
        return lines

    def _line_width(self, line: list[int]) -> float:
        return sum(len(self.groups[i]) * self.pitch for i in line) + self.gap * max(len(line) - 1, 0)

    def wrap(self, avail_width, avail_height):
        self._lines = self._layout(avail_width)
        self._width = max(self._line_width(line) for line in self._lines)
        return self._width, self.line_height * len(self._lines)

    def draw(self):
        c = self.canv
        height = self.line_height * len(self._lines)
        for li, line in enumerate(self._lines):
            x = (self._width - self._line_width(line)) / 2
            base = height - (li + 1) * self.line_height + (self.size * 0.55 if self.numbered else 0) + self.size * 0.3
            for gi in line:
                g = self.groups[gi]
                if self.boxed:
                    c.setStrokeColor(GRID)
                    c.setLineWidth(0.5)
                    c.rect(x - 3, base - self.size * 0.28, len(g) * self.pitch + 6, self.size * 1.18,
                           stroke=1, fill=0)
                c.setFillColor(BLACK)
                c.setFont(self.font, self.size)
                for k, ch in enumerate(g):
                    c.drawCentredString(x + (k + 0.5) * self.pitch, base, ch)
                if self.numbered:
                    c.setFont(ITALIC, self.size * 0.4)
                    c.drawCentredString(x + len(g) * self.pitch / 2, base - self.size * 0.62,
                                        f"({gi + 1})")
                x += len(g) * self.pitch + self.gap


class _RestartNumbering(Flowable):
    """Zero-size marker: page numbering restarts on the page where it is drawn (phụ lục)."""

    def __init__(self, doc: "ReportDocTemplate") -> None:
        super().__init__()
        self.doc = doc

    def wrap(self, avail_width, avail_height):
        return 0, 0

    def draw(self):
        self.doc.number_base = self.doc.page - 1


# --------------------------------------------------------------------------- document template


class ReportDocTemplate(BaseDocTemplate):
    """A4 portrait + landscape templates with NĐ 30 margins and page numbers.

    The page number is drawn at the end of each page, centred in the top
    margin, from the second page of the document (or of an appendix) on.
    """

    def __init__(self, stream: BinaryIO, *, title: str, subject: str = "",
                 author: str = "", keywords: Sequence[str] = ()) -> None:
        register_fonts()
        super().__init__(
            stream,
            pagesize=PAGE_PORTRAIT,
            leftMargin=MARGIN_LEFT,
            rightMargin=MARGIN_RIGHT,
            topMargin=MARGIN_TOP,
            bottomMargin=MARGIN_BOTTOM,
            title=nfc(title),
            subject=nfc(subject),
            author=nfc(author),
            creator=f"{APP_NAME} {__version__}",
            producer=f"{APP_NAME} {__version__} (ReportLab)",
            keywords=list(keywords),
            lang="vi-VN",
            initialFontName=REGULAR,
            initialFontSize=BODY_SIZE,
            initialLeading=BODY_LEADING,
            displayDocTitle=1,
        )
        self.number_base = 0
        #: rectangles of the signature spaces drawn, see :class:`SignatureSpace`
        self.signature_spaces: list[tuple[int, float, float, float, float]] = []
        frame_kw = dict(leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
        pw, ph = PAGE_PORTRAIT
        lw, lh = PAGE_LANDSCAPE
        portrait = Frame(MARGIN_LEFT, MARGIN_BOTTOM, pw - MARGIN_LEFT - MARGIN_RIGHT,
                         ph - MARGIN_TOP - MARGIN_BOTTOM, id="portrait", **frame_kw)
        land = Frame(MARGIN_LEFT, MARGIN_BOTTOM, lw - MARGIN_LEFT - MARGIN_RIGHT,
                     lh - MARGIN_TOP - MARGIN_BOTTOM, id="landscape", **frame_kw)
        self.addPageTemplates([
            PageTemplate(id="portrait", frames=[portrait], pagesize=PAGE_PORTRAIT,
                         onPageEnd=self._page_number),
            PageTemplate(id="landscape", frames=[land], pagesize=PAGE_LANDSCAPE,
                         onPageEnd=self._page_number),
        ])

    def handle_documentBegin(self):
        self.signature_spaces = []  # a multi-pass build records only its last pass
        self.page_fill: list[tuple[bool, float]] = []
        super().handle_documentBegin()

    def restart_numbering(self) -> Flowable:
        return _RestartNumbering(self)

    def worst_blank_share(self) -> float:
        """Largest share of blank text height at the foot of a page followed by another page of
        the same orientation (the last page of the body and of the document may be short)."""
        pages = self.page_fill
        worst = 0.0
        for (land, share), (next_land, _) in zip(pages, pages[1:]):
            if land == next_land:
                worst = max(worst, share)
        return worst

    def _page_number(self, canv, doc) -> None:
        frame = getattr(self, "frame", None)
        if frame is not None and frame._height:
            w, h = canv._pagesize
            self.page_fill.append((w > h, max(frame._y - frame._y1, 0.0) / frame._height))
        n = self.page - self.number_base
        if n < 2:
            return
        w, h = canv._pagesize
        canv.saveState()
        canv.setFont(REGULAR, PAGE_NUMBER_SIZE)
        canv.setFillColor(BLACK)
        canv.drawCentredString(MARGIN_LEFT + (w - MARGIN_LEFT - MARGIN_RIGHT) / 2,
                               h - PAGE_NUMBER_BASELINE, str(n))
        canv.restoreState()


# --------------------------------------------------------------------------- common blocks


def _name_block(text: str, style: ParagraphStyle, width: float) -> tuple[Paragraph, float]:
    lines = balanced_lines(upper(text), style.fontName, style.fontSize, width)
    widest = max((text_width(line, style.fontName, style.fontSize) for line in lines), default=0)
    return Paragraph("<br/>".join(escape(line) for line in lines), style), widest


def national_header(header: ReportHeader, *, number_line: str | None = None,
                    place_date: str | None = None) -> Table:
    """The two-column NĐ 30 heading: agency names | Quốc hiệu, Tiêu ngữ; số | địa danh, ngày."""
    st = styles()
    inner = HEADER_LEFT - 2 * mm
    left: list[Flowable] = []
    if header.parent_agency:
        p, _ = _name_block(header.parent_agency, st.parent_agency, inner)
        left.append(p)
    unit, unit_w = _name_block(header.issuing_unit, st.issuing_unit, inner)
    left.append(unit)
    left.append(Rule(max(unit_w * 0.4, 18 * mm), gap=4))

    nation = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    motto = "Độc lập - Tự do - Hạnh phúc"
    right: list[Flowable] = [
        Paragraph(nation, st.nation),
        Paragraph(motto, st.motto),
        Rule(text_width(motto, st.motto.fontName, st.motto.fontSize), gap=3),
    ]
    number = header.number_line if number_line is None else number_line
    pdl = header.place_date if place_date is None else place_date
    data = [
        [left, right],
        [para(number, st.number) if number else "", para(pdl, st.place_date) if pdl else ""],
    ]
    t = Table(data, colWidths=[HEADER_LEFT, HEADER_RIGHT], hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, 0), 0),
        ("TOPPADDING", (0, 1), (-1, 1), 7),
        ("BOTTOMPADDING", (0, 1), (-1, 1), 0),
    ]))
    return t


def title_block(doc_type: str, subject: str = "", recipients: str = "",
                width: float = BODY_WIDTH, space_before: float = 16) -> list[Flowable]:
    """Tên loại (BÁO CÁO), trích yếu with its short rule, and "Kính gửi:"."""
    st = styles()
    out: list[Flowable] = [Spacer(1, space_before), Paragraph(esc(upper(doc_type)), st.doc_type)]
    if subject:
        lines = balanced_lines(subject, st.subject.fontName, st.subject.fontSize, width * 0.85)
        widest = max(text_width(line, st.subject.fontName, st.subject.fontSize) for line in lines)
        out.append(Paragraph("<br/>".join(escape(line) for line in lines), st.subject))
        out.append(Rule(max(widest / 3, 25 * mm), gap=3))
    if recipients:
        out.append(Spacer(1, 10))
        out.append(para(recipients, st.recipients))
    out.append(Spacer(1, 8))
    return out


def noi_nhan_items(recipients: Sequence[str]) -> list[str]:
    """The "Nơi nhận" lines as NĐ 30 writes them: "- name;" each, the last ("- Lưu: VT, …") with ".".

    Whatever punctuation the caller put at the end of a line is replaced, so a list assembled
    from data always reads right.
    """
    items = []
    for r in recipients:
        r = nfc(r).strip().lstrip("-–+ ").rstrip(" .;,")
        if r:
            items.append(r)
    return [f"- {r}{'.' if i == len(items) - 1 else ';'}" for i, r in enumerate(items)]


def noi_nhan_and_signature(recipients: Sequence[str], signature: SignatureBlock | None,
                           width: float = BODY_WIDTH) -> Flowable:
    """"Nơi nhận:" list (left) and the signature block (right), side by side, kept together."""
    return KeepTogether(_noi_nhan_parts(recipients, signature, width))


NOI_NHAN_SHARE = 0.47  # of the text width: the "Nơi nhận" column, the signer takes the rest


def _noi_nhan_parts(recipients: Sequence[str], signature: SignatureBlock | None,
                    width: float = BODY_WIDTH, under: Sequence[Flowable] = ()) -> list[Flowable]:
    st = styles()
    left_w = width * NOI_NHAN_SHARE
    left: list[Flowable] = []
    items = noi_nhan_items(recipients)
    if items:
        left.append(Paragraph("Nơi nhận:", st.noi_nhan_title))
        left += [Paragraph(esc(r), st.noi_nhan) for r in items]
    left += list(under)
    right = signature_cell(signature)
    t = Table([[left or "", right]], colWidths=[left_w, width - left_w], hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("TOPPADDING", (0, 0), (-1, -1), 0),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
    ]))
    return [Spacer(1, 12), t]


class SignatureSpace(Spacer):
    """The blank between the signer's title and name (where the head signs and the seal goes).

    When drawn it records its rectangle on the page — ``(page, x0, y0, x1, y1)`` in PDF points,
    origin bottom-left, page counted from 1 — into ``SIGNATURE_SPACES`` of the document being
    built, so that a visible electronic signature can be placed exactly there.
    """

    def __init__(self, width: float, height: float) -> None:
        super().__init__(width, height)
        self.hAlign = "CENTER"

    def draw(self):
        canv = self.canv
        x0, y0 = canv.absolutePosition(0, 0)
        doc = getattr(canv, "_doctemplate", None)
        if doc is not None and hasattr(doc, "signature_spaces"):
            doc.signature_spaces.append((doc.page, x0, y0, x0 + self.width, y0 + self.height))


def signature_cell(signature: SignatureBlock | None, space: float = 28 * mm,
                   width: float = BODY_WIDTH * 0.53) -> list[Flowable]:
    """Quyền hạn (KT./TL./TM./Q. …), chức vụ, the signing space and the signer's full name.

    The one place that decides the geometry of the signer block: authority and title in bold
    capitals (NĐ 30: 13-14 pt), ``space`` of blank for the signature and seal (recorded by
    :class:`SignatureSpace`), the full name in bold.
    """
    st = styles()
    sig = signature or SignatureBlock()
    out: list[Flowable] = []
    if sig.authority:
        out.append(Paragraph(esc(upper(sig.authority)), st.sign_authority))
    if sig.title:
        out.append(Paragraph(esc(upper(sig.title)), st.sign_authority))
    if sig.note:
        out.append(Spacer(1, space / 2 - 8))
        out.append(para(sig.note, st.sign_note))
        out.append(Spacer(1, space / 2 - 8))
    else:
        out.append(SignatureSpace(min(width, 70 * mm), space))
    if sig.name:
        out.append(para(sig.name, st.sign_name))
    return out


def verification_block(verification: Verification | None, width: float = BODY_WIDTH,
                       what: str = "báo cáo") -> Flowable:
    """Boxed block: bundle SHA-256 (short), signing-key fingerprint, QR holding both."""
    return KeepTogether(_verification_parts(verification, width, what))


def _verification_parts(verification: Verification | None, width: float = BODY_WIDTH,
                        what: str = "báo cáo", compact: bool = False) -> list[Flowable]:
    """The verification box; ``compact``: small type and QR, to sit under "Nơi nhận"."""
    st: _BoxStyles = _CompactStyles() if compact else styles()
    sep = "<br/>" if compact else " "  # a code is never cut: on its own line in the narrow box
    lines: list[Flowable] = [Paragraph("XÁC THỰC BẢN ĐIỆN TỬ", st.small_bold)]
    if verification is not None and verification.packaged:
        lines.append(Paragraph(
            f"Mã gói dữ liệu (SHA-256):{sep}<font name='{BOLD}'>{_unbroken(verification.short_sha256)}</font>",
            st.small))
    else:
        lines.append(Paragraph(
            f"Mã gói dữ liệu (SHA-256): <font name='{BOLD}'>Chưa đóng gói</font> "
            f"({esc(what)} chưa được xuất thành gói dữ liệu điện tử)", st.small))
    if verification is not None and verification.key_fingerprint:
        lines.append(Paragraph(
            f"Vân tay khóa ký:{sep}<font name='{BOLD}'>{_unbroken(verification.key_fingerprint)}</font>",
            st.small))
    else:
        lines.append(Paragraph("Vân tay khóa ký: chưa thiết lập khóa ký", st.small))
    if verification is not None and verification.packaged:
        hint = ("Đối chiếu mã gói và vân tay khóa ký với gói dữ liệu nhận được trên phần mềm "
                f"{APP_NAME} (có thể quét mã QR).")
    else:
        hint = (f"Khi {what} được đóng gói, bản in kèm gói dữ liệu sẽ có mã gói để đối chiếu.")
    lines.append(Paragraph(esc(hint), st.small_italic))
    qr_size = 19 * mm if compact else 24 * mm
    if verification is not None and (verification.packaged or verification.key_fingerprint):
        cells = [[QRCode(verification.qr_payload, size=qr_size), lines]]
        col_w = [qr_size + 4 * mm, width - qr_size - 4 * mm]
    else:
        cells = [[lines]]
        col_w = [width]
    t = Table(cells, colWidths=col_w, hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("BOX", (0, 0), (-1, -1), 0.6, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3 if compact else 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3 if compact else 5),
        ("TOPPADDING", (0, 0), (-1, -1), 3 if compact else 4),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3 if compact else 4),
    ]))
    return [Spacer(1, 10 if compact else 14), t]


def _unbroken(code: str) -> str:
    """A hash or fingerprint that never wraps inside (groups joined by no-break spaces)."""
    return esc(code).replace(" ", "\u00a0")


class _BoxStyles(Protocol):
    """The styles the verification box uses: the full set, or the compact one."""

    small: ParagraphStyle
    small_bold: ParagraphStyle
    small_italic: ParagraphStyle


class _CompactStyles:
    def __init__(self) -> None:
        register_fonts()
        self.small = _style("vsmall", fontSize=8.5, leading=10)
        self.small_bold = _style("vsmallb", fontName=BOLD, fontSize=8.5, leading=10)
        self.small_italic = _style("vsmalli", fontName=ITALIC, fontSize=8, leading=9.5)


def closing_blocks(recipients: Sequence[str], signature: SignatureBlock | None,
                   verification: Verification | None, what: str = "báo cáo") -> Flowable:
    """Nơi nhận + signer side by side, the verification box under "Nơi nhận", kept on one page.

    (The box sits in the left column, beside the signing space, so the closing block is no
    taller than the signer's: it then fits at the foot of the last body page far more often.
    One flat KeepTogether: ReportLab's KeepTogether reports an infinite height to force its
    split, so nesting them would always push the block to a new page.)"""
    box = _verification_parts(verification, BODY_WIDTH * NOI_NHAN_SHARE - 3 * mm, what, compact=True)
    return KeepTogether(_noi_nhan_parts(recipients, signature, under=box))


def appendix_heading(label: str, title: str, note: str, width: float) -> list[Flowable]:
    """PHỤ LỤC / title / (Kèm theo …) / short rule."""
    st = styles()
    out: list[Flowable] = [Paragraph(esc(upper(label)), st.appendix_label)]
    lines = balanced_lines(upper(title), st.appendix_title.fontName, st.appendix_title.fontSize,
                           width * 0.8)
    out.append(Paragraph("<br/>".join(escape(line) for line in lines), st.appendix_title))
    if note:
        out.append(para(note, st.appendix_note))
    widest = max(text_width(line, st.appendix_title.fontName, st.appendix_title.fontSize)
                 for line in lines)
    out.append(Rule(max(widest / 3, 25 * mm), gap=3))
    out.append(Spacer(1, 8))
    return out


def body_paragraphs(texts: Iterable[str]) -> list[Flowable]:
    st = styles()
    return [para(t, st.body) for t in texts]


def base_table_style(extra: Sequence[tuple] = ()) -> TableStyle:
    return TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("FONTSIZE", (0, 0), (-1, -1), 10),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        *extra,
    ])


# --------------------------------------------------------------------------- column widths


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column for :func:`fit_widths`.

    ``kind``: ``"code"`` never wraps (codes, numbers, dates: the whole text must fit);
    ``"short"`` wraps between words and gets its natural width when there is room;
    ``"text"`` takes a share of the remaining width by the amount of text it holds.
    """

    header: str
    kind: str = "text"
    weight: float = 1.0
    max_width: float | None = None


def fit_widths(columns: Sequence[Column], rows: Iterable[Sequence[str]], total: float, *,
               font: str, size: float, head_font: str, head_size: float, pad: float) -> list[float]:
    """Column widths from content that add up to ``total``.

    Every column is at least as wide as its longest word (a ``code`` column as its longest
    cell), so nothing is ever broken inside a word or a code. The rest of the width is then
    handed out in small steps, each to the column where it shortens the table most (estimated
    lines per row); ``short`` columns stop at their natural width or ``max_width``.
    """
    n = len(columns)
    rows = [[nfc(c) for c in row] for row in rows]
    head_w = [max((text_width(w, head_font, head_size) for w in nfc(c.header).split()), default=0.0)
              for c in columns]
    min_w = list(head_w)
    cell_w: list[list[float]] = []
    for row in rows:
        widths_row = []
        for i, text in enumerate(row):
            full = text_width(text, font, size) if text else 0.0
            widths_row.append(full)
            if columns[i].kind == "code":
                min_w[i] = max(min_w[i], full)
            elif text:
                min_w[i] = max(min_w[i], max(text_width(w, font, size) for w in text.split()))
        cell_w.append(widths_row)
    head_full = [text_width(nfc(c.header), head_font, head_size) for c in columns]
    # a column is never narrower than its header on two lines (text: or 16 mm)
    for i, c in enumerate(columns):
        if c.kind == "text":
            min_w[i] = max(min_w[i], min(head_full[i] / 2 + 2 * mm, 16 * mm))
        elif c.kind == "short":
            min_w[i] = max(min_w[i], min(head_full[i] / 2 + 2 * mm, c.max_width or head_full[i]))
    widths = [w + 2 * pad + 0.5 for w in min_w]
    room = total - sum(widths)
    if room < 0:  # cannot happen with sane content; shrink the text columns, never the codes
        flex = [i for i, c in enumerate(columns) if c.kind != "code"] or list(range(n))
        for i in flex:
            widths[i] = max(widths[i] + room / len(flex), 6 * mm)
        return widths
    caps = []
    for i, c in enumerate(columns):
        natural = max([r[i] for r in cell_w] + [head_full[i]]) + 2 * pad + 0.5
        if c.kind == "code":
            caps.append(widths[i])
        elif c.kind == "short":
            caps.append(max(widths[i], min(natural, c.max_width or natural)))
        else:
            caps.append(max(widths[i], natural))

    def lines(i: int, w: float) -> list[float]:
        inner = max(w - 2 * pad, 1.0)
        head = -(-head_full[i] // inner) * head_size / size
        return [head] + [(-(-cw // (inner * 0.94)) if cw else 1.0) for cw in (r[i] for r in cell_w)]

    per_col = [lines(i, widths[i]) for i in range(n)]

    def height(cols: list[list[float]]) -> float:
        # a soft maximum over the row: two tall cells side by side both get their share
        # and, less, every wrapped line (short cells on one or two lines read better)
        return sum(sum(col[r] ** 6 for col in cols) ** (1 / 6) + 0.08 * sum(col[r] for col in cols)
                   for r in range(len(cols[0])))

    step = 1.5 * mm
    while room >= step:
        base = height(per_col)
        best, best_gain = None, 0.0
        for i, c in enumerate(columns):
            if widths[i] + step > caps[i] + 1e-6:
                continue
            trial = per_col[:i] + [lines(i, widths[i] + step)] + per_col[i + 1:]
            gain = base - height(trial) + c.weight * 1e-3  # ties: the heavier column
            if best is None or gain > best_gain:
                best, best_gain = i, gain
        if best is None:
            break
        widths[best] += step
        per_col[best] = lines(best, widths[best])
        room -= step
    # what is left goes to the text columns by weight (or to the last column)
    text_cols = [i for i, c in enumerate(columns) if c.kind == "text"] or [n - 1]
    weights = [columns[i].weight for i in text_cols]
    for i, wt in zip(text_cols, weights):
        widths[i] += room * wt / sum(weights)
    return widths
