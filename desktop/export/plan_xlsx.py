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
from typing import Any, BinaryIO, Mapping

from desktop.models.domain import (FIELD_LABELS, FORMAT, PLAN_KIND_LABELS, Deadline, DeadlineParseError, Measure,
                                   PlanProblem, fmt_date, infer_measure, parse_deadline, parse_measure,
                                   plan_from_document, roman)
from desktop.models.i18n import fold, nfc, tr

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
TT_RE = re.compile(r"^(\d{1,3}|[a-zđ])$")  # 1, 2, 3 … or a), b), c) as in the guidance documents
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
        return tr("Domain", PLAN_KIND_LABELS.get(doc.get("kind"), doc.get("kind", "")))
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


@dataclass
class ReadResult:
    source_name: str
    document: dict | None = None
    rows: list[SheetRow] = field(default_factory=list)
    problems: list[PlanProblem] = field(default_factory=list)
    group_rows: list[int] = field(default_factory=list)
    target_rows: list[list[int]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def problem(self, message: str, row: int | None = None, column: str = "", target: str = "", group: str = ""):
        self.problems.append(PlanProblem(self.source_name, message, row=row, column=column, target=target,
                                         group=group))

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
        return PlanProblem(p.file, p.message, field=p.field, target=p.target, group=p.group, row=row, column=column)


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


def _find_table(wb) -> tuple[Any, int, dict[str, tuple[int, str]]]:
    for ws in wb.worksheets:
        if ws.title in (INFO_SHEET, DATA_SHEET) or ws.sheet_state != "visible":
            continue
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=min(ws.max_row, 40), values_only=True), start=1):
            cols: dict[str, tuple[int, str]] = {}
            for ci, v in enumerate(row, start=1):
                f = _header_field(v)
                if f and f not in cols:
                    cols[f] = (ci, _text(v).replace("\n", " "))
            if "text" in cols and len(cols) >= 2:
                return ws, r, cols
    return None, 0, {}


def _read_base(wb, res: ReadResult) -> dict | None:
    if DATA_SHEET not in wb.sheetnames:
        return None
    ws = wb[DATA_SHEET]
    if ws.cell(1, 1).value != FORMAT:
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
        where = dict(row=r, column=f"{INFO_SHEET}: {column}")
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
                    if dl.type != "date":
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
    the rows as understood and every problem with its row and column."""
    from openpyxl import load_workbook

    res = ReadResult(source_name)
    defaults = dict(defaults or {})
    try:
        wb = load_workbook(stream, data_only=True)
    except Exception:  # openpyxl raises many kinds for a non-xlsx file
        res.problem(_t("Tệp không phải bảng tính Excel (.xlsx) hợp lệ hoặc đã bị hỏng."))
        return res
    base = _read_base(wb, res)
    ws, header_row, cols = _find_table(wb)
    if ws is None:
        res.problem(_t("Không tìm thấy dòng tiêu đề của bảng. Cần ít nhất cột 'Mục tiêu' (hoặc 'Tên nhiệm vụ') và "
                       "một trong các cột TT, Đơn vị chủ trì, Đơn vị phối hợp, Thời gian hoàn thành, Kết quả."))
        return res
    res.headers = {f: h for f, (_, h) in cols.items()}
    text_header = fold(cols["text"][1])
    default_kind = "nhiem_vu" if "nhiem vu" in text_header and "muc tieu" not in text_header else "muc_tieu"

    # --- plan-level fields ------------------------------------------------------------------
    above = [_text(v) for row in ws.iter_rows(min_row=1, max_row=header_row - 1, values_only=True) for v in row if _text(v)]
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
    _read_info(wb, base, doc, res)
    rows = list(ws.iter_rows(min_row=header_row + 1, max_row=ws.max_row))
    if not doc.get("year"):
        # the year in the title ("… năm 2024"), else the commonest year among the deadlines
        title_lines = [x for x in above if not x.startswith("(")]
        m = re.search(r"năm\s+(\d{4})", " ".join(title_lines), re.I)
        years: Counter = Counter()
        if "deadline" in cols:
            i = cols["deadline"][0] - 1
            for row in rows:
                if i < len(row):
                    years.update(int(y) for y in re.findall(r"\b(20\d\d)\b", _text(row[i].value)))
        if m:
            doc["year"] = int(m.group(1))
        elif years:
            doc["year"] = years.most_common(1)[0][0]
        else:
            doc["year"] = int(defaults.get("year") or date.today().year)
    year = int(doc["year"])
    base_groups = {g["code"]: g for g in (base or {}).get("groups", [])}
    base_targets = {t["code"]: t for g in (base or {}).get("groups", []) for t in g["targets"]}

    # --- the table --------------------------------------------------------------------------
    def cell(row, fieldname):
        if fieldname not in cols:
            return None
        i = cols[fieldname][0] - 1
        return row[i] if i < len(row) else None

    def header(fieldname):
        return cols[fieldname][1] if fieldname in cols else tr("Domain", FIELD_LABELS.get(fieldname, fieldname))

    groups: list[dict] = []
    pending: list[dict] = []  # targets whose code is generated after every explicit code is known
    used_codes: set[str] = set()
    for row in rows:
        r = row[0].row
        values = {f: _text(cell(row, f).value if cell(row, f) is not None else None) for f in cols}
        tt = values.get("tt", "").rstrip(".)").strip()
        text = values.get("text", "")
        detail = any(values.get(f) for f in ("lead_units", "coordinating_units", "deadline", "expected_result", "measure"))
        if not tt and not text and not detail and not values.get("code"):
            continue
        if sum(1 for v in row if _header_field(v.value)) >= 2 and _header_field(cell(row, "text").value) == "text":
            continue  # the header repeated on a new page
        if tt and not TT_RE.match(tt) and ROMAN_RE.match(tt) and not detail:
            code = values.get("code") or tt.upper()
            last = groups[-1] if groups else None
            if last is not None and not last["targets"] and last.get("_title_only") and not text:
                last.update(code=values.get("code") or code, _title_only=False, _row=r)  # title row + numeral row
                res.rows[-1] = SheetRow(r, "group", tt, last["code"], last["title"])
                continue
            groups.append({"code": code, "title": text, "targets": [], "_row": r, "_rows": []})
            res.rows.append(SheetRow(r, "group", tt, code, text))
            continue
        if tt and not text and not detail and not TT_RE.match(tt) and not ROMAN_RE.match(tt) and len(tt) > 3:
            text, tt = tt, ""  # a group heading typed (or merged) into the TT column
        if not tt and text and not detail:
            code = values.get("code") or f"G{len(groups) + 1}"
            groups.append({"code": code, "title": text, "targets": [], "_row": r, "_rows": [], "_title_only": True})
            res.rows.append(SheetRow(r, "group", "", code, text))
            continue
        if tt and not TT_RE.match(tt):
            res.problem(_t("Không hiểu số thứ tự '{0}': mục tiêu đánh số 1, 2, 3…, nhóm đánh số La Mã I, II, III….")
                        .format(tt), r, header("tt"))
            continue
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
                           "ví dụ MT01.").format(code), r, header("code"), target=code)
        if not text:
            res.problem(_t("Thiếu nội dung mục tiêu/nhiệm vụ."), r, header("text"), target=code)
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
        raw_deadline = cell(row, "deadline")
        dl_text = values.get("deadline", "")
        if bt is None or ("deadline" in cols and dl_text != cell_text("deadline", bt, year)):
            try:
                value = raw_deadline.value if raw_deadline is not None else None
                month_only = isinstance(value, (date, datetime)) and "d" not in (raw_deadline.number_format or "").lower()
                dl = parse_deadline(value, year, date_only_month=month_only)
                t["deadline"] = dl.to_json()
            except DeadlineParseError as exc:
                res.problem(str(exc), r, header("deadline"), target=code)
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
                    res.problem(str(exc), r, header("measure"), target=code)
                    t["measure"] = {"type": "qualitative"}
            else:
                t["measure"] = infer_measure(text, Deadline.from_json(t["deadline"]), result).to_json()
        if bt is None:
            m = EXCLUSION_RE.search(text)
            if m:
                t["exclusion_note"] = m.group(1).strip()
            t["evidence_required"] = t["measure"]["type"] != "qualitative"
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
    for g in groups:
        if not g["title"].strip():
            res.problem(_t("Nhóm {0} chưa có tên (ô '{1}' để trống).").format(g["code"], header("text")), g["_row"],
                        header("text"), group=g["code"])
        if not g["targets"]:
            res.problem(_t("Nhóm '{0}' không có mục tiêu nào.").format(g["title"] or g["code"]), g["_row"],
                        header("text"), group=g["code"])
    if not groups:
        res.problem(_t("Bảng không có mục tiêu nào dưới dòng tiêu đề (dòng {0}).").format(header_row))
    out_groups = []
    for g in groups:
        og = copy.deepcopy({k: v for k, v in base_groups.get(g["code"], {}).items() if k != "targets"})
        og.update(code=g["code"], title=g["title"])
        og["targets"] = g["targets"]
        out_groups.append(_ordered_group(og))
        res.group_rows.append(g["_row"])
        res.target_rows.append(g["_rows"])
    doc["groups"] = out_groups
    res.document = _ordered_plan(doc)
    return res


_TARGET_ORDER = ("code", "kind", "text", "lead_units", "coordinating_units", "deadline", "expected_result",
                 "measure", "exclusion_note", "evidence_required", "applies_to_levels", "source_ref")


def _ordered(t: dict) -> dict:
    return {**{k: t[k] for k in _TARGET_ORDER if k in t}, **{k: v for k, v in t.items() if k not in _TARGET_ORDER}}


def _ordered_group(g: dict) -> dict:
    order = ("code", "title", "source_ref", "targets")
    return {**{k: g[k] for k in order if k in g}, **{k: v for k, v in g.items() if k not in order}}


def _ordered_plan(doc: dict) -> dict:
    order = ("format", "id", "kind", "number", "symbol", "title", "issuing_unit", "parent_unit", "place_name",
             "issue_date", "issue_date_text", "year", "version")
    return {**{k: doc[k] for k in order if k in doc}, **{k: v for k, v in doc.items() if k not in order}}
