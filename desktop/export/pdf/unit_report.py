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
    Column,
    ReportDocTemplate,
    appendix_heading,
    base_table_style,
    closing_blocks,
    esc,
    fit_widths,
    national_header,
    para,
    styles,
    title_block,
)
from ._fonts import BOLD, REGULAR

#: The appendix columns: header and how its width is found (see ``fit_widths``).
APPENDIX_COLUMNS: tuple[Column, ...] = (
    Column("TT", "code"),
    Column("Mục tiêu, nhiệm vụ", "text", 1.6),
    Column("Chỉ tiêu", "short", max_width=24 * mm),
    Column("Đơn vị chủ trì/ phối hợp", "text", 0.6),
    Column("Thời hạn", "short", max_width=22 * mm),
    Column("Kết quả (x/y)", "short", max_width=24 * mm),
    Column("Tỷ lệ (%)", "code"),
    Column("Tiến độ", "short", max_width=20 * mm),
    Column("Kết quả thực hiện", "text", 1.3),
    Column("Minh chứng", "short", max_width=22 * mm),
    Column("Khó khăn, vướng mắc", "text", 0.8),
    Column("Đề xuất, kiến nghị", "text", 0.8),
)
APPENDIX_HEADERS: tuple[str, ...] = tuple(c.header for c in APPENDIX_COLUMNS)
APPENDIX_FONT_SIZE = 10


def _row_texts(row: AppendixRow) -> tuple[str, ...]:
    return (row.tt, row.target_text, row.indicator, row.units, row.deadline_text, row.result_text,
            row.percent_text, row.status_text, row.result_detail, row.evidence_text,
            row.difficulties, row.proposals)


def appendix_widths(rows: Sequence[AppendixRow]) -> list[float]:
    """Column widths (points) of the appendix table for these rows, summing to the page width."""
    st = styles()
    return fit_widths(APPENDIX_COLUMNS, [_row_texts(r) for r in rows], LANDSCAPE_WIDTH,
                      font=REGULAR, size=st.cell.fontSize, head_font=BOLD,
                      head_size=st.cell_head.fontSize, pad=_PAD_X)


BAR_COLOR = colors.Color(0.22, 0.40, 0.62)


# --------------------------------------------------------------------------- chart


def completion_chart(groups: Sequence[GroupCompletion], width: float = BODY_WIDTH) -> Drawing:
    """Horizontal bar chart, one bar per group (first group on top), values as "96,7%"."""
    label_w = 78 * mm
    label_size = 9.5
    value_room = 14 * mm
    names = []
    for g in groups:
        text = nfc(g.label)
        if g.done is not None and g.total is not None:
            text += f" ({g.done}/{g.total})"
        names.append("\n".join(simpleSplit(text, REGULAR, label_size, label_w - 6)))
    row_h = max(15, max((n.count("\n") + 1 for n in names), default=1) * (label_size + 1) + 4)
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
    bc.categoryAxis.labels.leading = label_size + 1
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
    bc.barWidth = 8
    bc.groupSpacing = 5
    bc.barLabelFormat = lambda v: fmt_percent(v / 100.0)
    bc.barLabels.fontName = BOLD
    bc.barLabels.fontSize = 9.5
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
    """The appendix table; header rows (names + column numbers) repeat on every page."""
    st = styles()
    head = [Paragraph(esc(h), st.cell_head) for h in APPENDIX_HEADERS]
    index = [Paragraph(f"({i})", st.cell_index) for i in range(1, len(APPENDIX_HEADERS) + 1)]
    widths = appendix_widths(rows)
    head_h = max(p.wrap(w - 2 * _PAD_X, LANDSCAPE_HEIGHT)[1] for p, w in zip(head, widths))
    index_h = index[0].wrap(widths[0], LANDSCAPE_HEIGHT)[1]
    group_h = st.cell_group.leading + _PAD_TOP + _PAD_BOTTOM  # kept with the row below it
    room = LANDSCAPE_HEIGHT - head_h - index_h - 2 * (_PAD_TOP + _PAD_BOTTOM) - group_h - 6
    data: list[list] = [head, index]
    extra: list[tuple] = [
        ("BACKGROUND", (0, 0), (-1, 1), SHADE),
    ]
    group = None
    centred = {0, 2, 4, 5, 6, 7, 9}
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
        cells = [para(text, st.cell_center if i in centred else st.cell)
                 for i, text in enumerate(_row_texts(row))]
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


def _chart(doc: UnitReportDoc) -> Flowable:
    st = styles()
    return KeepTogether([
        Spacer(1, 8),
        completion_chart(doc.group_completion),
        Paragraph(esc(f"Biểu đồ: {doc.chart_title}"), st.caption),
    ])


def build_unit_report(doc: UnitReportDoc, template: ReportDocTemplate,
                      chart_after: str = "II") -> list[Flowable]:
    """The story; the chart follows section ``chart_after`` (a section key)."""
    st = styles()
    h = doc.header
    story: list[Flowable] = [national_header(h)]
    story += title_block(h.title, h.subject, h.recipients)
    for key in SECTION_KEYS:
        story.append(Paragraph(esc(f"{key}. {upper(SECTION_TITLES[key])}"), st.heading))
        texts = doc.section_paragraphs(key) or ("Không có.",)
        story += [para(t, st.body) for t in texts]
        if key == chart_after and doc.group_completion:
            story.append(_chart(doc))
    story.append(closing_blocks(doc.recipients, doc.signature, doc.verification))
    if doc.rows:
        story += [NextPageTemplate("landscape"), PageBreak(), template.restart_numbering()]
        story += appendix_heading("Phụ lục", doc.appendix_title, _kem_theo(doc), LANDSCAPE_WIDTH)
        story.append(appendix_table(doc.rows))
    return story


#: A page of the report body may end with at most this share of its text height left blank
#: (a chart that does not fit moves down past the following sections instead).
MAX_BLANK_SHARE = 0.25


def render_unit_report(doc: UnitReportDoc, stream: BinaryIO) -> list[tuple]:
    """Write the unit report as PDF to a binary stream.

    The chart goes right after section II when it fits there; otherwise after the first later
    section where it leaves no page more than a quarter blank. Returns the rectangles of the
    signature space (see :class:`~._base.SignatureSpace`).
    """
    import io

    h = doc.header
    keys = [k for k in SECTION_KEYS if SECTION_KEYS.index(k) >= SECTION_KEYS.index("II")]
    # (worst blank share, section key, the probe's PDF, its signature spaces): the chosen probe
    # is the document itself, so it is written out, not laid out a second time
    best: tuple[float, str, bytes, list[tuple]] | None = None
    if doc.group_completion:
        for key in keys:
            buf = io.BytesIO()
            probe = _template(buf, h)
            probe.build(build_unit_report(doc, probe, key))
            worst = probe.worst_blank_share()
            if best is None or worst < best[0]:
                best = (worst, key, buf.getvalue(), list(probe.signature_spaces))
            if worst <= MAX_BLANK_SHARE:
                break
    if best is not None:
        stream.write(best[2])
        return best[3]
    template = _template(stream, h)
    template.build(build_unit_report(doc, template, "II"))
    return list(template.signature_spaces)


def _template(stream: BinaryIO, h) -> ReportDocTemplate:
    return ReportDocTemplate(
        stream,
        title=f"{upper(h.title)} {h.number}".strip(),
        subject=h.subject,
        author=h.unit_in_sentence,
        keywords=("báo cáo", "chuyển đổi số"),
    )
