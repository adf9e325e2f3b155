"""A notice (thông báo) after NĐ 30 Phụ lục III mẫu 1.4: the reminder to units late with a report.

Heading, "THÔNG BÁO" with its subject, the body, the numbered list of units concerned (a small
portrait table), the closing request, "Nơi nhận" and the signer, the verification block.
No "Kính gửi" line: a notice names its addressees under "Nơi nhận".
"""

from __future__ import annotations

from typing import BinaryIO

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Table

from ..documents import NoticeDoc, paragraphs
from ..vnformat import upper
from ._base import (
    BODY_WIDTH,
    SHADE,
    Column,
    ReportDocTemplate,
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


def notice_table(doc: NoticeDoc) -> Table:
    st = styles()
    rows = [(str(i), it.name, it.detail, it.situation) for i, it in enumerate(doc.items, start=1)]
    h1, h2, h3 = (tuple(doc.list_headers) + ("", "", ""))[:3]
    columns = (Column("TT", "code"), Column(h1, "text"), Column(h2, "short", max_width=32 * mm),
               Column(h3, "short", max_width=45 * mm))
    widths = fit_widths(columns, rows, BODY_WIDTH, font=REGULAR, size=st.cell.fontSize,
                        head_font=BOLD, head_size=st.cell_head.fontSize, pad=3)
    data: list[list] = [[Paragraph(esc(c.header), st.cell_head) for c in columns]]
    for tt, name, detail, situation in rows:
        data.append([para(tt, st.cell_center), para(name, st.cell), para(detail, st.cell_center),
                     para(situation, st.cell_center)])
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(base_table_style([("BACKGROUND", (0, 0), (-1, 0), SHADE)]))
    return t


def build_notice(doc: NoticeDoc) -> list[Flowable]:
    st = styles()
    h = doc.header
    story: list[Flowable] = [national_header(h)]
    story += title_block(h.title, h.subject, h.recipients)
    story += [para(t, st.body) for t in paragraphs(doc.intro)]
    if doc.items:
        if doc.list_title:
            story.append(Paragraph(esc(doc.list_title), st.table_caption))
        story.append(notice_table(doc))
    story += [para(t, st.body) for t in paragraphs(doc.closing)]
    story.append(closing_blocks(doc.recipients, doc.signature, doc.verification, what="thông báo"))
    return story


def render_notice(doc: NoticeDoc, stream: BinaryIO) -> list[tuple]:
    """Write the notice as PDF; returns the signature spaces (see ``SignatureSpace``)."""
    h = doc.header
    template = ReportDocTemplate(stream, title=f"{upper(h.title)} {h.number}".strip(),
                                 subject=h.subject, author=h.unit_in_sentence,
                                 keywords=("thông báo", "đôn đốc báo cáo"))
    template.build(build_notice(doc))
    return list(template.signature_spaces)
