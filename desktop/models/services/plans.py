"""The plans service: load, validate, store, browse, edit, diff, import and export plans.

A plan is stored as its document (file format ``vks-cds-plan/1``, JSON Schema in
``resources/plans/plan.schema.json``, described in ``docs/plan-format.md``), one row per version in
``plan_versions``; ``plan_targets`` holds each version's targets denormalised (accent-folded
``search_key``, ISO ``deadline_end``) for browsing, searching and filtering.

Every function takes the AppSession and checks the permission here, whatever the UI shows: VIEW
to read, MANAGE_PLANS to write. Every write is audited (plan.import, plan.create, plan.edit,
plan.export) in the same transaction as the change. A plan file or spreadsheet with any problem
is refused as a whole (PlanFormatError lists every problem); nothing is saved until it is clean.

Built-in plans (origin "builtin", the documents shipped in resources/plans) and plans received
from a superior are read-only; a unit edits its own plans (origin "own", usually derived from a
superior's plan) and plans it imported.

This module must never import Qt.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import weakref
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

from sqlalchemy import func, select

from desktop.models.storage import audit
from desktop.models.domain.plan import (FIELD_LABELS, FORMAT, LEVEL_LABELS, LEVELS, PERIOD_TYPE_LABELS, PERIOD_TYPES,
                                        PLAN_KIND_LABELS, Deadline, Measure, Plan,
                     PlanProblem, Recurrence, Target, UnitRef, fmt_date, plan_from_document)
from desktop.models.domain.errors import AppError, NotFound, ValidationError
from desktop.fsutil import atomic_write_bytes
from desktop.models.domain.i18n import fold, nfc, tr
from desktop.models.storage.queries import find_own_unit_row
from desktop.models.storage.schema import Plan as PlanRow
from desktop.models.storage.schema import PlanTarget, PlanVersion, User
from desktop.models.storage.vault import AppSession, Permission

log = logging.getLogger(__name__)

SCHEMA_FILE = "plan.schema.json"
EDITABLE_ORIGINS = ("own", "imported")
ORIGIN_LABELS = {"builtin": "Có sẵn", "own": "Của đơn vị", "imported": "Đã nhập", "received": "Nhận từ cấp trên"}
PLAN_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,63}$")
TARGET_FIELDS = ("code", "kind", "text", "lead_units", "coordinating_units", "deadline", "expected_result",
                 "measure", "exclusion_note", "evidence_required", "applies_to_levels", "source_ref",
                 "reporting_units", "assignment_note", "recurrence")
#: Fields a /1 plan file cannot carry (added by vks-cds-plan/2).
V2_TARGET_FIELDS = ("reporting_units", "assignment_note", "recurrence")
PLAN_FIELDS = ("title", "number", "symbol", "kind", "year", "issue_date", "issue_date_text", "place_name",
               "legal_bases", "period_types", "submission_deadlines", "notes", "applies_to_levels", "principles")
__all__ = [
    "PlanProblem", "PlanFormatError", "PlanReadOnly", "PlanSummary", "TargetRow", "GroupInfo", "PlanVersionInfo",
    "FieldChange", "PlanChange", "ImportResult", "XlsxPreview", "InstallReport", "validate_document",
    "load_plan_file", "install_builtin_plans", "list_plans", "get_plan_document", "get_plan", "describe",
    "list_targets", "lead_units", "list_groups", "list_versions", "save_new_version", "create_own_plan",
    "update_target", "add_target", "remove_target", "update_plan_info", "diff_versions", "diff_documents",
    "apply_edits", "AddTarget", "UpdateTarget", "RemoveTarget", "UpdatePlanInfo", "PlanEdit", "PlanEditError",
    "import_file", "import_previewed", "preview_xlsx", "preview_import", "export_file", "plan_summary", "content_hash",
]


def _t(text: str) -> str:
    return tr("Plans", text)


# ------------------------------------------------------------------ errors
class PlanFormatError(AppError):
    """A plan file or spreadsheet with problems; `problems` lists every one of them."""

    code = "plan_format"

    def __init__(self, problems: list[PlanProblem], source_name: str = ""):
        self.problems = list(problems)
        name = source_name or (self.problems[0].file if self.problems else "")
        shown = [f"  • {p}" for p in self.problems[:40]]
        if len(self.problems) > 40:
            shown.append(_t("  … và {0} lỗi khác").format(len(self.problems) - 40))
        message = _t("Tệp kế hoạch {0} có {1} lỗi; chưa lưu gì vào dữ liệu:").format(name, len(self.problems))
        super().__init__(message + "\n" + "\n".join(shown),
                         _t("Hãy sửa các lỗi trên trong tệp rồi nhập lại."), problems=self.problems)


class PlanReadOnly(AppError):
    code = "plan_read_only"


def _field_label(path: str) -> str:
    """The user's name of the field a JSON path points at ('groups[0].targets[2].deadline.month' →
    'Thời gian hoàn thành'); '' for the plan or a target as a whole."""
    keys = [k for k in re.split(r"[.\[\]]+", path) if k and not k.isdigit()]
    if keys[:2] == ["groups", "targets"]:
        keys = keys[2:]
    elif keys[:1] == ["groups"]:
        return tr("Domain", FIELD_LABELS["group"])
    return tr("Domain", FIELD_LABELS.get(keys[0], keys[0])) if keys else ""


class PlanEditError(PlanFormatError):
    """An edit (from the edit dialog or a batch of edits) would leave the plan invalid: nothing is
    saved; `problems` lists every one, and the message names targets and fields, not JSON paths."""

    code = "plan_edit"

    def __init__(self, problems: list[PlanProblem], plan_title: str):
        self.problems = list(problems)
        lines = [f"  • {self.problem_text(p)}" for p in self.problems[:40]]
        if len(self.problems) > 40:
            lines.append(_t("  … và {0} lỗi khác").format(len(self.problems) - 40))
        AppError.__init__(self, _t("Chưa lưu kế hoạch “{0}”: có {1} lỗi:").format(plan_title, len(self.problems))
                          + "\n" + "\n".join(lines),
                          _t("Hãy sửa các mục trên rồi lưu lại; những gì đã sửa vẫn còn nguyên."),
                          problems=self.problems)

    @staticmethod
    def problem_text(p: PlanProblem) -> str:
        """'Mục tiêu TH-2.1-01, Thời gian hoàn thành: …' (no file name, no JSON path)."""
        where = []
        if p.target:
            where.append(_t("Mục tiêu {0}").format(p.target))
        elif p.group:
            where.append(_t("Nhóm {0}").format(p.group))
        label = _field_label(p.field)
        if label:
            where.append(label)
        return f"{', '.join(where)}: {p.message}" if where else p.message


# ------------------------------------------------------------------ plain results
@dataclass(frozen=True)
class PlanSummary:
    id: str
    version: int
    year: int
    title: str
    kind: str
    reference: str
    issuing_unit: str
    origin: str
    derived_from: str | None
    target_count: int
    group_count: int
    archived: bool = False

    @property
    def editable(self) -> bool:
        return self.origin in EDITABLE_ORIGINS

    @property
    def kind_label(self) -> str:
        return tr("Domain", PLAN_KIND_LABELS.get(self.kind, self.kind))

    @property
    def origin_label(self) -> str:
        return _t(ORIGIN_LABELS.get(self.origin, self.origin))

    def to_json(self) -> dict:
        return {"id": self.id, "version": self.version, "year": self.year, "title": self.title, "kind": self.kind,
                "reference": self.reference, "issuing_unit": self.issuing_unit, "origin": self.origin,
                "derived_from": self.derived_from, "target_count": self.target_count,
                "group_count": self.group_count, "editable": self.editable}


@dataclass(frozen=True)
class TargetRow:
    """One target of one plan version, as the browser and reports list it."""

    plan_id: str
    version: int
    position: int
    group_code: str
    group_title: str
    target: Target
    plan_year: int

    code = property(lambda self: self.target.code)
    text = property(lambda self: self.target.text)
    kind = property(lambda self: self.target.kind)
    lead_units = property(lambda self: self.target.lead_units)
    coordinating_units = property(lambda self: self.target.coordinating_units)
    expected_result = property(lambda self: self.target.expected_result)
    measure = property(lambda self: self.target.measure)
    deadline = property(lambda self: self.target.deadline)

    @property
    def measure_type(self) -> str:
        return self.target.measure.type

    @property
    def deadline_end(self) -> date | None:
        return self.target.deadline.end_date(self.plan_year)

    @property
    def deadline_label(self) -> str:
        return self.target.deadline.label(self.plan_year)

    def to_json(self) -> dict:
        t = self.target
        end = self.deadline_end
        return {"plan_id": self.plan_id, "version": self.version, "group": self.group_code, "code": t.code,
                "kind": t.kind, "text": t.text, "lead_units": list(t.lead_units),
                "coordinating_units": list(t.coordinating_units), "deadline": t.deadline.to_json(),
                "deadline_end": end.isoformat() if end else None, "measure": t.measure.to_json(),
                "expected_result": t.expected_result}


@dataclass(frozen=True)
class GroupInfo:
    code: str
    title: str
    target_count: int


@dataclass(frozen=True)
class PlanVersionInfo:
    version: int
    created_at: datetime
    created_by: str
    note: str
    target_count: int
    is_current: bool


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str

    @property
    def label(self) -> str:
        return tr("Domain", FIELD_LABELS.get(self.field, self.field))


@dataclass(frozen=True)
class PlanChange:
    """One difference between two versions: a target added, removed or changed, or a plan field."""

    kind: str  # added | removed | changed | plan
    code: str
    text: str
    fields: tuple[FieldChange, ...] = ()

    @property
    def kind_label(self) -> str:
        return _t({"added": "Thêm", "removed": "Bỏ", "changed": "Sửa", "plan": "Thông tin kế hoạch"}[self.kind])


@dataclass(frozen=True)
class AddTarget:
    """Append `target` (keys as in the plan file) to group `group_code`; a new group when the code
    is new and `group_title` is given."""

    group_code: str
    target: Mapping
    group_title: str | None = None


@dataclass(frozen=True)
class UpdateTarget:
    """Change fields of the target whose code was `code` before the batch (None or "" drops an
    optional field); `group_code` moves it to the end of another group."""

    code: str
    changes: Mapping = field(default_factory=dict)
    group_code: str | None = None


@dataclass(frozen=True)
class RemoveTarget:
    """Remove the target whose code was `code` before the batch; a group left empty goes too."""

    code: str


@dataclass(frozen=True)
class UpdatePlanInfo:
    """Change plan-level fields (PLAN_FIELDS): title, year, report submission deadlines …"""

    changes: Mapping


PlanEdit = AddTarget | UpdateTarget | RemoveTarget | UpdatePlanInfo


@dataclass(frozen=True)
class ImportResult:
    id: str
    version: int
    target_count: int
    created: bool
    changed: bool = True


@dataclass(frozen=True)
class XlsxPreview:
    """What an .xlsx would import as: the rows read, every problem, and the document (None if unreadable)."""

    rows: list
    problems: list[PlanProblem]
    document: dict | None
    source_name: str = ""
    #: what does not stop the import but the user should see (a group with no title …)
    warnings: list[PlanProblem] = field(default_factory=list)
    #: (group code, row) of groups the table numbers but does not name; the user may name them
    untitled_groups: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.problems

    def named(self, group_titles: Mapping[str, str] | None) -> "XlsxPreview":
        """The same preview with the user's names for untitled groups applied (an empty name keeps
        'Nhóm III', flagged as untitled)."""
        if not group_titles or self.document is None:
            return self
        from desktop.export.plan_xlsx import name_groups

        doc = name_groups(self.document, group_titles)
        left = {g["code"] for g in doc["groups"] if g.get("title_missing")}
        named = {c for c, _ in self.untitled_groups} - left
        return XlsxPreview(self.rows, self.problems, doc, self.source_name,
                           [w for w in self.warnings if w.group not in named],
                           [(c, r) for c, r in self.untitled_groups if c in left])

    @property
    def target_count(self) -> int:
        return sum(len(g["targets"]) for g in self.document["groups"]) if self.document else 0


@dataclass
class InstallReport:
    installed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[PlanProblem] = field(default_factory=list)


# ------------------------------------------------------------------ validation
@lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    from desktop.resources import resource_path

    schema = json.loads(resource_path("plans", SCHEMA_FILE).read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _path_text(path: Iterable) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _locate(doc: Any, path: list) -> tuple[str, str]:
    """(group code, target code) named by a JSON path, as far as the document allows."""
    group = target = ""
    try:
        if len(path) >= 2 and path[0] == "groups" and isinstance(path[1], int):
            g = doc["groups"][path[1]]
            group = str(g.get("code", "")) or _t("thứ {0}").format(path[1] + 1)
            if len(path) >= 4 and path[2] == "targets" and isinstance(path[3], int):
                t = g["targets"][path[3]]
                code = t.get("code") if isinstance(t, dict) else None
                target = str(code) if isinstance(code, str) and code else _t("thứ {0} của nhóm {1}").format(
                    path[3] + 1, group)
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return group, target


_TYPE_NAMES = {"string": "chuỗi văn bản", "integer": "số nguyên", "number": "số", "boolean": "true/false",
               "array": "danh sách", "object": "đối tượng", "null": "null"}


def _type_name(t: str | list[str]) -> str:
    if isinstance(t, list):
        return _t(" hoặc ").join(_t(_TYPE_NAMES.get(x, x)) for x in t)
    return _t(_TYPE_NAMES.get(t, t))


def _short(v: Any) -> str:
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v
    return s if len(s) <= 60 else s[:57] + "…"


def _schema_messages(err) -> list[tuple[list, str]]:
    """Vietnamese messages for one jsonschema error: [(json path, message)]."""
    path = list(err.absolute_path)
    v, inst = err.validator, err.instance
    if v == "oneOf" and isinstance(inst, dict) and all(
            isinstance(s, dict) and "const" in s.get("properties", {}).get("type", {}) for s in err.validator_value):
        kinds = [s["properties"]["type"]["const"] for s in err.validator_value]
        t = inst.get("type")
        if t not in kinds:
            if "type" not in inst:
                return [(path + ["type"], _t("Thiếu trường bắt buộc 'type' (một trong: {0}).").format(", ".join(kinds)))]
            return [(path + ["type"], _t("Loại '{0}' không hợp lệ; chỉ chấp nhận: {1}.").format(_short(t), ", ".join(kinds)))]
        idx = kinds.index(t)
        out = []
        for sub in sorted(err.context, key=lambda e: [str(x) for x in e.absolute_path]):
            if sub.schema_path and sub.schema_path[0] == idx:
                out += _schema_messages(sub)
        return out or [(path, _t("Giá trị không khớp với loại '{0}'.").format(t))]
    if v == "required":
        missing = [r for r in err.validator_value if isinstance(inst, dict) and r not in inst]
        return [(path + [m], _t("Thiếu trường bắt buộc '{0}'.").format(m)) for m in missing]
    if v == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed] if isinstance(inst, dict) else []
        return [(path + [k], _t("Trường '{0}' không có trong định dạng (gõ nhầm tên trường?).").format(k)) for k in extra]
    if v == "type":
        return [(path, _t("Sai kiểu dữ liệu: cần {0}, tệp ghi {1}.").format(_type_name(err.validator_value), _short(inst)))]
    if v == "const":
        return [(path, _t("Giá trị phải là '{0}', tệp ghi '{1}'.").format(err.validator_value, _short(inst)))]
    if v == "enum":
        return [(path, _t("Giá trị '{0}' không hợp lệ; chỉ chấp nhận: {1}.").format(
            _short(inst), ", ".join(str(x) for x in err.validator_value)))]
    if v == "pattern":
        last = path[-1] if path else ""
        if path == ["id"]:
            return [(path, _t("Mã kế hoạch '{0}' không hợp lệ: chỉ dùng chữ thường không dấu, chữ số và dấu '-' "
                              "(3–64 ký tự), ví dụ thanhhoa-cds-2025.").format(_short(inst)))]
        if last == "code" and "targets" in path:
            return [(path, _t("Mã mục tiêu '{0}' không hợp lệ: chỉ dùng chữ in hoa không dấu, chữ số và . _ - "
                              "(2–32 ký tự), ví dụ MT01.").format(_short(inst)))]
        if last == "code":
            return [(path, _t("Mã nhóm '{0}' không hợp lệ: chỉ dùng chữ không dấu, chữ số và . _ - (tối đa 20 ký tự).")
                     .format(_short(inst)))]
        return [(path, _t("Giá trị '{0}' không đúng mẫu {1}.").format(_short(inst), err.validator_value))]
    if v == "format":
        return [(path, _t("Ngày '{0}' không hợp lệ (cần dạng YYYY-MM-DD, ví dụ 2025-03-10).").format(_short(inst)))]
    if v in ("minimum", "exclusiveMinimum"):
        return [(path, _t("Giá trị {0} nhỏ hơn mức cho phép ({1} {2}).").format(
            inst, "≥" if v == "minimum" else ">", err.validator_value))]
    if v in ("maximum", "exclusiveMaximum"):
        return [(path, _t("Giá trị {0} vượt mức cho phép (≤ {1}).").format(inst, err.validator_value))]
    if v == "minLength":
        return [(path, _t("Không được để trống."))]
    if v == "minItems":
        return [(path, _t("Cần ít nhất {0} phần tử.").format(err.validator_value))]
    if v == "uniqueItems":
        return [(path, _t("Danh sách có phần tử trùng lặp."))]
    if v == "oneOf":
        return [(path, _t("Giá trị không khớp với dạng nào được phép."))]
    return [(path, err.message)]


def _walk_strings(obj: Any, path: list):
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk_strings(v, path + [k])
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk_strings(v, path + [i])


def _semantic_problems(doc: Mapping) -> list[tuple[list, str]]:
    out: list[tuple[list, str]] = []
    for path, s in _walk_strings(doc, []):
        if unicodedata.normalize("NFC", s) != s:
            out.append((path, _t("Văn bản chưa ở dạng Unicode dựng sẵn (NFC): dấu thanh bị tách rời, sẽ in sai vị trí. "
                                 "Hãy lưu lại tệp với Unicode dựng sẵn.")))
        elif path and path[-1] in ("text", "title", "name") and not s.strip() and s:
            out.append((path, _t("Không được để trống.")))
    groups = doc.get("groups") if isinstance(doc, dict) else None
    if not isinstance(groups, list):
        return out
    year = doc.get("year") if isinstance(doc.get("year"), int) else None
    old_format = doc.get("format") == "vks-cds-plan/1"
    seen_groups: dict[str, int] = {}
    seen_targets: dict[str, str] = {}
    for gi, g in enumerate(groups):
        if not isinstance(g, dict):
            continue
        gcode = g.get("code")
        if old_format and "title_missing" in g:
            out.append((["groups", gi, "title_missing"], _t("Trường 'title_missing' chỉ có từ định dạng {0}.")
                        .format(FORMAT)))
        if isinstance(gcode, str):
            if gcode in seen_groups:
                out.append((["groups", gi, "code"], _t("Mã nhóm '{0}' bị trùng với nhóm thứ {1}.").format(
                    gcode, seen_groups[gcode] + 1)))
            else:
                seen_groups[gcode] = gi
        targets = g.get("targets")
        if not isinstance(targets, list):
            continue
        for ti, t in enumerate(targets):
            if not isinstance(t, dict):
                continue
            base = ["groups", gi, "targets", ti]
            if old_format:
                for key in V2_TARGET_FIELDS:
                    if key in t:
                        out.append((base + [key], _t("Trường '{0}' chỉ có từ định dạng {1}; hãy ghi \"format\": \"{1}\".")
                                    .format(key, FORMAT)))
            rec = t.get("recurrence")
            if isinstance(rec, dict) and isinstance(rec.get("start"), str) and isinstance(rec.get("end"), str):
                try:
                    if date.fromisoformat(rec["end"]) < date.fromisoformat(rec["start"]):
                        out.append((base + ["recurrence", "end"], _t("Ngày kết thúc trước ngày bắt đầu.")))
                except ValueError:
                    pass
            code = t.get("code")
            if isinstance(code, str):
                if code in seen_targets:
                    out.append((base + ["code"], _t("Mã mục tiêu '{0}' bị trùng (đã dùng trong nhóm {1}).").format(
                        code, seen_targets[code])))
                else:
                    seen_targets[code] = str(gcode)
            dl = t.get("deadline")
            if not isinstance(dl, dict) or year is None:
                continue
            try:
                if dl.get("type") == "month" and isinstance(dl.get("year"), int):
                    if not (year - 1 <= dl["year"] <= year + 1):
                        out.append((base + ["deadline", "year"], _t(
                            "Thời hạn tháng {0}/{1} nằm ngoài khoảng của kế hoạch năm {2} (chấp nhận {3}–{4}).")
                            .format(dl.get("month"), dl["year"], year, year - 1, year + 1)))
                elif dl.get("type") == "date" and isinstance(dl.get("date"), str):
                    d = date.fromisoformat(dl["date"])
                    if not (year - 1 <= d.year <= year + 1):
                        out.append((base + ["deadline", "date"], _t(
                            "Thời hạn {0} nằm ngoài khoảng của kế hoạch năm {1}.").format(fmt_date(d), year)))
                elif dl.get("type") == "period" and isinstance(dl.get("start"), str) and isinstance(dl.get("end"), str):
                    if date.fromisoformat(dl["end"]) < date.fromisoformat(dl["start"]):
                        out.append((base + ["deadline", "end"], _t("Ngày kết thúc trước ngày bắt đầu.")))
            except ValueError:
                pass  # the format checker reports malformed dates
    return out


def validate_document(doc: Any, source_name: str = "") -> list[PlanProblem]:
    """Every problem in a plan document: JSON Schema (Draft 2020-12, with formats) and meaning
    (unique group and target codes, NFC text, deadlines within the plan's years)."""
    if not isinstance(doc, dict):
        return [PlanProblem(source_name, _t("Nội dung tệp phải là một đối tượng JSON (bắt đầu bằng '{').") )]
    found: list[tuple[list, str]] = []
    errors = sorted(_validator().iter_errors(doc), key=lambda e: [(0, x) if isinstance(x, int) else (1, str(x))
                                                                  for x in e.absolute_path])
    for err in errors:
        found += _schema_messages(err)
    found += _semantic_problems(doc)
    out, seen = [], set()
    for path, message in found:
        key = (tuple(path), message)
        if key in seen:
            continue
        seen.add(key)
        group, target = _locate(doc, path)
        out.append(PlanProblem(source_name, message, field=_path_text(path), target=target, group=group))
    return out


def _read_json(raw: bytes, name: str) -> tuple[Any, list[PlanProblem]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None, [PlanProblem(name, _t("Tệp không được mã hóa UTF-8."))]
    try:
        return json.loads(text), []
    except json.JSONDecodeError as exc:
        return None, [PlanProblem(name, _t("Tệp không phải JSON hợp lệ: dòng {0}, cột {1}: {2}.").format(
            exc.lineno, exc.colno, exc.msg))]
    except RecursionError:  # found by the fuzzer: nesting deeper than the parser's stack
        return None, [PlanProblem(name, _t("Tệp JSON lồng nhau quá sâu, không phải tệp kế hoạch."))]
    except ValueError:  # found by the fuzzer: e.g. an integer literal over 4,300 digits
        return None, [PlanProblem(name, _t("Tệp không phải JSON hợp lệ (giá trị số quá lớn hoặc không đọc được)."))]


def load_plan_file(path: Path | str) -> dict:
    """Read and validate a plan file; raise PlanFormatError listing every problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PlanFormatError([PlanProblem(path.name, _t("Không đọc được tệp: {0}.").format(exc.strerror or exc))])
    doc, problems = _read_json(raw, path.name)
    if not problems:
        problems = validate_document(doc, path.name)
    if problems:
        raise PlanFormatError(problems, path.name)
    return doc


# ------------------------------------------------------------------ storage helpers
def content_hash(doc: Mapping) -> str:
    body = {k: v for k, v in doc.items() if k != "version"}
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
                          .encode("utf-8")).hexdigest()


def _nfc_doc(obj: Any) -> Any:
    if isinstance(obj, str):
        return nfc(obj)
    if isinstance(obj, dict):
        return {k: _nfc_doc(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nfc_doc(v) for v in obj]
    return obj


def _group_title(g: Mapping) -> str:
    """A group's title as listed: 'Nhóm III (chưa rõ tên)' when the source gives none."""
    title = nfc(g["title"])
    return tr("Domain", "{0} (chưa rõ tên)").format(title) if g.get("title_missing") else title


def _upgrade_format(doc: dict) -> dict:
    """A /1 document that gained a field of /2 (an assignment, a recurrence, an untitled group)
    is written as /2; an unchanged /1 document keeps its format (and its content hash)."""
    if doc.get("format") != FORMAT and any(
            k in t for g in doc.get("groups", ()) for t in g.get("targets", ()) for k in V2_TARGET_FIELDS) or any(
            "title_missing" in g for g in doc.get("groups", ())):
        doc["format"] = FORMAT
    return doc


def _target_count(doc: Mapping) -> int:
    return sum(len(g["targets"]) for g in doc["groups"])


def _store_version(s, plan_id: str, version: int, doc: dict, note: str, user_id: int | None) -> PlanVersion:
    doc = dict(doc, version=version)
    pv = PlanVersion(plan_id=plan_id, version=version,
                     document=json.dumps(doc, ensure_ascii=False, indent=1),
                     content_hash=content_hash(doc), created_at=datetime.now(), created_by=user_id, note=nfc(note))
    s.add(pv)
    s.flush()
    year = int(doc["year"])
    pos = 0
    for g in doc["groups"]:
        for raw in g["targets"]:
            pos += 1
            t = Target.from_json(raw, g["code"])
            end = t.deadline.end_date(year)
            s.add(PlanTarget(plan_version_id=pv.id, plan_id=plan_id, version=version, position=pos,
                             group_code=g["code"], group_title=_group_title(g), code=t.code, kind=t.kind,
                             text=t.text, lead_units="; ".join(t.lead_units), measure_type=t.measure.type,
                             deadline_type=t.deadline.type, deadline_end=end.isoformat() if end else None,
                             data=json.dumps(raw, ensure_ascii=False), search_key=t.search_text()))
    return pv


def _plan_row(s, plan_id: str) -> PlanRow:
    row = s.get(PlanRow, plan_id)
    if row is None:
        raise NotFound(_t("Không có kế hoạch '{0}'.").format(plan_id),
                       _t("Hãy xem danh sách: vks-cds plans list."))
    return row


def _version_row(s, plan_id: str, version: int | None) -> PlanVersion:
    row = _plan_row(s, plan_id)
    v = row.current_version if version is None else int(version)
    pv = s.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan_id, PlanVersion.version == v)).first()
    if pv is None:
        raise NotFound(_t("Kế hoạch '{0}' không có phiên bản {1}.").format(plan_id, v))
    return pv


_own_unit_row = find_own_unit_row


# ------------------------------------------------------------------ built-in plans
@lru_cache(maxsize=32)
def _validated(name: str, digest: str, raw: bytes) -> tuple[dict | None, tuple[PlanProblem, ...]]:
    """Parse + validate once per file content per process (the first-run wizard and tests install often)."""
    doc, problems = _read_json(raw, name)
    if not problems:
        problems = validate_document(doc, name)
    return (doc if not problems else None), tuple(problems)


def builtin_plan_files() -> list[Path]:
    from desktop.resources import resource_path

    folder = resource_path("plans")
    return sorted(p for p in folder.glob("*.json") if p.name != SCHEMA_FILE)


def install_builtin_plans(session: AppSession) -> InstallReport:
    """Install or update every plan shipped in resources/plans (idempotent, one transaction).

    A file whose content is unchanged since the last install is skipped without validation; a
    changed file becomes a new version. A broken file is reported and skipped, never half-installed.
    """
    session.require(Permission.MANAGE_PLANS)
    report = InstallReport()
    files = [(p.name, p.read_bytes()) for p in builtin_plan_files()]
    with session.db.session() as s:
        plans = {p.id: p for p in s.scalars(select(PlanRow))}
        hashes = {pid: h for pid, h in s.execute(
            select(PlanVersion.plan_id, PlanVersion.content_hash).join(
                PlanRow, (PlanRow.id == PlanVersion.plan_id) & (PlanRow.current_version == PlanVersion.version)))}
        for name, raw in files:
            doc, problems = _validated(name, hashlib.sha256(raw).hexdigest(), raw)
            if problems or doc is None:
                report.problems += problems
                log.warning("built-in plan %s has %d problems; skipped", name, len(problems))
                continue
            doc = copy.deepcopy(doc)
            pid = doc["id"]
            existing = plans.get(pid)
            if existing is not None and existing.origin != "builtin":
                report.problems.append(PlanProblem(name, _t("Mã kế hoạch '{0}' đã được dùng cho một kế hoạch của đơn vị; "
                                                            "không cài kế hoạch có sẵn trùng mã.").format(pid)))
                continue
            if existing is not None and hashes.get(pid) == content_hash(doc):
                report.unchanged.append(pid)
                continue
            if existing is None:
                existing = PlanRow(id=pid, current_version=1, origin="builtin",
                                   owner_unit_code=doc["issuing_unit"].get("code"), derived_from=None, archived=False)
                s.add(existing)
                s.flush()
                version = 1
                report.installed.append(pid)
            else:
                version = existing.current_version + 1
                existing.current_version = version
                report.updated.append(pid)
            _store_version(s, pid, version, doc, _t("Kế hoạch có sẵn của phần mềm"), session.user.id or None)
            audit.append(s, session.user.id or None, "plan.import", pid,
                         {"origin": "builtin", "file": name, "version": version})
    return report


# ------------------------------------------------------------------ reading
def _summary(row: PlanRow, doc: Mapping) -> PlanSummary:
    plan = plan_from_document(doc)
    return PlanSummary(id=row.id, version=row.current_version, year=plan.year, title=plan.title, kind=plan.kind,
                       reference=plan.reference, issuing_unit=plan.issuing_unit.name, origin=row.origin,
                       derived_from=row.derived_from, target_count=len(plan.targets), group_count=len(plan.groups),
                       archived=row.archived)


def list_plans(session: AppSession, include_archived: bool = False) -> list[PlanSummary]:
    """Every plan at its current version: newest year first, the unit's own plans before others."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        q = select(PlanRow, PlanVersion.document).join(
            PlanVersion, (PlanVersion.plan_id == PlanRow.id) & (PlanVersion.version == PlanRow.current_version))
        if not include_archived:
            q = q.where(PlanRow.archived.is_(False))
        items = [_summary(row, json.loads(doc)) for row, doc in s.execute(q)]
    order = {"own": 0, "imported": 1, "received": 2, "builtin": 3}
    items.sort(key=lambda p: (-p.year, order.get(p.origin, 9), p.id))
    return items


def get_plan_document(session: AppSession, plan_id: str, version: int | None = None) -> dict:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return json.loads(_version_row(s, plan_id, version).document)


#: Parsed plans per open database: a plan version is immutable once stored (edits add versions),
#: so (plan id, version) identifies its content. Every matrix, refresh and report asks for the
#: plan; parsing its JSON each time cost more than the work itself. Dropped with the database.
_PARSED: "weakref.WeakKeyDictionary[object, dict[tuple[str, int], Plan]]" = weakref.WeakKeyDictionary()


def get_plan(session: AppSession, plan_id: str, version: int | None = None) -> Plan:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return plan_in(session, s, plan_id, version)[0]


def plan_in(session: AppSession, s, plan_id: str, version: int | None = None) -> tuple[Plan, str]:
    """(the plan, its origin) inside the caller's transaction `s`: one primary-key read when the
    parsed version is cached (the consolidation refresh after every imported report)."""
    row = _plan_row(s, plan_id)
    v = row.current_version if version is None else int(version)
    cache = _PARSED.setdefault(session.db, {})
    plan = cache.get((plan_id, v))
    if plan is None:
        plan = cache[(plan_id, v)] = plan_from_document(json.loads(_version_row(s, plan_id, v).document))
    return plan, row.origin


def plan_origin(session: AppSession, plan_id: str) -> str | None:
    """Where a plan came from (own, imported, received, builtin) without parsing any plan."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        return s.scalar(select(PlanRow.origin).where(PlanRow.id == plan_id))


def plan_summary(session: AppSession, plan_id: str) -> PlanSummary:
    session.require(Permission.VIEW)
    with session.db.session() as s:
        row = _plan_row(s, plan_id)
        return _summary(row, json.loads(_version_row(s, plan_id, None).document))


def describe(doc: Mapping) -> str:
    """The plan as text for the terminal: heading, bases, then every group and target."""
    plan = plan_from_document(doc)
    lines = [plan.title.upper(), f"{plan.kind_label} {_t('số')} {plan.reference} — {plan.issuing_unit.name}"]
    if plan.issue_date_label:
        lines.append(_t("Ngày ban hành: {0}").format(plan.issue_date_label))
    lines.append(_t("Năm kế hoạch: {0} · Phiên bản {1} · {2} nhóm, {3} mục tiêu/nhiệm vụ").format(
        plan.year, plan.version, len(plan.groups), len(plan.targets)))
    if plan.legal_bases:
        lines.append(_t("Căn cứ:"))
        lines += [f"  - {b}" for b in plan.legal_bases]
    if plan.submission_deadlines:
        lines.append(_t("Hạn gửi báo cáo (ngày sau khi hết kỳ): {0}").format(", ".join(
            f"{tr('Domain', {'month': 'tháng', 'quarter': 'quý', 'half_year': '6 tháng', 'year': 'năm'}[k])} {v}"
            for k, v in plan.submission_deadlines)))
    for g in plan.groups:
        lines.append("")
        lines.append(f"{g.code}. {g.display_title}")
        for t in g.targets:
            lines.append(f"  {t.code}  [{t.deadline.label(plan.year)}] [{t.measure.label}]")
            lines.append(f"      {t.text}")
            if t.lead_units:
                lines.append("      " + _t("Chủ trì: {0}").format("; ".join(t.lead_units)))
            if t.coordinating_units:
                lines.append("      " + _t("Phối hợp: {0}").format("; ".join(t.coordinating_units)))
            if t.expected_result:
                lines.append("      " + _t("Kết quả: {0}").format(t.expected_result))
    return "\n".join(lines)


def _target_rows(s, plan_id: str, version: int | None) -> tuple[int, int, list[PlanTarget]]:
    pv = _version_row(s, plan_id, version)
    year = json.loads(pv.document)["year"]
    rows = list(s.scalars(select(PlanTarget).where(PlanTarget.plan_version_id == pv.id).order_by(PlanTarget.position)))
    return pv.version, year, rows


def list_targets(session: AppSession, plan_id: str, version: int | None = None, search: str = "",
                 group: str | None = None, lead_unit: str | None = None, deadline_from: date | None = None,
                 deadline_to: date | None = None, measure_type: str | None = None) -> list[TargetRow]:
    """Targets of a plan version, in document order, filtered.

    `search` is accent- and case-insensitive ('chu ky so' finds 'chữ ký số') and matches the code,
    text, units, expected result and exclusion note. A deadline window keeps targets whose last
    due day falls inside it (targets without a deadline drop out).
    """
    session.require(Permission.VIEW)
    with session.db.session() as s:
        pv = _version_row(s, plan_id, version)
        year = json.loads(pv.document)["year"]
        q = select(PlanTarget).where(PlanTarget.plan_version_id == pv.id)
        key = fold(search)
        if key:
            q = q.where(PlanTarget.search_key.contains(key, autoescape=True))
        if group:
            q = q.where(PlanTarget.group_code == group)
        if measure_type:
            q = q.where(PlanTarget.measure_type == measure_type)
        if deadline_from is not None:
            q = q.where(PlanTarget.deadline_end.is_not(None), PlanTarget.deadline_end >= deadline_from.isoformat())
        if deadline_to is not None:
            q = q.where(PlanTarget.deadline_end.is_not(None), PlanTarget.deadline_end <= deadline_to.isoformat())
        rows = []
        for r in s.scalars(q.order_by(PlanTarget.position)):
            t = Target.from_json(json.loads(r.data), r.group_code)
            if lead_unit and lead_unit not in t.lead_units:
                continue
            rows.append(TargetRow(plan_id, pv.version, r.position, r.group_code, r.group_title, t, year))
        return rows


def lead_units(session: AppSession, plan_id: str, version: int | None = None) -> list[str]:
    """Every lead unit named in the plan, sorted the Vietnamese way (accent-insensitive)."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        _, _, rows = _target_rows(s, plan_id, version)
        names = {u for r in rows for u in json.loads(r.data).get("lead_units", ())}
    return sorted(names, key=lambda n: (fold(n), n))


def list_groups(session: AppSession, plan_id: str, version: int | None = None) -> list[GroupInfo]:
    session.require(Permission.VIEW)
    doc = get_plan_document(session, plan_id, version)
    return [GroupInfo(g["code"], _group_title(g), len(g["targets"])) for g in doc["groups"]]


def list_versions(session: AppSession, plan_id: str) -> list[PlanVersionInfo]:
    """Every stored version, newest first, with who made it and why."""
    session.require(Permission.VIEW)
    with session.db.session() as s:
        row = _plan_row(s, plan_id)
        users: dict[int | None, str] = {u.id: (u.full_name or u.username) for u in s.scalars(select(User))}
        counts = dict(s.execute(select(PlanTarget.version, func.count()).where(PlanTarget.plan_id == plan_id)
                                .group_by(PlanTarget.version)).all())
        out = []
        for pv in s.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan_id)
                            .order_by(PlanVersion.version.desc())):
            out.append(PlanVersionInfo(pv.version, pv.created_at, users.get(pv.created_by, _t("hệ thống")),
                                       pv.note, counts.get(pv.version, 0), pv.version == row.current_version))
        return out


# ------------------------------------------------------------------ writing
def _check_editable(row: PlanRow, title: str | None = None) -> None:
    if row.origin not in EDITABLE_ORIGINS:
        raise PlanReadOnly(
            _t("Kế hoạch “{0}” là kế hoạch {1}, chỉ xem, không sửa được.").format(
                title or row.id, _t(ORIGIN_LABELS.get(row.origin, row.origin)).lower()),
            _t("Hãy dùng 'Tạo kế hoạch của đơn vị từ kế hoạch này' để có bản riêng của đơn vị rồi sửa bản đó."))


def save_new_version(session: AppSession, plan_id: str, doc: Mapping, note: str = "") -> int:
    """Store `doc` as the next version of a plan the unit owns. Returns the current version number
    (unchanged when the document is the same as the current one)."""
    session.require(Permission.MANAGE_PLANS)
    with session.db.session() as s:
        row = _plan_row(s, plan_id)
        current = _version_row(s, plan_id, None)
        _check_editable(row, json.loads(current.document).get("title"))
        return _store_edited(s, session, row, current, dict(doc), note,
                             lambda problems: PlanFormatError(problems, plan_id))


def _store_edited(s, session: AppSession, row: PlanRow, current: PlanVersion, doc: dict, note: str,
                  refuse) -> int:
    """Validate `doc` and store it as the plan's next version inside transaction `s`, with the
    audit record; `refuse(problems)` builds the error raised for an invalid document (the caller's
    transaction then rolls back: nothing is saved). The current version when nothing changed."""
    doc = _upgrade_format(_nfc_doc(copy.deepcopy(doc)))
    doc["id"] = row.id
    doc["version"] = row.current_version + 1
    problems = validate_document(doc, row.id)
    if problems:
        raise refuse(problems)
    if current.content_hash == content_hash(doc):
        return row.current_version
    changes = diff_documents(json.loads(current.document), doc)
    row.current_version = doc["version"]
    _store_version(s, row.id, doc["version"], doc, note, session.user.id or None)
    audit.append(s, session.user.id or None, "plan.edit", row.id, {
        "version": doc["version"], "note": nfc(note)[:200],
        "added": sum(c.kind == "added" for c in changes), "removed": sum(c.kind == "removed" for c in changes),
        "changed": sum(c.kind in ("changed", "plan") for c in changes)})
    return doc["version"]


def _shift_deadline(dl: dict, years: int) -> dict:
    if not years:
        return dl

    def shift(iso: str) -> str:
        d = date.fromisoformat(iso)
        try:
            return d.replace(year=d.year + years).isoformat()
        except ValueError:  # 29/02
            return d.replace(year=d.year + years, day=28).isoformat()

    out = {k: v for k, v in dl.items() if k != "text"}
    if dl["type"] == "month":
        out["year"] = dl["year"] + years
    elif dl["type"] == "date":
        out["date"] = shift(dl["date"])
    elif dl["type"] == "period":
        out.update(start=shift(dl["start"]), end=shift(dl["end"]))
    elif "text" in dl and dl["type"] not in ("year",):
        out["text"] = dl["text"]
    return out


def create_own_plan(session: AppSession, superior_plan_id: str, new_id: str, title: str | None = None,
                    year: int | None = None) -> str:
    """Create this unit's own plan from a superior's plan (e.g. each district's 2025 plan from the
    province's). Copies the targets that apply to this unit's level (all of them when none does),
    sets the issuing unit to this unit and remembers where it came from. Returns the new plan id."""
    session.require(Permission.MANAGE_PLANS)
    new_id = nfc(new_id).strip()
    if not PLAN_ID_RE.match(new_id):
        raise ValidationError(_t("Mã kế hoạch '{0}' không hợp lệ.").format(new_id),
                              _t("Chỉ dùng chữ thường không dấu, chữ số và dấu '-', 3–64 ký tự, ví dụ kv1-cds-2025."))
    with session.db.session() as s:
        if s.get(PlanRow, new_id) is not None:
            raise ValidationError(_t("Đã có kế hoạch mã '{0}'.").format(new_id), _t("Hãy chọn mã khác."))
        superior = json.loads(_version_row(s, superior_plan_id, None).document)
        unit = _own_unit_row(s)
        sup_plan = plan_from_document(superior)
        year = int(year or superior["year"])
        shift = year - superior["year"]
        level = unit.level if unit else None
        groups = []
        # the unit's plan covers its own level and the levels below it (a province adapts the
        # superior's plan for itself and its regional units); levels above it are dropped
        reach = LEVELS[LEVELS.index(level):] if level in LEVELS else LEVELS
        for g in superior["groups"]:
            kept = [t for t in g["targets"] if set(t.get("applies_to_levels") or reach) & set(reach)]
            if kept:
                groups.append({**g, "targets": kept})
        if not groups:  # nothing is marked for this level: take everything rather than an empty plan
            groups = superior["groups"]
        groups = copy.deepcopy(groups)
        for g in groups:
            for t in g["targets"]:
                t["deadline"] = _shift_deadline(t["deadline"], shift)
                if level:
                    t["applies_to_levels"] = [lv for lv in t.get("applies_to_levels") or reach if lv in reach] \
                        or [level]
        unit_name = unit.name if unit else superior["issuing_unit"]["name"]
        doc: dict[str, Any] = {
            "format": FORMAT, "id": new_id, "kind": "ke_hoach", "number": None,
            "symbol": f"KH-{unit.doc_symbol}" if unit and unit.doc_symbol else "KH",
            "title": nfc(title).strip() if title and title.strip() else
            _t("Kế hoạch chuyển đổi số năm {0} của {1}").format(year, unit_name),
            "issuing_unit": {"code": unit.code, "name": unit.name} if unit else dict(superior["issuing_unit"]),
            "parent_unit": dict(superior["issuing_unit"]),
            "year": year, "version": 1,
            "legal_bases": [_t("{0} số {1} của {2}: {3}").format(
                sup_plan.kind_label, sup_plan.reference, sup_plan.issuing_unit.name, sup_plan.title)],
            "groups": groups,
        }
        if unit and unit.place_name:
            doc["place_name"] = unit.place_name
        if level:
            doc["applies_to_levels"] = list(reach)
        for key in ("period_types", "submission_deadlines"):
            if key in superior:
                doc[key] = copy.deepcopy(superior[key])
        doc = _nfc_doc(doc)
        problems = validate_document(doc, new_id)
        if problems:
            raise PlanFormatError(problems, new_id)
        s.add(PlanRow(id=new_id, current_version=1, origin="own", owner_unit_code=unit.code if unit else None,
                      derived_from=superior_plan_id, archived=False))
        s.flush()
        _store_version(s, new_id, 1, doc, _t("Tạo từ kế hoạch “{0}”").format(superior["title"]), session.user.id or None)
        audit.append(s, session.user.id or None, "plan.create", new_id,
                     {"derived_from": superior_plan_id, "targets": _target_count(doc)})
    return new_id


def _clean_target_value(key: str, value: Any) -> Any:
    if isinstance(value, (Deadline, Measure)):
        return value.to_json()
    if key in ("lead_units", "coordinating_units", "applies_to_levels"):
        return [nfc(v).strip() for v in value if nfc(v).strip()] if value else []
    if key == "reporting_units":
        out = []
        for u in value or ():
            ref = {"name": u.name, "code": u.code} if isinstance(u, UnitRef) else dict(u)
            ref = {k: nfc(str(v)).strip() for k, v in ref.items() if v and str(v).strip()}
            if ref.get("name"):
                out.append(ref)
        return out
    if isinstance(value, Recurrence):
        return value.to_json()
    if isinstance(value, str):
        return nfc(value).strip()
    return value


def _apply_target_changes(t: dict, changes: Mapping) -> dict:
    t = dict(t)
    for key, value in changes.items():
        if key not in TARGET_FIELDS:
            raise ValidationError(_t("Không có trường '{0}' trong mục tiêu.").format(key))
        value = _clean_target_value(key, value)
        if value in (None, "", []) and key not in ("code", "kind", "text", "deadline", "measure"):
            t.pop(key, None)
        else:
            t[key] = value
    return t


def _apply_plan_changes(doc: dict, changes: Mapping) -> None:
    for key, value in changes.items():
        if key not in PLAN_FIELDS:
            raise ValidationError(_t("Không sửa được trường '{0}' của kế hoạch.").format(key))
        if isinstance(value, date):
            value = value.isoformat()
        if value in (None, "", [], {}) and key not in ("title", "symbol", "kind", "year", "number"):
            doc.pop(key, None)
        else:
            doc[key] = _nfc_doc(value)


def _apply(doc: dict, edits: list[PlanEdit], title: str) -> None:
    """Apply `edits` to `doc` in order. Update and remove name targets by their code before the
    batch (so renaming A→B and B→A in one batch is fine); a target added in the batch is new."""
    before = {t["code"]: t for g in doc["groups"] for t in g["targets"]}
    removed: set[str] = set()

    def find(code: str) -> dict:
        t = before.get(code)
        if t is None or code in removed:
            raise NotFound(_t("Kế hoạch “{0}” không có mục tiêu {1} (có thể đã bị xóa).").format(title, code))
        return t

    def group(code: str, title_if_new: str | None = None) -> dict:
        g = next((g for g in doc["groups"] if g["code"] == code), None)
        if g is None:
            if not title_if_new or not nfc(code).strip():
                raise NotFound(_t("Kế hoạch “{0}” không có nhóm {1}.").format(title, code))
            g = {"code": nfc(code).strip(), "title": nfc(title_if_new).strip(), "targets": []}
            doc["groups"].append(g)
        return g

    def detach(t: dict) -> None:
        for g in doc["groups"]:
            g["targets"] = [x for x in g["targets"] if x is not t]

    for e in edits:
        if isinstance(e, UpdatePlanInfo):
            _apply_plan_changes(doc, e.changes)
        elif isinstance(e, UpdateTarget):
            t = find(e.code)
            new = _apply_target_changes(t, e.changes)
            t.clear()
            t.update(new)  # in place: the target keeps its identity for later edits of the batch
            if e.group_code is not None:
                dest = group(e.group_code)
                if not any(t is x for x in dest["targets"]):
                    detach(t)
                    dest["targets"].append(t)
        elif isinstance(e, RemoveTarget):
            detach(find(e.code))
            removed.add(e.code)
        elif isinstance(e, AddTarget):
            t = _apply_target_changes({}, e.target)
            t.setdefault("kind", "nhiem_vu")
            t.setdefault("deadline", {"type": "none"})
            t.setdefault("measure", {"type": "qualitative"})
            group(e.group_code, e.group_title)["targets"].append(t)
        else:
            raise TypeError(f"not a plan edit: {e!r}")
    doc["groups"] = [g for g in doc["groups"] if g["targets"]]
    if not doc["groups"]:
        raise ValidationError(_t("Kế hoạch phải còn ít nhất một mục tiêu."),
                              _t("Hãy thêm mục tiêu mới trước khi xóa mục tiêu cuối cùng."))


def _default_note(edits: list[PlanEdit]) -> str:
    if len(edits) == 1:
        e = edits[0]
        if isinstance(e, UpdateTarget):
            return _t("Sửa mục tiêu {0}").format(e.code)
        if isinstance(e, RemoveTarget):
            return _t("Bỏ mục tiêu {0}").format(e.code)
        if isinstance(e, AddTarget):
            return _t("Thêm mục tiêu {0}").format(nfc(str(e.target.get("code", ""))).strip())
        return _t("Sửa thông tin kế hoạch")
    parts = []
    for kind, label in ((UpdatePlanInfo, "sửa thông tin kế hoạch"), (UpdateTarget, "sửa {0} mục tiêu"),
                        (AddTarget, "thêm {0} mục tiêu"), (RemoveTarget, "bỏ {0} mục tiêu")):
        n = sum(isinstance(e, kind) for e in edits)
        if n:
            parts.append(_t(label).format(n))
    text = ", ".join(parts)
    return text[:1].upper() + text[1:]


def apply_edits(session: AppSession, plan_id: str, edits: Iterable[PlanEdit], note: str = "") -> int:
    """Apply a batch of edits (AddTarget, UpdateTarget, RemoveTarget, UpdatePlanInfo) to a plan the
    unit owns, in ONE transaction: the permission is checked, the result validated as a whole and
    stored as one new version with one audit record (plan.edit). Any problem refuses the whole
    batch (PlanEditError lists every problem, NotFound/ValidationError name the target) and
    nothing is saved. Returns the new version (the current one when the batch changes nothing)."""
    session.require(Permission.MANAGE_PLANS)
    edits = list(edits)
    with session.db.session() as s:
        row = _plan_row(s, plan_id)
        current = _version_row(s, plan_id, None)
        doc = json.loads(current.document)
        title = doc.get("title") or plan_id
        _check_editable(row, title)
        _apply(doc, edits, title)
        return _store_edited(s, session, row, current, doc, note or _default_note(edits),
                             lambda problems: PlanEditError(problems, title))


def update_target(session: AppSession, plan_id: str, code: str, changes: Mapping, note: str = "") -> int:
    """Change fields of one target (keys as in the plan file; Deadline/Measure objects accepted)."""
    return apply_edits(session, plan_id, [UpdateTarget(code, changes)], note)


def add_target(session: AppSession, plan_id: str, group_code: str, target: Mapping, note: str = "",
               group_title: str | None = None) -> int:
    """Append a target to a group (a new group when `group_title` is given and the code is new)."""
    return apply_edits(session, plan_id, [AddTarget(group_code, target, group_title)], note)


def remove_target(session: AppSession, plan_id: str, code: str, note: str = "") -> int:
    """Remove a target; a group left empty goes with it (a plan keeps at least one target)."""
    return apply_edits(session, plan_id, [RemoveTarget(code)], note)


def update_plan_info(session: AppSession, plan_id: str, changes: Mapping, note: str = "") -> int:
    """Change plan-level fields: title, number, symbol, year, issue date, reporting periods and the
    report submission deadlines (days after each period type) set by the plan's owner."""
    return apply_edits(session, plan_id, [UpdatePlanInfo(changes)], note)


# ------------------------------------------------------------------ versions and differences
def _render(fieldname: str, value: Any, year: int) -> str:
    if value is None:
        return ""
    if fieldname == "deadline":
        d = Deadline.from_json(value)
        label = d.label(year)
        return label if not d.text or d.text == label else f"{label} ({d.text})"
    if fieldname == "measure":
        return Measure.from_json(value).label
    if fieldname == "submission_deadlines" and isinstance(value, dict):  # "Tháng: 5 ngày; Quý: 10 ngày"
        return "; ".join(_t("{0}: {1} ngày").format(tr("Domain", PERIOD_TYPE_LABELS.get(k, k)), value[k])
                         for k in PERIOD_TYPES if k in value)
    if fieldname == "period_types" and isinstance(value, list):
        periods: list[str] = value  # period type codes (the plan schema)
        return ", ".join(tr("Domain", PERIOD_TYPE_LABELS.get(k, k)) for k in periods)
    if fieldname == "applies_to_levels":
        return ", ".join(tr("Domain", LEVEL_LABELS.get(v, v)) for v in value)
    if fieldname == "reporting_units":
        return "; ".join(u.get("name", "") for u in value)
    if fieldname == "recurrence":
        return Recurrence.from_json(value).label(year)
    if isinstance(value, bool):
        return _t("Có") if value else _t("Không")
    if isinstance(value, list):
        return "; ".join(str(v) if not isinstance(v, dict) else json.dumps(v, ensure_ascii=False) for v in value)
    if isinstance(value, dict):
        if "name" in value:
            return value["name"]
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def diff_documents(a: Mapping, b: Mapping) -> list[PlanChange]:
    """Differences from document `a` to `b`: plan fields first, then targets in `b`'s order, removed last."""
    out: list[PlanChange] = []
    ya, yb = a.get("year", 0), b.get("year", 0)
    plan_fields = []
    for key in ("title", "number", "symbol", "kind", "year", "issuing_unit", "issue_date", "issue_date_text",
                "legal_bases", "period_types", "submission_deadlines", "applies_to_levels", "notes"):
        if a.get(key) != b.get(key):
            plan_fields.append(FieldChange(key, _render(key, a.get(key), ya), _render(key, b.get(key), yb)))
    if plan_fields:
        out.append(PlanChange("plan", "", b.get("title", ""), tuple(plan_fields)))

    def index(doc):
        return {t["code"]: (g, t) for g in doc["groups"] for t in g["targets"]}

    ia, ib = index(a), index(b)
    for code, (gb, tb) in ib.items():
        if code not in ia:
            out.append(PlanChange("added", code, tb["text"]))
            continue
        ga, ta = ia[code]
        fields = []
        if ga["code"] != gb["code"]:
            fields.append(FieldChange("group", f"{ga['code']}. {ga['title']}", f"{gb['code']}. {gb['title']}"))
        for key in TARGET_FIELDS:
            if key == "code":
                continue
            if ta.get(key) != tb.get(key):
                old, new = _render(key, ta.get(key), ya), _render(key, tb.get(key), yb)
                fields.append(FieldChange(key, old, new))
        if fields:
            out.append(PlanChange("changed", code, tb["text"], tuple(fields)))
    for code, (ga, ta) in ia.items():
        if code not in ib:
            out.append(PlanChange("removed", code, ta["text"]))
    return out


def diff_versions(session: AppSession, plan_id: str, v_a: int, v_b: int) -> list[PlanChange]:
    """What changed from version `v_a` to version `v_b` of a plan."""
    a = get_plan_document(session, plan_id, v_a)
    b = get_plan_document(session, plan_id, v_b)
    return diff_documents(a, b)


# ------------------------------------------------------------------ import and export
def _import_defaults(session: AppSession) -> dict:
    with session.db.session() as s:
        unit = _own_unit_row(s)
        if unit is None:
            return {}
        return {"issuing_unit": {"code": unit.code, "name": unit.name}, "place_name": unit.place_name}


def preview_xlsx(path: Path | str, defaults: Mapping | None = None) -> XlsxPreview:
    """Read an .xlsx (or the appendix table of a .docx) without saving anything: the rows as
    understood, every problem (row, column, cell, Vietnamese message), the warnings (groups
    without a title) and the resulting document, already checked like a plan file."""
    from desktop.export import plan_docx, plan_xlsx

    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return XlsxPreview([], [PlanProblem(path.name, _t("Không đọc được tệp: {0}.").format(exc.strerror or exc))],
                           None, path.name)
    reader = plan_docx.read_plan_docx if path.suffix.lower() == ".docx" else plan_xlsx.read_plan
    result = reader(io.BytesIO(data), path.name, defaults=defaults)
    problems = list(result.problems)
    if result.document is not None:
        # also check the document, so every problem shows at once; a cell the reader already
        # flagged is not reported twice
        seen = {(p.row, p.column) for p in problems}
        for p in validate_document(result.document, path.name):
            p = result.locate(p)
            if (p.row, p.column) not in seen or p.row is None:
                seen.add((p.row, p.column))
                problems.append(p)
    return XlsxPreview(result.rows, problems, result.document, path.name, list(result.warnings),
                       list(result.untitled))


def preview_import(session: AppSession, path: Path | str) -> XlsxPreview:
    """What importing `path` (.xlsx or .json) would save, with every problem; saves nothing."""
    from desktop.export.plan_xlsx import SheetRow

    session.require(Permission.MANAGE_PLANS)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".docx"):
        return preview_xlsx(path, _import_defaults(session))
    if suffix != ".json":
        return XlsxPreview([], [PlanProblem(path.name, _t("Chỉ nhập được tệp .json, .xlsx hoặc .docx."))], None,
                           path.name)
    try:
        doc = load_plan_file(path)
    except PlanFormatError as exc:
        return XlsxPreview([], exc.problems, None, path.name)
    plan = plan_from_document(doc)
    rows = []
    for gi, g in enumerate(plan.groups, start=1):
        rows.append(SheetRow(0, "group", "", g.code, g.display_title))
        for ti, t in enumerate(g.targets, start=1):
            rows.append(SheetRow(0, "target", str(ti), t.code, t.text, "\n".join(t.lead_units),
                                 "\n".join(t.coordinating_units), t.deadline.text, t.deadline.label(plan.year),
                                 t.expected_result, t.measure.label))
    return XlsxPreview(rows, [], doc, path.name)


def import_file(session: AppSession, path: Path | str, group_titles: Mapping[str, str] | None = None
                ) -> ImportResult:
    """Import a plan from .json, .xlsx or the appendix table of a .docx. Every problem is reported
    at once and nothing is saved unless the file is clean; `group_titles` names the groups the
    table numbers without a title (group code → title; the others stay 'Nhóm III', flagged). A
    file whose id matches a plan the unit already imported or owns becomes a new version of it;
    built-in plans are never overwritten."""
    session.require(Permission.MANAGE_PLANS)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return import_previewed(session, XlsxPreview([], [], load_plan_file(path), path.name))
    if suffix in (".xlsx", ".docx"):
        return import_previewed(session, preview_xlsx(path, _import_defaults(session)), group_titles)
    raise ValidationError(_t("Chỉ nhập được tệp .json, .xlsx hoặc .docx (tệp đã chọn: {0}).").format(path.name))


def import_previewed(session: AppSession, preview: XlsxPreview, group_titles: Mapping[str, str] | None = None
                     ) -> ImportResult:
    """Save exactly what the user confirmed in the preview (the file is not read again)."""
    session.require(Permission.MANAGE_PLANS)
    preview = preview.named(group_titles)
    name = preview.source_name
    if not preview.ok or preview.document is None:  # ok: a document and no problems
        raise PlanFormatError(preview.problems or [PlanProblem(name, _t("Không đọc được bảng tính."))], name)
    doc = copy.deepcopy(preview.document)
    problems = validate_document(doc, name)  # names typed by the user are checked like the rest
    if problems:
        raise PlanFormatError(problems, name)
    path = Path(name)
    pid = doc["id"]
    with session.db.session() as s:
        row = s.get(PlanRow, pid)
        if row is not None and row.origin not in EDITABLE_ORIGINS:
            raise ValidationError(
                _t("Mã kế hoạch '{0}' trùng với kế hoạch {1} đã có; không ghi đè.").format(
                    pid, _t(ORIGIN_LABELS.get(row.origin, row.origin)).lower()),
                _t("Hãy đổi mã kế hoạch (trường id, hoặc 'Mã kế hoạch' trong trang Thông tin của bảng tính)."))
        if row is not None:
            current = _version_row(s, pid, None)
            if current.content_hash == content_hash(doc):
                return ImportResult(pid, row.current_version, _target_count(doc), created=False, changed=False)
            version = row.current_version + 1
            row.current_version = version
            created = False
        else:
            unit = _own_unit_row(s)
            s.add(PlanRow(id=pid, current_version=1, origin="imported", owner_unit_code=unit.code if unit else None,
                          derived_from=None, archived=False))
            s.flush()
            version, created = 1, True
        _store_version(s, pid, version, doc, _t("Nhập từ tệp {0}").format(path.name), session.user.id or None)
        audit.append(s, session.user.id or None, "plan.import", pid,
                     {"file": path.name, "version": version, "targets": _target_count(doc)})
    return ImportResult(pid, version, _target_count(doc), created=created)


def export_file(session: AppSession, plan_id: str, path: Path | str, version: int | None = None) -> Path:
    """Write a plan to .json (the plan file itself) or .xlsx (appendix-style table + metadata)."""
    session.require(Permission.VIEW)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".xlsx"):
        raise ValidationError(_t("Chỉ xuất được ra tệp .json hoặc .xlsx (tệp đã chọn: {0}).").format(path.name))
    doc = get_plan_document(session, plan_id, version)
    if suffix == ".json":
        data = (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    else:
        from desktop.export import plan_xlsx

        buf = io.BytesIO()
        plan_xlsx.write_plan(doc, buf)
        data = buf.getvalue()
    atomic_write_bytes(path, data)
    session.audit("plan.export", plan_id, {"file": path.name, "version": doc["version"]})
    return path
