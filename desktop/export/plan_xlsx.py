"""Plans as Excel workbooks, laid out like the appendix tables of the documents.

`write_plan(doc, stream)` writes three sheets:

* "Kế hoạch": the appendix table — TT, Mã, Mục tiêu/nhiệm vụ, Đơn vị chủ trì, Đơn vị phối hợp,
  Thời gian hoàn thành, Kết quả, Chỉ tiêu/đo lường — with Roman-numeral group rows;
* "Thông tin": the plan's identity (id, title, number, symbol, issuing unit, year …), editable;
* "_vks_cds" (hidden): the full plan document as JSON, so a round trip restores every field the
  table does not show (measure details, levels, source references …).

`read_plan(stream, name)` reads such a workbook back, or any sheet laid out like the documents'
appendices (the header row is found by its names, group rows by Roman numerals, targets by TT
numbers; deadlines like "3/2024", "Tháng 12/2025", "Hàng tháng", "31/8/2023"; measures inferred
from the wording). When the hidden sheet is there, a visible cell that still shows what was
exported keeps the exact stored value; an edited cell is read afresh. Every problem comes back
with its row, column and a Vietnamese message; nothing here touches the database.

Never imports Qt.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, BinaryIO, Mapping, TypedDict

from desktop.models.domain.plan import (FIELD_LABELS, FORMAT, PLAN_KIND_LABELS, READ_FORMATS, Deadline,
                                   DeadlineParseError, Measure, PlanProblem, fmt_date, infer_measure, parse_deadline,
                                   parse_measure, parse_recurrence, plan_from_document, roman)
from desktop.models.domain.i18n import fold, nfc, tr

MAIN_SHEET = "Kế hoạch"
INFO_SHEET = "Thông tin"
DATA_SHEET = "_vks_cds"
CHUNK = 30000  # an Excel cell holds at most 32 767 characters

COLUMNS = (
    ("tt", "TT", 6),
    ("code", "Mã", 13),
    ("text", "Mục tiêu/nhiệm vụ", 62),
    ("lead_units", "Đơn vị chủ trì", 24),
    ("coordinating_units", "Đơn vị phối hợp", 28),
    ("deadline", "Thời gian hoàn thành", 17),
    ("expected_result", "Kết quả", 36),
    ("measure", "Chỉ tiêu/đo lường", 22),
)
TARGET_COLUMNS = ("code", "text", "lead_units", "coordinating_units", "deadline", "expected_result", "measure")

# Header names recognised when reading (accent-folded, lower case); first match wins.
HEADER_RULES = (
    ("tt", re.compile(r"^(s\.?\s*tt|tt|so tt|so thu tu)$")),
    ("code", re.compile(r"^(ma|ma so|ma muc tieu|ma nhiem vu)$")),
    ("lead_units", re.compile(r"(don vi )?chu tri")),
    ("coordinating_units", re.compile(r"(don vi )?phoi hop")),
    ("deadline", re.compile(r"^(thoi gian( hoan thanh| thuc hien)?|thoi han( hoan thanh)?|tien do)$")),
    ("expected_result", re.compile(r"^(ket qua|san pham|ket qua ?/ ?san pham|ket qua dau ra)")),
    ("measure", re.compile(r"^(chi tieu ?/ ?do luong|do luong|chi tieu do luong|cach do)$")),
    ("text", re.compile(r"^(muc tieu|nhiem vu|ten nhiem vu|ten muc tieu|noi dung|muc tieu ?/ ?nhiem vu|"
                        r"noi dung nhiem vu|nhiem vu ?/ ?giai phap)")),
)
ROMAN_RE = re.compile(r"^(?=[IVXLC])M{0,3}(C[MD]|D?C{0,3})(X[CL]|L?X{0,3})(I[XV]|V?I{0,3})$")
#: 1, 2, 3 …, 01, 1.1, 2.3.1 (sub-numbered) or a), b), c) as in the guidance documents
TT_RE = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){0,3}|[a-zđ])$")
#: a group numeral written with a title in the same cell: "II. Về hạ tầng", "Phần III - Nền tảng", "B) …"
GROUP_IN_CELL_RE = re.compile(r"^(?:phần|nhóm|mục|chương)?\s*([IVXLC]{1,6}|[A-H])\s*[.):\-–—]\s*(\S.*)$", re.S)
#: what a TT cell may be dressed in: "Phần II", "Nhóm III", "(1)", "1.", "a)", "II -"
TT_DRESS_RE = re.compile(r"^(?:phần|nhóm|mục|chương)\s+", re.I)
BULLETS = ("-", "+", "•", "–", "*", "o")
CODE_PREFIX_RE = re.compile(r"^([A-Z]{1,6}\d{1,3}(?:[.\-]\d{1,3})*)\s*[:.]\s+(.+)$", re.S)
CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{1,31}$")
GROUP_CODE_RE = re.compile(r"^[A-Za-z0-9._-]{1,20}$")
EXCLUSION_RE = re.compile(r"\((trừ [^()]*)\)\s*[.;]?\s*$", re.I)

INFO_FIELDS = (
    ("id", "Mã kế hoạch"),
    ("kind", "Loại văn bản"),
    ("number", "Số"),
    ("symbol", "Ký hiệu"),
    ("title", "Tên kế hoạch"),
    ("issuing_unit.name", "Đơn vị ban hành"),
    ("issuing_unit.code", "Mã đơn vị ban hành"),
    ("year", "Năm kế hoạch"),
    ("issue_date", "Ngày ban hành"),
    ("legal_bases", "Căn cứ (mỗi dòng một văn bản)"),
    ("version", "Phiên bản"),
)


def _t(text: str) -> str:
    return tr("PlanXlsx", text)


# ------------------------------------------------------------------ shared rendering
def cell_text(fieldname: str, target: Mapping, year: int) -> str:
    """What the table shows for one field of a target (the reader compares against this)."""
    if fieldname in ("lead_units", "coordinating_units"):
        return "\n".join(target.get(fieldname, ()))
    if fieldname == "deadline":
        dl = target["deadline"]
        return dl.get("text") or Deadline.from_json(dl).label(year)
    if fieldname == "measure":
        return Measure.from_json(target["measure"]).label
    return str(target.get(fieldname, "") or "")


def _info_value(key: str, doc: Mapping) -> str:
    if key == "kind":
        kind = str(doc.get("kind") or "")
        return tr("Domain", PLAN_KIND_LABELS.get(kind, kind))
    if key.startswith("issuing_unit."):
        return str((doc.get("issuing_unit") or {}).get(key.split(".", 1)[1], ""))
    if key == "issue_date":
        return fmt_date(date.fromisoformat(doc["issue_date"])) if doc.get("issue_date") else ""
    if key == "legal_bases":
        return "\n".join(doc.get("legal_bases", ()))
    v = doc.get(key)
    return "" if v is None else str(v)


def _safe(text: Any) -> Any:
    """Plain text for a cell: no formula injection, no control characters Excel rejects."""
    if not isinstance(text, str):
        return text
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", nfc(text))
    return text


def _set(ws, row: int, col: int, value: Any):
    c = ws.cell(row=row, column=col, value=_safe(value))
    if isinstance(value, str) and value.startswith("="):
        c.data_type = "s"
    return c


# ------------------------------------------------------------------ writing
def write_plan(doc: Mapping, stream: BinaryIO) -> None:
    """Write a plan document as an .xlsx workbook to a binary stream."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    plan = plan_from_document(doc)
    year = plan.year
    wb = Workbook()
    ws = wb.active
    ws.title = MAIN_SHEET
    ncol = len(COLUMNS)
    last_col = get_column_letter(ncol)
    thin = Side(style="thin", color="808080")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap_top = Alignment(wrap_text=True, vertical="top")
    center_top = Alignment(wrap_text=True, vertical="top", horizontal="center")

    _set(ws, 1, 1, plan.title)
    ws.merge_cells(f"A1:{last_col}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws["A1"].alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.row_dimensions[1].height = 36
    sub = _t("{0} số {1} — {2} — năm {3}").format(plan.kind_label, plan.reference, plan.issuing_unit.name, year)
    _set(ws, 2, 1, sub)
    ws.merge_cells(f"A2:{last_col}2")
    ws["A2"].font = Font(italic=True)
    ws["A2"].alignment = Alignment(horizontal="center")

    header_row = 4
    for i, (_, label, width) in enumerate(COLUMNS, start=1):
        c = _set(ws, header_row, i, _t(label))
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="D9D9D9")
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        c.border = border
        ws.column_dimensions[get_column_letter(i)].width = width
    r = header_row
    group_fill = PatternFill("solid", fgColor="DDEBF7")
    for gi, g in enumerate(doc["groups"], start=1):
        r += 1
        values = [roman(gi), g["code"], g["title"]] + [None] * (ncol - 3)
        for ci, v in enumerate(values, start=1):
            c = _set(ws, r, ci, v)
            c.font = Font(bold=True)
            c.fill = group_fill
            c.border = border
            c.alignment = center_top if ci == 1 else wrap_top
        for ti, t in enumerate(g["targets"], start=1):
            r += 1
            values = [ti] + [cell_text(f, t, year) for f in TARGET_COLUMNS]
            for ci, v in enumerate(values, start=1):
                c = _set(ws, r, ci, v if v != "" else None)
                c.border = border
                c.alignment = center_top if ci == 1 else wrap_top
                if COLUMNS[ci - 1][0] == "deadline":
                    c.number_format = "@"
    ws.freeze_panes = f"A{header_row + 1}"
    ws.auto_filter.ref = f"A{header_row}:{last_col}{r}"
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True

    info = wb.create_sheet(INFO_SHEET)
    info.column_dimensions["A"].width = 30
    info.column_dimensions["B"].width = 90
    info.column_dimensions["C"].width = 20
    for ci, label in enumerate((_t("Thông tin"), _t("Giá trị"), _t("Trường (không sửa)")), start=1):
        c = _set(info, 1, ci, label)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="D9D9D9")
    for ri, (key, label) in enumerate(INFO_FIELDS, start=2):
        _set(info, ri, 1, _t(label)).font = Font(bold=True)
        _set(info, ri, 2, _info_value(key, doc) or None).alignment = Alignment(wrap_text=True, vertical="top")
        _set(info, ri, 3, key).font = Font(color="808080")
    note_row = len(INFO_FIELDS) + 3
    _set(info, note_row, 1, _t("Ghi chú"))
    _set(info, note_row, 2, _t("Sửa trực tiếp trên trang 'Kế hoạch' và trang này rồi nhập lại vào VKS CĐS; "
                               "không xóa trang ẩn '_vks_cds' (giữ các thông tin chi tiết của kế hoạch)."))
    info[f"B{note_row}"].alignment = Alignment(wrap_text=True)

    data = wb.create_sheet(DATA_SHEET)
    data.sheet_state = "hidden"
    payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    _set(data, 1, 1, FORMAT)
    for i in range(0, len(payload), CHUNK):
        _set(data, 2 + i // CHUNK, 1, payload[i:i + CHUNK])
    wb.save(stream)


# ------------------------------------------------------------------ reading
@dataclass(frozen=True)
class SheetRow:
    """One row of the table as understood, for the import preview."""

    row: int
    kind: str  # group | target
    tt: str
    code: str
    text: str
    lead_units: str = ""
    coordinating_units: str = ""
    deadline: str = ""
    deadline_label: str = ""
    expected_result: str = ""
    measure: str = ""


class _Where(TypedDict):
    """Where a problem is, as `ReadResult.problem` takes it: the row and the column as written."""

    row: int
    column: str


@dataclass
class ReadResult:
    source_name: str
    document: dict | None = None
    rows: list[SheetRow] = field(default_factory=list)
    problems: list[PlanProblem] = field(default_factory=list)
    group_rows: list[int] = field(default_factory=list)
    target_rows: list[list[int]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    #: problems that do not stop the import (a group with a numeral but no title …)
    warnings: list[PlanProblem] = field(default_factory=list)
    #: groups the table gives a numeral but no title: (group code, row); the preview lets the
    #: user name them, or keep "Nhóm III" (then flagged title_missing)
    untitled: list[tuple[str, int]] = field(default_factory=list)
    cell_refs: dict[tuple[int, str], str] = field(default_factory=dict)
    table_name: str = ""

    def problem(self, message: str, row: int | None = None, column: str = "", target: str = "", group: str = "",
                field_name: str = ""):
        self.problems.append(PlanProblem(self.source_name, message, row=row, column=column, target=target,
                                         group=group, cell=self._cell(row, field_name or column)))

    def _cell(self, row: int | None, key: str) -> str:
        if row is None:
            return ""
        ref = self.cell_refs.get((row, key)) or self.cell_refs.get((row, self._field_of(key)))
        if ref:
            return ref
        return f"{self.table_name}" if self.table_name else ""

    def _field_of(self, header: str) -> str:
        return next((f for f, h in self.headers.items() if h == header), header)

    def locate(self, p: PlanProblem) -> PlanProblem:
        """Put a document-level problem (JSON path) on the spreadsheet row and column it came from."""
        m = re.match(r"^groups\[(\d+)\](?:\.targets\[(\d+)\])?(?:\.(\w+))?", p.field or "")
        if not m:
            return p
        gi, ti, key = int(m.group(1)), m.group(2), m.group(3) or ""
        try:
            row = self.target_rows[gi][int(ti)] if ti is not None else self.group_rows[gi]
        except IndexError:
            return p
        if ti is None:
            column = self.headers.get("code", "") if key == "code" and "code" in self.headers else \
                self.headers.get("text", "")
        elif key == "code" and "code" not in self.headers:
            column = self.headers.get("text", "")  # the code came from the text ("MT01: …")
        else:
            column = self.headers.get(key, tr("Domain", FIELD_LABELS.get(key, key)))
        return PlanProblem(p.file, p.message, field=p.field, target=p.target, group=p.group, row=row, column=column,
                           cell=self._cell(row, column))


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        v = v.date()
    if isinstance(v, date):
        return fmt_date(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return "\n".join(" ".join(line.split()) for line in nfc(str(v)).strip().splitlines()).strip()


def _header_field(value: Any) -> str | None:
    if value is None or isinstance(value, (int, float, date)):
        return None
    key = " ".join(fold(_text(value)).split())
    key = re.sub(r"\s*/\s*", "/", key).strip(" :*.")
    for fieldname, rx in HEADER_RULES:
        if key and rx.search(key):
            return fieldname
    return None


@dataclass
class GridCell:
    """One cell of a table as read: its value, its number format (spreadsheets) and whether it
    continues a vertical merge from the row above (then it repeats the merged value)."""

    value: Any = None
    number_format: str = ""
    from_above: bool = False
    ref: str = ""  # "C12" in a spreadsheet


@dataclass
class Grid:
    """A table from a sheet or a Word document: numbered rows of cells, and the text above it."""

    name: str
    rows: list[tuple[int, list[GridCell]]]
    above: list[str] = field(default_factory=list)
    is_word: bool = False


def sheet_grid(ws) -> Grid:
    """A worksheet as a grid. Merged ranges: the value sits in the top-left cell; cells below it
    in the same column repeat it (marked from_above), cells to its right stay empty."""
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    for rng in ws.merged_cells.ranges:
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                if (r, c) != (rng.min_row, rng.min_col):
                    merged[(r, c)] = (rng.min_row, rng.min_col)
    rows: list[tuple[int, list[GridCell]]] = []
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row):
        cells = []
        for c in row:
            r0c0 = merged.get((c.row, c.column))
            if r0c0 is None:
                cells.append(GridCell(c.value, c.number_format or "", False, c.coordinate))
            elif r0c0[1] == c.column:
                top = ws.cell(*r0c0)
                cells.append(GridCell(top.value, top.number_format or "", True, c.coordinate))
            else:
                cells.append(GridCell(None, "", False, c.coordinate))
        if cells:
            rows.append((cells[0].ref and int(re.sub(r"^[A-Z]+", "", cells[0].ref)) or len(rows) + 1, cells))
    return Grid(ws.title, rows)


def _is_continuation(cells: list[GridCell], above: list[str | None]) -> bool:
    """Does a row under the header carry the rest of a heading split over two rows ('Thời gian'
    / 'hoàn thành', 'Đơn vị thực hiện' / 'Chủ trì' | 'Phối hợp')?"""
    texts = ["" if c.from_above else _text(c.value) for c in cells]
    filled = [t for t in texts if t]
    if not filled or any(ROMAN_RE.match(t.rstrip(".")) or TT_RE.match(t.rstrip(".)")) for t in filled):
        return False
    if any(len(t.split()) > 4 for t in filled):
        return False
    for i, t in enumerate(texts):
        if t and not (_header_field(t) or _header_field(f"{above[i] or ''} {t}")):
            return False
    return True


def _find_table(grids: list[Grid]) -> tuple[Grid | None, int, dict[str, tuple[int, str]]]:
    """The first grid with a header row naming the text column and one more: (grid, index of the
    last header row in grid.rows, field → (column index 1-based, header as written))."""
    for grid in grids:
        for i, (_, cells) in enumerate(grid.rows[:40]):
            cols: dict[str, tuple[int, str]] = {}
            for ci, c in enumerate(cells, start=1):
                f = _header_field(c.value)
                if f and f not in cols:
                    cols[f] = (ci, _text(c.value).replace("\n", " "))
            if "text" not in cols or len(cols) < 2:
                continue
            # a heading split over two rows: join each column's words with the row below
            if i + 1 < len(grid.rows):
                nxt = grid.rows[i + 1][1]
                heads: list[str | None] = []
                last = None
                for c in cells:  # a parent heading merged across columns covers the ones to its right
                    t = _text(c.value) or None
                    last = t if t else last
                    heads.append(t or last)
                if _is_continuation(nxt, heads):
                    joined: dict[str, tuple[int, str]] = {}
                    for ci in range(1, max(len(cells), len(nxt)) + 1):
                        top = heads[ci - 1] if ci - 1 < len(heads) else None
                        low = _text(nxt[ci - 1].value) if ci - 1 < len(nxt) and not nxt[ci - 1].from_above else ""
                        for label in ((f"{top} {low}" if top and low else None), low or None, top):
                            if not label:
                                continue
                            f = _header_field(label)
                            if f and f not in joined:
                                joined[f] = (ci, label.replace("\n", " "))
                                break
                    if "text" in joined:
                        return grid, i + 1, joined
            return grid, i, cols
    return None, 0, {}


def _read_base(wb, res: ReadResult) -> dict | None:
    if DATA_SHEET not in wb.sheetnames:
        return None
    ws = wb[DATA_SHEET]
    if ws.cell(1, 1).value not in READ_FORMATS:
        return None
    payload = "".join(str(ws.cell(r, 1).value or "") for r in range(2, ws.max_row + 1))
    try:
        doc = json.loads(payload)
    except ValueError:
        res.problem(_t("Trang ẩn '{0}' bị hỏng; bảng được đọc như một phụ lục thông thường.").format(DATA_SHEET))
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("groups"), list) else None


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")
    s = s[:64].strip("-")
    return s if len(s) >= 3 else "ke-hoach-nhap"


def _split_units(value: str) -> list[str]:
    """One unit per line; on one line, units are separated by ';' or ','."""
    if not value:
        return []
    parts = value.splitlines() if "\n" in value else re.split(r"\s*;\s*", value) if ";" in value \
        else re.split(r"\s*,\s*", value)
    return [p.strip(" .;,") for p in parts if p.strip(" .;,")]


def _read_info(wb, base: dict | None, doc: dict, res: ReadResult) -> None:
    """Apply edits made on the 'Thông tin' sheet to `doc` (cells left as exported change nothing)."""
    if INFO_SHEET not in wb.sheetnames:
        return
    ws = wb[INFO_SHEET]
    kinds = {fold(tr("Domain", v)): k for k, v in PLAN_KIND_LABELS.items()}
    for r in range(2, ws.max_row + 1):
        key = _text(ws.cell(r, 3).value)
        if key not in dict(INFO_FIELDS) or key == "version":
            continue
        value = _text(ws.cell(r, 2).value)
        raw = ws.cell(r, 2).value
        if base is not None and value == _text(_info_value(key, base)):
            continue
        column = _text(ws.cell(r, 1).value) or key
        where = _Where(row=r, column=f"{INFO_SHEET}: {column}")
        if key == "kind":
            if fold(value) in kinds:
                doc["kind"] = kinds[fold(value)]
            else:
                res.problem(_t("Loại văn bản '{0}' không hợp lệ; chọn một trong: {1}.").format(
                    value, ", ".join(tr("Domain", v) for v in PLAN_KIND_LABELS.values())), **where)
        elif key == "year":
            try:
                doc["year"] = int(value)
            except ValueError:
                res.problem(_t("Năm kế hoạch '{0}' không phải là số.").format(value), **where)
        elif key == "issue_date":
            if not value:
                doc["issue_date"] = None
            elif isinstance(raw, (date, datetime)):
                doc["issue_date"] = (raw.date() if isinstance(raw, datetime) else raw).isoformat()
            else:
                try:
                    dl = parse_deadline(value)
                    if dl.type != "date" or dl.date is None:
                        raise DeadlineParseError(value)
                    doc["issue_date"] = dl.date.isoformat()
                except DeadlineParseError:
                    res.problem(_t("Ngày ban hành '{0}' không hợp lệ (cần dạng dd/mm/yyyy).").format(value), **where)
        elif key == "legal_bases":
            doc["legal_bases"] = [x for x in value.splitlines() if x.strip()]
            if not doc["legal_bases"]:
                doc.pop("legal_bases")
        elif key == "number":
            doc["number"] = value or None
        elif key.startswith("issuing_unit."):
            unit = dict(doc.get("issuing_unit") or {})
            sub = key.split(".", 1)[1]
            if value:
                unit[sub] = value
            else:
                unit.pop(sub, None)
            doc["issuing_unit"] = unit
        else:
            doc[key] = value


def read_plan(stream: BinaryIO, source_name: str, defaults: Mapping | None = None) -> ReadResult:
    """Read a plan from an .xlsx stream. `defaults` fills plan fields a bare appendix lacks
    (issuing_unit, place_name, id, year). Returns the document (None when the table is unreadable),
    the rows as understood and every problem with its row, column and cell."""
    from openpyxl import load_workbook

    res = ReadResult(source_name)
    try:
        wb = load_workbook(stream, data_only=True)
    except Exception:  # openpyxl raises many kinds for a non-xlsx file
        res.problem(_t("Tệp không phải bảng tính Excel (.xlsx) hợp lệ hoặc đã bị hỏng."))
        return res
    base = _read_base(wb, res)
    grids = [sheet_grid(ws) for ws in wb.worksheets
             if ws.title not in (INFO_SHEET, DATA_SHEET) and ws.sheet_state == "visible"]
    return read_grids(grids, res, defaults, base=base, info=lambda doc: _read_info(wb, base, doc, res))


_KEM_THEO = re.compile(r"kèm theo\s+(kế hoạch hành động|kế hoạch|hướng dẫn)\s+số\s+(\d+)\s*([-/])\s*([^\s,]+)"
                       r"(?:\s+ngày\s+(\d{1,2})\s*(?:tháng\s*|/)\s*(\d{1,2})\s*(?:năm\s*|/)\s*(\d{4}))?", re.I)
_KINDS = {"kế hoạch hành động": "ke_hoach_hanh_dong", "kế hoạch": "ke_hoach", "hướng dẫn": "huong_dan"}


def _issued_with(lines: list[str], doc: dict) -> None:
    """'(Kèm theo Kế hoạch hành động số 08-KH/ĐU ngày 26 tháng 8 năm 2025 …)' above an appendix
    gives the document's kind, number, symbol and date."""
    for line in lines:
        m = _KEM_THEO.search(nfc(line))
        if not m:
            continue
        doc["kind"] = _KINDS[m.group(1).casefold()]
        doc["number"], doc["symbol"] = m.group(2), m.group(4).rstrip(".;)")
        if m.group(7):
            try:
                doc["issue_date"] = date(int(m.group(7)), int(m.group(6)), int(m.group(5))).isoformat()
            except ValueError:
                pass
        return


def _split_tt(tt: str, text: str) -> tuple[str, str, str]:
    """Normalise a TT cell: ('II', title, 'group') for 'Phần II', 'II.', 'II. Về hạ tầng' (the
    title then comes from the cell when the text column is empty); ('3', '', 'target') for '3.',
    '(3)', '03', '1.2', 'b)'; ('', '', 'bullet') for '-', '+', '•'; ('', '', '') when empty;
    otherwise (tt, '', 'unknown')."""
    raw = " ".join(tt.split())
    if not raw:
        return "", "", ""
    if raw in BULLETS:
        return "", "", "bullet"
    m = GROUP_IN_CELL_RE.match(raw)
    if m and (ROMAN_RE.match(m.group(1)) or m.group(1) in "ABCDEFGH"):
        return m.group(1), m.group(2).strip(), "group"
    bare = TT_DRESS_RE.sub("", raw).strip().strip("().:-–—").strip()
    if bare and (ROMAN_RE.match(bare) or (len(bare) == 1 and bare in "ABCDEFGH")):
        return bare, "", "group"
    num = bare.rstrip(".)")
    if re.fullmatch(r"0\d{1,2}", num):
        num = str(int(num))
    if TT_RE.match(num.lower()) and (num.lower() == num or num.isdigit()):
        return num, "", "target"
    return raw, "", "unknown"


def read_grids(grids: list[Grid], res: ReadResult, defaults: Mapping | None = None, base: dict | None = None,
               info=None) -> ReadResult:
    """Read a plan from tables (a spreadsheet's sheets or a Word document's tables): find the
    header, then group and target rows, tolerating what typed appendices do — a group with a
    numeral and no title (kept as 'Nhóm III', flagged for the user), a title and its numeral on
    two rows, a heading split over two rows, merged cells, numbering like 'II.', 'Phần II',
    '1.', '(1)', '1.1', 'a)', '-' and deadlines written in words."""
    defaults = dict(defaults or {})
    source_name = res.source_name
    grid, header_idx, cols = _find_table(grids)
    if grid is None:
        res.problem(_t("Không tìm thấy dòng tiêu đề của bảng. Cần ít nhất cột 'Mục tiêu' (hoặc 'Tên nhiệm vụ') và "
                       "một trong các cột TT, Đơn vị chủ trì, Đơn vị phối hợp, Thời gian hoàn thành, Kết quả."))
        return res
    if grid.is_word:
        res.table_name = grid.name
    res.headers = {f: h for f, (_, h) in cols.items()}
    text_header = fold(cols["text"][1])
    default_kind = "nhiem_vu" if "nhiem vu" in text_header and "muc tieu" not in text_header else "muc_tieu"
    header_row = grid.rows[header_idx][0]

    # --- plan-level fields ------------------------------------------------------------------
    above = list(grid.above) + [_text(c.value) for _, cells in grid.rows[:header_idx]
                                if sum(1 for c in cells if _header_field(c.value)) < 2  # not the header's first row
                                for c in cells if _text(c.value) and not _header_field(c.value)]
    above = list(dict.fromkeys(above))  # merged title cells repeat in Word tables
    if base is not None:
        doc = {k: copy.deepcopy(v) for k, v in base.items() if k != "groups"}
    else:
        title_lines = [x for x in above if not x.startswith("(") and fold(x) not in ("phu luc",)]
        title = " ".join(title_lines)[:300].strip() or re.sub(r"[_-]+", " ", source_name.rsplit(".", 1)[0])
        doc = {"format": FORMAT, "id": defaults.get("id") or _slug(source_name.rsplit(".", 1)[0]),
               "kind": "ke_hoach", "number": None, "symbol": defaults.get("symbol", "KH"), "title": title,
               "issuing_unit": defaults.get("issuing_unit") or {"name": _t("Chưa xác định")}, "year": 0, "version": 1}
        if defaults.get("place_name"):
            doc["place_name"] = defaults["place_name"]
        _issued_with(above, doc)
    if info is not None:
        info(doc)
    rows = grid.rows[header_idx + 1:]
    if not doc.get("year"):
        # the year in the title ("… năm 2024"), else the commonest year among the deadlines
        title_lines = [x for x in above if not x.startswith("(")]
        m = re.search(r"năm\s+(\d{4})", " ".join(title_lines), re.I)
        years: Counter = Counter()
        if "deadline" in cols:
            i = cols["deadline"][0] - 1
            for _, cells in rows:
                if i < len(cells):
                    years.update(int(y) for y in re.findall(r"\b(20\d\d)\b", _text(cells[i].value)))
        if m:
            doc["year"] = int(m.group(1))
        elif years:
            doc["year"] = years.most_common(1)[0][0]
        elif doc.get("issue_date"):
            doc["year"] = int(doc["issue_date"][:4])
        else:
            doc["year"] = int(defaults.get("year") or date.today().year)
    year = int(doc["year"])
    base_groups = {g["code"]: g for g in (base or {}).get("groups", [])}
    base_targets = {t["code"]: t for g in (base or {}).get("groups", []) for t in g["targets"]}

    # --- the table --------------------------------------------------------------------------
    def cell(cells, fieldname) -> GridCell | None:
        if fieldname not in cols:
            return None
        i = cols[fieldname][0] - 1
        return cells[i] if i < len(cells) else None

    def from_above(cells, fieldname) -> bool:
        c = cell(cells, fieldname)
        return c is not None and c.from_above

    def header(fieldname):
        return cols[fieldname][1] if fieldname in cols else tr("Domain", FIELD_LABELS.get(fieldname, fieldname))

    detail_fields = ("lead_units", "coordinating_units", "deadline", "expected_result", "measure")
    groups: list[dict] = []
    pending: list[dict] = []  # targets whose code is generated after every explicit code is known
    used_codes: set[str] = set()
    bullet_no = 0
    for r, cells in rows:
        values = {}
        for f in cols:
            c = cell(cells, f)
            if c is None:
                values[f] = ""
                continue
            if c.ref:
                res.cell_refs[(r, f)] = c.ref
            # a merged cell continuing from above repeats units, deadline, result, measure — not TT or text
            values[f] = "" if (c.from_above and f not in detail_fields) else _text(c.value)
        if grid.is_word:  # a cell spanning several columns appears once per column in Word tables
            seen: list[int] = []
            for f in cols:
                c = cell(cells, f)
                if c is not None and any(c is cells[i] for i in seen):
                    values[f] = ""
                if c is not None:
                    seen.append(cols[f][0] - 1)
        tt_raw = values.get("tt", "")
        text = values.get("text", "")
        detail = any(values.get(f) and not from_above(cells, f) for f in detail_fields)
        if not tt_raw and not text and not detail and not values.get("code"):
            continue
        text_cell = cell(cells, "text")
        if sum(1 for c in cells if _header_field(c.value)) >= 2 and _header_field(text_cell.value
                                                                             if text_cell else None) == "text":
            continue  # the header repeated on a new page
        tt, tt_title, tt_kind = _split_tt(tt_raw, text)
        if not tt_raw and text and not detail:
            m = GROUP_IN_CELL_RE.match(text)
            if m and ROMAN_RE.match(m.group(1)):  # "II. Về hạ tầng …" typed in the text column
                tt, tt_title, tt_kind, text = m.group(1), m.group(2).strip(), "group", ""
        if tt_kind == "unknown" and not text and not detail and len(tt_raw) > 3:
            text, tt, tt_kind = tt_raw, "", ""  # a group heading typed (or merged) into the TT column
        if tt_kind == "group" and not detail:
            title = text or tt_title
            code = values.get("code") or tt.upper()
            last = groups[-1] if groups else None
            if last is not None and not last["targets"] and last.get("_title_only") and not title:
                last.update(code=values.get("code") or code, _title_only=False, _row=r)  # title row + numeral row
                res.rows[-1] = SheetRow(r, "group", tt, last["code"], last["title"])
                continue
            group = {"code": code, "title": title, "targets": [], "_row": r, "_rows": [], "_numeral": tt}
            groups.append(group)
            res.rows.append(SheetRow(r, "group", tt, code, title))
            continue
        if not tt and text and not detail and tt_kind != "bullet":
            last = groups[-1] if groups else None
            if last is not None and not last["targets"] and not last["title"]:
                last["title"] = text  # a numeral row, then its title on the next row
                res.rows[-1] = SheetRow(last["_row"], "group", last.get("_numeral", ""), last["code"], text)
                continue
            code = values.get("code") or f"G{len(groups) + 1}"
            groups.append({"code": code, "title": text, "targets": [], "_row": r, "_rows": [], "_title_only": True})
            res.rows.append(SheetRow(r, "group", "", code, text))
            continue
        if tt_kind == "unknown":
            res.problem(_t("Không hiểu số thứ tự '{0}': mục tiêu đánh số 1, 2, 3… (hoặc 1.1, a, -), nhóm đánh số "
                           "La Mã I, II, III….").format(tt_raw), r, header("tt"), field_name="tt")
            continue
        if tt_kind == "group":  # a numeral with details: a target numbered in Roman figures
            res.problem(_t("Dòng có số La Mã '{0}' (nhóm) nhưng lại ghi đơn vị, thời hạn hoặc kết quả như một mục "
                           "tiêu.").format(tt_raw), r, header("tt"), field_name="tt")
            continue
        if tt_kind == "bullet":
            bullet_no += 1
            tt = ""
        # a target row
        if not groups:
            groups.append({"code": "I", "title": _t("Các mục tiêu, nhiệm vụ"), "targets": [], "_row": r, "_rows": []})
        g = groups[-1]
        code = values.get("code", "")
        if not code:
            m = CODE_PREFIX_RE.match(text)
            if m:
                code, text = m.group(1), m.group(2).strip()
        if code and not CODE_RE.match(code):
            res.problem(_t("Mã '{0}' không hợp lệ: chỉ dùng chữ in hoa không dấu, chữ số và . _ - (2–32 ký tự), "
                           "ví dụ MT01.").format(code), r, header("code"), target=code, field_name="code")
        if not text:
            res.problem(_t("Thiếu nội dung mục tiêu/nhiệm vụ."), r, header("text"), target=code, field_name="text")
        bt = base_targets.get(code) if code else None
        t: dict[str, Any] = copy.deepcopy(bt) if bt else {"code": code, "kind": default_kind}
        t["text"] = text
        t["code"] = code
        for f in ("lead_units", "coordinating_units"):
            if bt is not None and (f not in cols or values.get(f, "") == cell_text(f, bt, year)):
                continue
            units = _split_units(values.get(f, ""))
            if units:
                t[f] = units
            else:
                t.pop(f, None)
        raw_deadline = cell(cells, "deadline")
        dl_text = values.get("deadline", "")
        if bt is None or ("deadline" in cols and dl_text != cell_text("deadline", bt, year)):
            try:
                value, number_format = ((raw_deadline.value, raw_deadline.number_format) if raw_deadline is not None
                                        else (None, ""))
                month_only = isinstance(value, (date, datetime)) and "d" not in (number_format or "").lower()
                dl = parse_deadline(value, year, date_only_month=month_only)
                t["deadline"] = dl.to_json()
            except DeadlineParseError as exc:
                res.problem(str(exc), r, header("deadline"), target=code, field_name="deadline")
                t["deadline"] = {"type": "none", "text": dl_text} if dl_text else {"type": "none"}
        result = values.get("expected_result", "")
        if bt is None or ("expected_result" in cols and result != cell_text("expected_result", bt, year)):
            if result:
                t["expected_result"] = result
            else:
                t.pop("expected_result", None)
        measure_text = values.get("measure", "")
        if bt is None or ("measure" in cols and measure_text != cell_text("measure", bt, year)):
            if measure_text:
                try:
                    t["measure"] = parse_measure(measure_text).to_json()
                except ValueError as exc:
                    res.problem(str(exc), r, header("measure"), target=code, field_name="measure")
                    t["measure"] = {"type": "qualitative"}
            else:
                t["measure"] = infer_measure(text, Deadline.from_json(t["deadline"]), result).to_json()
        if bt is None:
            m = EXCLUSION_RE.search(text)
            if m:
                t["exclusion_note"] = m.group(1).strip()
            t["evidence_required"] = t["measure"]["type"] != "qualitative"
            rec = parse_recurrence(text)
            if rec is not None and t["measure"]["type"] in ("ratio", "count") and "recurrence" not in t:
                t["recurrence"] = rec.to_json()
            if tt:
                t["source_ref"] = _t("Nhóm {0}, TT {1}").format(g["code"], tt)
        t = _ordered(t)
        g["targets"].append(t)
        g["_rows"].append(r)
        if code:
            used_codes.add(code)
        else:
            pending.append(t)
        res.rows.append(SheetRow(r, "target", tt, code, text, values.get("lead_units", ""),
                                 values.get("coordinating_units", ""), dl_text,
                                 "" if t["deadline"]["type"] == "none" else Deadline.from_json(t["deadline"]).label(year),
                                 result,
                                 Measure.from_json(t["measure"]).label))
    n = 0
    for t in pending:  # codes for a bare appendix: MT01, MT02 … skipping codes already used
        while True:
            n += 1
            code = f"MT{n:02d}"
            if code not in used_codes:
                break
        t["code"] = code
        used_codes.add(code)
    codes_by_row = {r: t["code"] for g in groups for r, t in zip(g["_rows"], g["targets"])}
    res.rows = [SheetRow(**{**x.__dict__, "code": codes_by_row.get(x.row, x.code)}) if x.kind == "target" else x
                for x in res.rows]
    seen_codes: set[str] = set()
    for gi, g in enumerate(groups):
        if g["code"] in seen_codes or not GROUP_CODE_RE.match(g["code"]):
            g["code"] = f"G{gi + 1}" if f"G{gi + 1}" not in seen_codes else f"G{gi + 1}-{g['_row']}"
        seen_codes.add(g["code"])
        if not g["title"].strip():
            label = g.get("_numeral") or g["code"]
            g["title"] = _t("Nhóm {0}").format(label)
            g["title_missing"] = True
            res.untitled.append((g["code"], g["_row"]))
            res.warnings.append(PlanProblem(
                source_name, _t("Nhóm {0} chỉ có số, chưa có tên: hãy đặt tên nhóm, hoặc giữ “{1}” (sẽ ghi là chưa rõ "
                                "tên).").format(label, g["title"]), row=g["_row"], column=header("text"),
                group=g["code"], cell=res._cell(g["_row"], "text")))
        if not g["targets"]:
            res.problem(_t("Nhóm '{0}' không có mục tiêu nào.").format(g["title"] or g["code"]), g["_row"],
                        header("text"), group=g["code"], field_name="text")
    if not groups:
        res.problem(_t("Bảng không có mục tiêu nào dưới dòng tiêu đề (dòng {0}).").format(header_row))
    out_groups = []
    for g in groups:
        og = copy.deepcopy({k: v for k, v in base_groups.get(g["code"], {}).items() if k != "targets"})
        if g.get("title_missing"):
            og["title_missing"] = True
        elif g["title"] != og.get("title"):  # a title typed in: no longer missing
            og.pop("title_missing", None)
        og.update(code=g["code"], title=g["title"])
        og["targets"] = g["targets"]
        out_groups.append(_ordered_group(og))
        res.group_rows.append(g["_row"])
        res.target_rows.append(g["_rows"])
    doc["groups"] = out_groups
    if any(g.get("title_missing") for g in out_groups) or any("recurrence" in t for g in out_groups
                                                               for t in g["targets"]):
        doc["format"] = FORMAT
    res.document = _ordered_plan(doc)
    return res


def name_groups(doc: dict, titles: Mapping[str, str]) -> dict:
    """The document with the titles the user gave to untitled groups (group code → title). An empty
    title keeps the placeholder ('Nhóm III'), still flagged as missing."""
    doc = copy.deepcopy(doc)
    for g in doc["groups"]:
        title = nfc(str(titles.get(g["code"], "") or "")).strip()
        if title and g.get("title_missing"):
            g["title"] = title
            g.pop("title_missing", None)
    return doc


_TARGET_ORDER = ("code", "kind", "text", "lead_units", "coordinating_units", "deadline", "expected_result",
                 "measure", "recurrence", "exclusion_note", "evidence_required", "applies_to_levels",
                 "reporting_units", "assignment_note", "source_ref")


def _ordered(t: dict) -> dict:
    return {**{k: t[k] for k in _TARGET_ORDER if k in t}, **{k: v for k, v in t.items() if k not in _TARGET_ORDER}}


def _ordered_group(g: dict) -> dict:
    order = ("code", "title", "title_missing", "source_ref", "targets")
    return {**{k: g[k] for k in order if k in g}, **{k: v for k, v in g.items() if k not in order}}


def _ordered_plan(doc: dict) -> dict:
    order = ("format", "id", "kind", "number", "symbol", "title", "issuing_unit", "parent_unit", "place_name",
             "issue_date", "issue_date_text", "year", "version")
    return {**{k: doc[k] for k in order if k in doc}, **{k: v for k, v in doc.items() if k not in order}}
