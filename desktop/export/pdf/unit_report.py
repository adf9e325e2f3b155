"""A unit's report: NĐ 30 heading, sections I–VI, chart, signature, verification, appendix."""

from __future__ import annotations

from typing import BinaryIO, Sequence

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
)

from ..documents import SECTION_KEYS, SECTION_TITLES, AppendixRow, GroupCompletion, UnitReportDoc
from ..vnformat import fmt_percent, nfc, upper
from ._base import (
    BODY_WIDTH,
    LANDSCAPE_HEIGHT,
    LANDSCAPE_WIDTH,
    SHADE,
    SHADE_LIGHT,
    ReportDocTemplate,
    appendix_heading,
    base_table_style,
    esc,
    national_header,
    noi_nhan_and_signature,
    para,
    styles,
    title_block,
    verification_block,
)
from ._fonts import BOLD, REGULAR

APPENDIX_HEADERS: tuple[str, ...] = (
    "TT",
    "Mục tiêu, nhiệm vụ",
    "Chỉ tiêu",
    "Đơn vị chủ trì/ phối hợp",
    "Thời hạn",
    "Kết quả (x/y)",
    "Tỷ lệ (%)",
    "Tiến độ",
    "Khó khăn, vướng mắc",
    "Đề xuất, kiến nghị",
)
#: Column widths in mm; they sum to the landscape text width (252 mm).
APPENDIX_WIDTHS_MM: tuple[float, ...] = (9, 70, 20, 28, 20, 22, 15, 18, 25, 25)

BAR_COLOR = colors.Color(0.22, 0.40, 0.62)


# --------------------------------------------------------------------------- chart


def completion_chart(groups: Sequence[GroupCompletion], width: float = BODY_WIDTH) -> Drawing:
    """Horizontal bar chart, one bar per group (first group on top), values as "96,7%"."""
    label_w = 62 * mm
    label_size = 10.5
    value_room = 16 * mm
    names = []
    for g in groups:
        text = nfc(g.label)
        if g.done is not None and g.total is not None:
            text += f" ({g.done}/{g.total})"
        names.append("\n".join(simpleSplit(text, REGULAR, label_size, label_w - 6)))
    row_h = max(22, max((n.count("\n") + 1 for n in names), default=1) * (label_size + 2) + 8)
    plot_h = row_h * len(groups)
    axis_room = 20
    d = Drawing(width, plot_h + axis_room + 4)
    # the renderer's initial state would otherwise select (and reference) Times/Helvetica
    d.initialFontName = REGULAR
    d.initialFontSize = label_size
    bc = HorizontalBarChart()
    bc.x = label_w
    bc.y = axis_room
    bc.width = width - label_w - value_room
    bc.height = plot_h
    values = [max(0.0, float(g.percent)) * 100 for g in groups]
    # HorizontalBarChart draws the first category at the bottom
    bc.data = [list(reversed(values))]
    bc.categoryAxis.categoryNames = list(reversed(names))
    bc.categoryAxis.labels.fontName = REGULAR
    bc.categoryAxis.labels.fontSize = label_size
    bc.categoryAxis.labels.leading = label_size + 2
    bc.categoryAxis.labels.boxAnchor = "e"
    bc.categoryAxis.labels.textAnchor = "end"
    bc.categoryAxis.labels.dx = -5
    bc.categoryAxis.strokeWidth = 0.6
    bc.categoryAxis.tickLeft = 0
    top = max(100.0, max(values, default=0.0))
    bc.valueAxis.valueMin = 0
    bc.valueAxis.valueMax = top
    bc.valueAxis.valueStep = 20 if top <= 100 else 25
    bc.valueAxis.labels.fontName = REGULAR
    bc.valueAxis.labels.fontSize = 9.5
    bc.valueAxis.labelTextFormat = lambda v: f"{int(round(v))}%"
    bc.valueAxis.strokeWidth = 0.6
    bc.valueAxis.visibleGrid = 1
    bc.valueAxis.gridStrokeColor = colors.Color(0.8, 0.8, 0.8)
    bc.valueAxis.gridStrokeWidth = 0.4
    bc.bars[0].fillColor = BAR_COLOR
    bc.bars[0].strokeColor = None
    bc.barWidth = 10
    bc.groupSpacing = 8
    bc.barLabelFormat = lambda v: fmt_percent(v / 100.0)
    bc.barLabels.fontName = BOLD
    bc.barLabels.fontSize = 10
    bc.barLabels.boxAnchor = "w"
    bc.barLabels.dx = 3
    bc.barLabels.nudge = 0
    d.add(bc)
    return d


# --------------------------------------------------------------------------- appendix table


#: Cell paddings of the appendix table (see ``base_table_style``).
_PAD_X, _PAD_TOP, _PAD_BOTTOM = 3, 2.5, 3


def _split_tall_row(cells: list, widths: Sequence[float], room: float) -> list[list]:
    """Cut a row taller than a page into continuation rows that each fit on a page.

    ReportLab's own in-row splitting repeats the header in the middle of the
    page and scatters middle-aligned cells, so the long paragraphs are split
    here instead, keeping every word, in order.
    """
    inner = room - _PAD_TOP - _PAD_BOTTOM
    pieces: list[list] = []
    current = cells
    while True:
        heights = [c.wrap(w - 2 * _PAD_X, inner)[1] if isinstance(c, Paragraph) else 0
                   for c, w in zip(current, widths)]
        if max(heights) <= inner:
            pieces.append(current)
            return pieces
        first, rest = [], []
        for c, w, h in zip(current, widths, heights):
            if isinstance(c, Paragraph) and h > inner:
                parts = c.split(w - 2 * _PAD_X, inner)
                if len(parts) < 2:  # a single unbreakable line: nothing more to do
                    pieces.append(current)
                    return pieces
                first.append(parts[0])
                rest.append(parts[1])
            else:
                first.append(c)
                rest.append("")
        pieces.append(first)
        current = rest


def appendix_table(rows: Sequence[AppendixRow]) -> Table:
    """The 10-column appendix table; header rows (names + column numbers) repeat on every page."""
    st = styles()
    head = [Paragraph(esc(h), st.cell_head) for h in APPENDIX_HEADERS]
    index = [Paragraph(f"({i})", st.cell_index) for i in range(1, len(APPENDIX_HEADERS) + 1)]
    widths = [w * mm for w in APPENDIX_WIDTHS_MM]
    head_h = max(p.wrap(w - 2 * _PAD_X, LANDSCAPE_HEIGHT)[1] for p, w in zip(head, widths))
    index_h = index[0].wrap(widths[0], LANDSCAPE_HEIGHT)[1]
    group_h = st.cell_group.leading + _PAD_TOP + _PAD_BOTTOM  # kept with the row below it
    room = LANDSCAPE_HEIGHT - head_h - index_h - 2 * (_PAD_TOP + _PAD_BOTTOM) - group_h - 6
    data: list[list] = [head, index]
    extra: list[tuple] = [
        ("BACKGROUND", (0, 0), (-1, 1), SHADE),
    ]
    group = None
    for row in rows:
        if row.group and row.group != group:
            group = row.group
            r = len(data)
            data.append([Paragraph(esc(group), st.cell_group)] + [""] * (len(APPENDIX_HEADERS) - 1))
            extra += [
                ("SPAN", (0, r), (-1, r)),
                ("BACKGROUND", (0, r), (-1, r), SHADE_LIGHT),
                ("NOSPLIT", (0, r), (-1, r + 1)),  # a group heading never ends a page
            ]
        cells = [
            para(row.tt, st.cell_center),
            para(row.target_text, st.cell),
            para(row.indicator, st.cell_center),
            para(row.units, st.cell),
            para(row.deadline_text, st.cell_center),
            para(row.result_text, st.cell_center),
            para(row.percent_text, st.cell_center),
            para(row.status_text, st.cell_center),
            para(row.difficulties, st.cell),
            para(row.proposals, st.cell),
        ]
        pieces = _split_tall_row(cells, widths, room)
        if len(pieces) > 1:
            r0 = len(data)
            extra.append(("VALIGN", (0, r0), (-1, r0 + len(pieces) - 1), "TOP"))
        data.extend(pieces)
    if len(data) == 2:
        data.append([para("Không có mục tiêu, nhiệm vụ trong kỳ báo cáo.", st.cell)]
                    + [""] * (len(APPENDIX_HEADERS) - 1))
        extra.append(("SPAN", (0, 2), (-1, 2)))
    t = Table(data, colWidths=widths, repeatRows=2, hAlign="LEFT")
    t.setStyle(base_table_style(extra))
    return t


# --------------------------------------------------------------------------- document


def _kem_theo(doc: UnitReportDoc) -> str:
    h = doc.header
    kind = nfc(h.title).strip().capitalize() or "Báo cáo"
    number = f" số {h.number}" if h.number else ""
    return f"(Kèm theo {kind}{number} {h.date_words} của {h.unit_in_sentence})"


def build_unit_report(doc: UnitReportDoc, template: ReportDocTemplate) -> list[Flowable]:
    st = styles()
    h = doc.header
    story: list[Flowable] = [national_header(h)]
    story += title_block(h.title, h.subject, h.recipients)
    for key in SECTION_KEYS:
        story.append(Paragraph(esc(f"{key}. {upper(SECTION_TITLES[key])}"), st.heading))
        texts = doc.section_paragraphs(key) or ("Không có.",)
        story += [para(t, st.body) for t in texts]
        if key == "II" and doc.group_completion:
            story.append(KeepTogether([
                Spacer(1, 8),
                completion_chart(doc.group_completion),
                Paragraph(esc(f"Biểu đồ: {doc.chart_title}"), st.caption),
            ]))
    story.append(noi_nhan_and_signature(doc.recipients, doc.signature))
    story.append(verification_block(doc.verification))
    if doc.rows:
        story += [NextPageTemplate("landscape"), PageBreak(), template.restart_numbering()]
        story += appendix_heading("Phụ lục", doc.appendix_title, _kem_theo(doc), LANDSCAPE_WIDTH)
        story.append(appendix_table(doc.rows))
    return story


def render_unit_report(doc: UnitReportDoc, stream: BinaryIO) -> None:
    """Write the unit report as PDF to a binary stream."""
    h = doc.header
    template = ReportDocTemplate(
        stream,
        title=f"{upper(h.title)} {h.number}".strip(),
        subject=h.subject,
        author=h.unit_in_sentence,
        keywords=("báo cáo", "chuyển đổi số"),
    )
    template.build(build_unit_report(doc, template))
