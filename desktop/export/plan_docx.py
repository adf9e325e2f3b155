"""Plans from Word: the appendix table of an issued .docx read straight into a plan document.

Plans are issued as Word files; their appendix ("PHỤ LỤC … (Kèm theo Kế hoạch hành động số
08-KH/ĐU ngày 26 tháng 8 năm 2025 …)") is a table laid out like the spreadsheets this app reads.
Each table of the document becomes a grid (python-docx resolves merged cells: a cell spanning
columns appears once per column, a vertical merge repeats the top cell) and the shared reader in
:mod:`desktop.export.plan_xlsx` does the rest — the same header names, group and target rows,
deadlines, measures, problems and untitled-group questions as a spreadsheet. The paragraphs
above the table give the title and, from the "Kèm theo …" line, the kind, number, symbol and
date. Nothing here touches the database.

Never imports Qt.
"""

from __future__ import annotations

from typing import BinaryIO, Mapping

from desktop.models.domain.i18n import nfc, tr

from .plan_xlsx import Grid, GridCell, ReadResult, read_grids

__all__ = ["read_plan_docx", "docx_grids"]


def _t(text: str) -> str:
    return tr("PlanDocx", text)


def docx_grids(document) -> list[Grid]:
    """Every top-level table of a python-docx Document as a Grid, with the text above it."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    grids: list[Grid] = []
    above: list[str] = []
    n = 0
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            text = " ".join(nfc(Paragraph(child, document).text).split())
            if text:
                above.append(text)
        elif tag == "tbl":
            n += 1
            table = Table(child, document)
            rows = []
            prev: list = []
            for ri, row in enumerate(table.rows, start=1):
                tcs = [c._tc for c in row.cells]
                made: dict[int, GridCell] = {}
                cells = []
                for ci, (c, tc) in enumerate(zip(row.cells, tcs)):
                    from_above = ci < len(prev) and prev[ci] is tc
                    key = id(tc)
                    if key not in made or from_above:
                        made[key] = GridCell(c.text, "", from_above, "")
                    cells.append(made[key])
                prev = tcs
                rows.append((ri, cells))
            grids.append(Grid(_t("bảng {0}").format(n), rows, above[-8:], is_word=True))
            above = []
    return grids


def read_plan_docx(stream: BinaryIO, source_name: str, defaults: Mapping | None = None) -> ReadResult:
    """Read the appendix table of a .docx into a plan document (see plan_xlsx.read_grids)."""
    res = ReadResult(source_name)
    try:
        import docx

        document = docx.Document(stream)
    except Exception:  # python-docx raises many kinds for a file that is not a .docx
        res.problem(_t("Tệp không phải văn bản Word (.docx) hợp lệ hoặc đã bị hỏng."))
        return res
    grids = docx_grids(document)
    if not grids:
        res.problem(_t("Văn bản không có bảng nào; phụ lục kế hoạch phải là một bảng (TT, Tên nhiệm vụ, Đơn vị chủ "
                       "trì, …)."))
        return res
    return read_grids(grids, res, defaults)
