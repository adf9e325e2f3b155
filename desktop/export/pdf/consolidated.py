"""The superior's consolidated report: reporting rate, summary, units × targets matrix."""

from __future__ import annotations

import math
from typing import BinaryIO, Sequence

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from ..documents import (
    NOT_REPORTED_LABEL,
    RETURNED_LABEL,
    ConsolidatedReportDoc,
    Progress,
)
from ..vnformat import EMPTY, fmt_date, fmt_int, fmt_percent, fmt_ratio, nfc, upper
from ._base import (
    BODY_WIDTH,
    GRID,
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
    text_width,
    title_block,
)
from ._fonts import BOLD, REGULAR

#: Light tints that still read as different greys on a black-and-white printer.
STATUS_FILL: dict[Progress | None, colors.Color] = {
    **{p: colors.HexColor(p.colour) for p in Progress},   # the domain's one colour table
    None: colors.white,
}

MATRIX_FONT_SIZE = 8.5
MATRIX_TT_W = 8 * mm
MATRIX_UNIT_W = 46 * mm
MATRIX_MIN_CELL = 15 * mm
MATRIX_MAX_CELL = 24 * mm


def _chunks(seq: Sequence, size: int) -> list[Sequence]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def _cell_text(abbrev: str, value: str, width: float) -> str:
    one = f"{abbrev} {value}".strip()
    if not value or text_width(one, REGULAR, MATRIX_FONT_SIZE) <= width:
        return one
    return f"{abbrev}\n{value}"


def matrix_blocks(doc: ConsolidatedReportDoc, width: float = LANDSCAPE_WIDTH,
                  lead: Sequence[Flowable] = ()) -> list[Flowable]:
    """The units × targets matrix, cut into column blocks that fit the landscape page.

    Each block (caption, legend, table) is kept on one page when it fits;
    ``lead`` flowables (the section heading) are kept with the first block.
    """
    st = styles()
    targets = list(doc.targets)
    units = list(doc.units)
    if not targets or not units:
        return [para("Không có số liệu để tổng hợp.", st.body)]
    room = width - MATRIX_TT_W - MATRIX_UNIT_W
    per_block_max = max(1, int(room // MATRIX_MIN_CELL))
    n_blocks = math.ceil(len(targets) / per_block_max)
    per_block = math.ceil(len(targets) / n_blocks)
    cell_w = min(room / per_block, MATRIX_MAX_CELL)
    inner = cell_w - 4
    out: list[Flowable] = []
    number = {t.code: i for i, t in enumerate(targets, start=1)}
    for b, block in enumerate(_chunks(targets, per_block), start=1):
        head = ["TT", "Đơn vị"] + [str(number[t.code]) for t in block]
        data: list[list] = [head]
        style: list[tuple] = [
            ("FONTSIZE", (0, 0), (-1, -1), MATRIX_FONT_SIZE),
            ("LEADING", (0, 0), (-1, -1), MATRIX_FONT_SIZE + 1),
            ("FONTNAME", (0, 0), (-1, 0), BOLD),
            ("BACKGROUND", (0, 0), (-1, 0), SHADE),
            ("ALIGN", (0, 0), (-1, -1), "CENTER"),
            ("ALIGN", (1, 1), (1, -1), "LEFT"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ("TOPPADDING", (0, 0), (-1, -1), 1.2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        for ui, unit in enumerate(units, start=1):
            label = unit.display
            sub = doc.submissions.get(unit.code)
            if sub is not None and sub.returned:
                label += f" ({RETURNED_LABEL.lower()})"
            row: list = [str(ui), Paragraph(esc(label), st.matrix_unit)]
            for ci, t in enumerate(block, start=2):
                cell = doc.cell(unit.code, t.code)
                row.append(_cell_text(cell.abbrev, cell.value_text, inner))
                fill = STATUS_FILL.get(Progress.coerce(cell.status))  # identity: the cell holds a Progress
                if fill is not colors.white:
                    style.append(("BACKGROUND", (ci, ui), (ci, ui), fill))
            data.append(row)
        total_row: list = ["", Paragraph("Số đơn vị hoàn thành", st.matrix_unit_bold)]
        for t in block:
            done, total = doc.target_completion(t.code)
            total_row.append(fmt_ratio(done, total) if total else EMPTY)
        data.append(total_row)
        style += [("FONTNAME", (0, -1), (-1, -1), BOLD), ("BACKGROUND", (0, -1), (-1, -1), SHADE)]
        widths = [MATRIX_TT_W, MATRIX_UNIT_W] + [cell_w] * len(block)
        table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(base_table_style(style))
        first, last = number[block[0].code], number[block[-1].code]
        caption = (f"Bảng {b}/{n_blocks}: mục tiêu, nhiệm vụ số {first} – {last}"
                   if len(block) > 1 else f"Bảng {b}/{n_blocks}: mục tiêu, nhiệm vụ số {first}")
        parts: list[Flowable] = list(lead) if b == 1 else []
        parts += [Paragraph(esc(caption), st.table_caption), legend(), table]
        out.append(KeepTogether(parts))
        out.append(Spacer(1, 10))
    return out


def legend() -> Table:
    """One line of status keys: coloured abbreviation box + label."""
    st = styles()
    items: list[tuple[Progress | None, str, str]] = [
        (s, s.abbrev, s.label) for s in Progress
    ] + [(None, EMPTY, NOT_REPORTED_LABEL)]
    cells: list = []
    style: list[tuple] = [
        ("FONTNAME", (0, 0), (-1, -1), BOLD),
        ("FONTSIZE", (0, 0), (-1, -1), MATRIX_FONT_SIZE),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    widths: list[float] = []
    for i, (status, abbrev, label) in enumerate(items):
        cells += [abbrev, Paragraph(esc(label), st.matrix_unit)]
        widths += [10 * mm, 24 * mm]
        style.append(("BACKGROUND", (2 * i, 0), (2 * i, 0), STATUS_FILL[status]))
        style.append(("BOX", (2 * i, 0), (2 * i, 0), 0.5, GRID))
    t = Table([cells], colWidths=widths, hAlign="LEFT", spaceAfter=4)
    t.setStyle(TableStyle(style))
    return t


def target_list(doc: ConsolidatedReportDoc, width: float = LANDSCAPE_WIDTH) -> Table:
    """Numbered list of the targets (the numbers head the matrix columns), by group."""
    st = styles()
    rows = []
    for i, t in enumerate(doc.targets, start=1):
        done, total = doc.target_completion(t.code)
        rows.append((str(i), t.text, fmt_ratio(done, total) if total else EMPTY,
                     fmt_percent(done / total) if total else EMPTY))
    columns = (Column("TT", "code"), Column("Mục tiêu, nhiệm vụ", "text"),
               Column("Số đơn vị hoàn thành", "short", max_width=30 * mm), Column("Tỷ lệ", "code"))
    widths = fit_widths(columns, rows, width, font=REGULAR, size=st.cell.fontSize, head_font=BOLD,
                        head_size=st.cell_head.fontSize, pad=3)
    data: list[list] = [[Paragraph(esc(c.header), st.cell_head) for c in columns]]
    extra: list[tuple] = [("BACKGROUND", (0, 0), (-1, 0), SHADE), ("VALIGN", (0, 1), (-1, -1), "TOP")]
    group = None
    for t, (tt, text, ratio, pct) in zip(doc.targets, rows):
        if t.group and t.group != group:
            group = t.group
            r = len(data)
            data.append([Paragraph(esc(group), st.cell_group), "", "", ""])
            extra += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), SHADE_LIGHT),
                      ("NOSPLIT", (0, r), (-1, r + 1))]
        data.append([para(tt, st.cell_center), para(text, st.cell), para(ratio, st.cell_center),
                     para(pct, st.cell_center)])
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(base_table_style(extra))
    return table


def unit_table(doc: ConsolidatedReportDoc, width: float = LANDSCAPE_WIDTH) -> Table:
    st = styles()
    widths = [10 * mm, 0, 32 * mm, 30 * mm, 40 * mm, 28 * mm]
    widths[1] = width - sum(widths)
    data: list[list] = [[Paragraph(esc(h), st.cell_head) for h in (
        "TT", "Đơn vị", "Ngày gửi báo cáo", "Thời hạn", "Mục tiêu hoàn thành/áp dụng",
        "Tỷ lệ hoàn thành")]]
    for i, u in enumerate(doc.units, start=1):
        sub = doc.submissions.get(u.code)
        if sub is not None and sub.returned:
            sent, timing, ratio, pct = RETURNED_LABEL, EMPTY, EMPTY, EMPTY
        elif sub is None or sub.submitted_on is None:
            sent, timing, ratio, pct = NOT_REPORTED_LABEL, EMPTY, EMPTY, EMPTY
        else:
            sent = fmt_date(sub.submitted_on)
            timing = EMPTY if sub.on_time is None else "Đúng hạn" if sub.on_time else "Chậm"
            done, total = doc.unit_completion(u.code)
            ratio = fmt_ratio(done, total) if total else EMPTY
            pct = fmt_percent(done / total) if total else EMPTY
        data.append([para(str(i), st.cell_center), para(u.name, st.cell),
                     para(sent, st.cell_center), para(timing, st.cell_center),
                     para(ratio, st.cell_center), para(pct, st.cell_center)])
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    table.setStyle(base_table_style([("BACKGROUND", (0, 0), (-1, 0), SHADE)]))
    return table


def _names(names: Sequence[str]) -> str:
    return "; ".join(names)


def reporting_paragraphs(doc: ConsolidatedReportDoc) -> list[Flowable]:
    """Section I: how many units reported, on time or late, returned, missing — full names."""
    st = styles()
    r = doc.reporting
    rate = fmt_percent(r.rate) if r.rate is not None else EMPTY
    text = (f"Tổng số đơn vị phải báo cáo: {fmt_int(r.expected)} đơn vị; đã báo cáo: "
            f"{fmt_ratio(r.received, r.expected)} đơn vị (đạt {rate}), trong đó đúng hạn "
            f"{fmt_int(r.on_time)} đơn vị, chậm {fmt_int(r.late)} đơn vị")
    if r.returned:
        text += f"; {RETURNED_LABEL.lower()} để hoàn thiện: {fmt_int(r.returned)} đơn vị"
    text += f"; chưa báo cáo: {fmt_int(r.missing)} đơn vị."
    out: list[Flowable] = [para(text, st.body)]
    subs = doc.submissions
    late = [u.name for u in doc.units if subs.get(u.code) is not None and subs[u.code].counts
            and subs[u.code].on_time is False]
    returned = [u.name for u in doc.units if subs.get(u.code) is not None and subs[u.code].returned]
    missing = [u.name for u in doc.units
               if subs.get(u.code) is None or (subs[u.code].submitted_on is None
                                               and not subs[u.code].returned)]
    if late:
        out.append(para(f"Đơn vị báo cáo chậm: {_names(late)}.", st.body))
    if returned:
        out.append(para(f"Báo cáo {RETURNED_LABEL.lower()} để hoàn thiện, chưa gửi lại (không tính "
                        f"vào số liệu tổng hợp): {_names(returned)}.", st.body))
    if missing and subs:
        out.append(para(f"Đơn vị chưa báo cáo: {_names(missing)}.", st.body))
    head = ["Phải báo cáo", "Đã báo cáo", "Tỷ lệ", "Đúng hạn", "Chậm", "Đã trả lại", "Chưa báo cáo"]
    vals = [fmt_int(r.expected), fmt_int(r.received), rate, fmt_int(r.on_time),
            fmt_int(r.late), fmt_int(r.returned), fmt_int(r.missing)]
    t = Table([[Paragraph(esc(h), st.cell_head) for h in head],
               [para(v, st.cell_center) for v in vals]],
              colWidths=[BODY_WIDTH / len(head)] * len(head), hAlign="LEFT")
    t.setStyle(base_table_style([("BACKGROUND", (0, 0), (-1, 0), SHADE)]))
    out += [Spacer(1, 8), t, Spacer(1, 4)]
    return out


def build_consolidated_report(doc: ConsolidatedReportDoc,
                              template: ReportDocTemplate) -> list[Flowable]:
    st = styles()
    h = doc.header
    story: list[Flowable] = [national_header(h)]
    story += title_block(h.title, h.subject, h.recipients)
    story.append(Paragraph("I. TÌNH HÌNH BÁO CÁO", st.heading))
    story += reporting_paragraphs(doc)
    story.append(Paragraph("II. KẾT QUẢ TỔNG HỢP", st.heading))
    summary = [p for p in nfc(doc.summary).splitlines() if p.strip()]
    story += [para(p, st.body) for p in summary]
    story.append(para("Kết quả chi tiết của từng đơn vị, từng mục tiêu, nhiệm vụ tại Phụ lục "
                      "kèm theo.", st.body))
    story.append(closing_blocks(doc.recipients, doc.signature, doc.verification))

    kind = nfc(h.title).strip().capitalize() or "Báo cáo"
    number = f" số {h.number}" if h.number else ""
    note = f"(Kèm theo {kind}{number} {h.date_words} của {h.unit_in_sentence})"
    story += [NextPageTemplate("landscape"), PageBreak(), template.restart_numbering()]
    story += appendix_heading("Phụ lục", doc.appendix_title, note, LANDSCAPE_WIDTH)
    story.append(Paragraph("1. Tình hình báo cáo và tỷ lệ hoàn thành của các đơn vị",
                           st.appendix_section))
    story.append(unit_table(doc))
    story += matrix_blocks(doc, lead=[Paragraph(
        "2. Kết quả thực hiện theo từng đơn vị, từng mục tiêu, nhiệm vụ", st.appendix_section)])
    story.append(Paragraph("3. Danh mục mục tiêu, nhiệm vụ (số thứ tự dùng trong các bảng ở mục 2)",
                           st.appendix_section))
    story.append(target_list(doc))
    return story


def render_consolidated_report(doc: ConsolidatedReportDoc, stream: BinaryIO) -> list[tuple]:
    """Write the consolidated report as PDF to a binary stream; returns the signature spaces."""
    h = doc.header
    template = ReportDocTemplate(
        stream,
        title=f"{upper(h.title)} {h.number}".strip(),
        subject=h.subject,
        author=h.unit_in_sentence,
        keywords=("báo cáo tổng hợp", "chuyển đổi số"),
    )
    template.build(build_consolidated_report(doc, template))
    return list(template.signature_spaces)
