"""The plan domain: plans, groups, targets, deadlines, measures and reporting periods.

Plain frozen dataclasses built from a plan document (file format ``vks-cds-plan/2``, see
``docs/plan-format.md``). The document stays the stored truth; these objects are what services,
status rules, reports and widgets read. Free-text parsing of deadlines ("3/2024", "Tháng 12/2025",
"Hàng tháng", "31/8/2023") and measures ("100% …", "tối thiểu 04 lần/01 năm") also lives here so the
Excel import and the editor agree.

This module must never import Qt.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Iterator, Mapping, TypeVar

from .i18n import fold, nfc, tr

FORMAT = "vks-cds-plan/2"
#: Every plan format this version reads. /1 lacks the per-target assignment (reporting_units,
#: assignment_note), recurrence windows and untitled-group flags of /2; a /1 file reads unchanged.
READ_FORMATS = ("vks-cds-plan/1", FORMAT)

PERIOD_TYPES = ("month", "quarter", "half_year", "year")
DEADLINE_TYPES = ("month", "date", "period", "recurring", "year", "none")
MEASURE_TYPES = ("ratio", "count", "milestone", "recurring", "qualitative")
PLAN_KINDS = ("ke_hoach", "huong_dan", "ke_hoach_hanh_dong")
TARGET_KINDS = ("muc_tieu", "nhiem_vu", "chi_tieu")
LEVELS = ("toi_cao", "tinh", "khu_vuc")

PLAN_KIND_LABELS = {"ke_hoach": "Kế hoạch", "huong_dan": "Hướng dẫn", "ke_hoach_hanh_dong": "Kế hoạch hành động"}
TARGET_KIND_LABELS = {"muc_tieu": "Mục tiêu", "nhiem_vu": "Nhiệm vụ", "chi_tieu": "Chỉ tiêu"}
LEVEL_LABELS = {"toi_cao": "VKSND tối cao", "tinh": "VKSND tỉnh", "khu_vuc": "VKSND khu vực"}
MEASURE_LABELS = {"ratio": "Tỷ lệ", "count": "Số lượng tối thiểu", "milestone": "Mốc hoàn thành",
                  "recurring": "Định kỳ", "qualitative": "Định tính"}
PERIOD_TYPE_LABELS = {"month": "Tháng", "quarter": "Quý", "half_year": "6 tháng", "year": "Năm"}
EVERY_LABELS = {"month": "Hàng tháng", "quarter": "Hàng quý", "half_year": "6 tháng một lần", "year": "Hàng năm"}
PER_LABELS = {"month": "tháng", "quarter": "quý", "half_year": "6 tháng", "year": "năm", "plan": "cả kỳ kế hoạch"}

PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
         "XVI", "XVII", "XVIII", "XIX", "XX")


def _t(text: str) -> str:
    return tr("Domain", text)


def fmt_date(d: date | None) -> str:
    """dd/MM/yyyy, the only numeric date form users see."""
    return "" if d is None else f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def fmt_percent_value(value: float | int | None) -> str:
    """A percentage value (already in %): 100 -> '100%', 20.5 -> '20,5%'."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value)}%"
    return f"{value:g}".replace(".", ",") + "%"


def roman(n: int) -> str:
    return ROMAN[n - 1] if 1 <= n <= len(ROMAN) else str(n)


def last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


_T = TypeVar("_T")


def _required(value: _T | None, owner: object, name: str) -> _T:
    """A field that `owner`'s kind always carries (a month deadline its year and month, a count
    measure its minimum and window): the constructors and ``from_json`` set it, so a missing one
    is a programming error, reported as such rather than as a TypeError further on."""
    if value is None:
        raise ValueError(f"{owner!r} has no {name}")
    return value


# ------------------------------------------------------------------ unit codes
#: Unit codes ("VKSTC", "VKS-THA", "VKS-KV1-THA"): upper-case ASCII letters, digits, '-' and '.',
#: starting and ending with a letter or digit. No '_' (it separates the fields of a bundle file
#: name) and no lower case (shares on Windows are case-insensitive).
UNIT_CODE_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9.-]{0,30}[A-Z0-9])?$")


class UnitCodeError(ValueError):
    """A unit code that cannot be used; the message is Vietnamese, for the user."""


def normalize_unit_code(text: str) -> str:
    """The unit code as stored and exchanged: trimmed and upper-cased ("vks-kv9-tha" becomes
    "VKS-KV9-THA"). Raises UnitCodeError when what is left is not a valid code."""
    code = nfc(text or "").strip().upper()
    if not code:
        raise UnitCodeError(_t("Cần nhập mã đơn vị."))
    if not UNIT_CODE_RE.fullmatch(code):
        raise UnitCodeError(_t("Mã đơn vị \u201c{0}\u201d không hợp lệ: chỉ dùng chữ cái không dấu, chữ số, dấu "
                               "gạch ngang và dấu chấm, tối đa 32 ký tự, không bắt đầu hay kết thúc bằng dấu "
                               "(ví dụ: VKS-KV1-THA).").format(code))
    return code


# ------------------------------------------------------------------ reporting periods
@dataclass(frozen=True)
class ReportingPeriod:
    """One reporting period: a month (index 1–12), quarter (1–4), half-year (1–2) or year (1)."""

    type: str
    year: int
    index: int = 1

    def __post_init__(self):
        if self.type not in PERIOD_TYPES:
            raise ValueError(f"unknown period type {self.type!r}")
        top = 12 // PERIOD_MONTHS[self.type]
        if not 1 <= self.index <= top:
            raise ValueError(f"{self.type} index {self.index} outside 1..{top}")

    @property
    def months(self) -> int:
        return PERIOD_MONTHS[self.type]

    @property
    def key(self) -> str:
        if self.type == "month":
            return f"{self.year}-{self.index:02d}"
        if self.type == "quarter":
            return f"{self.year}-Q{self.index}"
        if self.type == "half_year":
            return f"{self.year}-H{self.index}"
        return f"{self.year}"

    # Cached: the status rules and the matrix ask for a period's bounds millions of times.
    # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass.
    @cached_property
    def start(self) -> date:
        return date(self.year, (self.index - 1) * self.months + 1, 1)

    @cached_property
    def end(self) -> date:
        return last_day(self.year, self.index * self.months)

    @property
    def label(self) -> str:
        if self.type == "month":
            return _t("Tháng {0:02d}/{1}").format(self.index, self.year)
        if self.type == "quarter":
            return _t("Quý {0}/{1}").format(roman(self.index), self.year)
        if self.type == "half_year":
            return (_t("6 tháng đầu năm {0}") if self.index == 1 else _t("6 tháng cuối năm {0}")).format(self.year)
        return _t("Năm {0}").format(self.year)

    def __str__(self) -> str:
        return self.key

    def sort_key(self) -> tuple:
        return (self.end, -self.months)

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end

    def submission_deadline(self, days_after: int) -> date:
        """The last day a report for this period may be sent: `days_after` days after the period ends."""
        return self.end + timedelta(days=int(days_after))

    def next(self) -> "ReportingPeriod":
        top = 12 // self.months
        return ReportingPeriod(self.type, self.year + 1, 1) if self.index == top else \
            ReportingPeriod(self.type, self.year, self.index + 1)

    def previous(self) -> "ReportingPeriod":
        top = 12 // self.months
        return ReportingPeriod(self.type, self.year - 1, top) if self.index == 1 else \
            ReportingPeriod(self.type, self.year, self.index - 1)

    @staticmethod
    def periods_of_year(type: str, year: int) -> list["ReportingPeriod"]:
        # The same (immutable) instances each time, so their cached bounds are computed once.
        return list(_periods_of_year(type, year))

    @classmethod
    def containing(cls, type: str, d: date) -> "ReportingPeriod":
        return cls(type, d.year, (d.month - 1) // PERIOD_MONTHS[type] + 1)

    _KEY = re.compile(r"^(\d{4})(?:-(?:(\d{2})|Q([1-4])|H([12])))?$")

    @staticmethod
    def parse(key: str) -> "ReportingPeriod":
        # Keys are read back from every stored row: parse each distinct key once.
        return _parse_period(key)

    @classmethod
    def _parse_uncached(cls, key: str) -> "ReportingPeriod":
        m = cls._KEY.match((key or "").strip().upper())
        if not m:
            raise ValueError(f"not a period key: {key!r}")
        year = int(m.group(1))
        if m.group(2):
            return cls("month", year, int(m.group(2)))
        if m.group(3):
            return cls("quarter", year, int(m.group(3)))
        if m.group(4):
            return cls("half_year", year, int(m.group(4)))
        return cls("year", year, 1)


@lru_cache(maxsize=1024)
def _periods_of_year(type: str, year: int) -> tuple[ReportingPeriod, ...]:
    return tuple(ReportingPeriod(type, year, i) for i in range(1, 12 // PERIOD_MONTHS[type] + 1))


@lru_cache(maxsize=4096)
def _parse_period(key: str) -> ReportingPeriod:
    return ReportingPeriod._parse_uncached(key)


# ------------------------------------------------------------------ deadlines
@dataclass(frozen=True)
class Deadline:
    """When a target is due: a month, a date, a period, recurring, the plan year, or not stated."""

    # ``_dt.date``: inside this class body the field ``date`` shadows the type.
    type: str = "none"
    year: int | None = None
    month: int | None = None
    date: _dt.date | None = None
    start: _dt.date | None = None
    end: _dt.date | None = None
    every: str | None = None
    text: str = ""

    def _year_month(self) -> tuple[int, int]:
        return _required(self.year, self, "year"), _required(self.month, self, "month")

    def end_date(self, plan_year: int) -> _dt.date | None:
        """The last day the target is due (recurring and year-long targets: 31/12 of the plan year)."""
        if self.type == "month":
            return last_day(*self._year_month())
        if self.type == "date":
            return self.date
        if self.type == "period":
            return self.end
        if self.type in ("recurring", "year"):
            return date(plan_year, 12, 31)
        return None

    def start_date(self, plan_year: int) -> _dt.date | None:
        if self.type == "month":
            year, month = self._year_month()
            return date(year, month, 1)
        if self.type == "date":
            return self.date
        if self.type == "period":
            return self.start
        if self.type in ("recurring", "year"):
            return date(plan_year, 1, 1)
        return None

    def due_periods(self, plan_year: int) -> list[ReportingPeriod]:
        """Recurring targets: every period of the plan year in which the work must be done."""
        if self.type != "recurring":
            return []
        return ReportingPeriod.periods_of_year(_required(self.every, self, "every"), plan_year)

    def label(self, plan_year: int | None = None) -> str:
        """Short Vietnamese form for tables: 'Tháng 03/2024', '31/08/2023', 'Hàng tháng', 'Năm 2025'."""
        if self.type == "month":
            return _t("Tháng {0:02d}/{1}").format(self.month, self.year)
        if self.type == "date":
            return fmt_date(self.date)
        if self.type == "period":
            return f"{fmt_date(self.start)} – {fmt_date(self.end)}"
        if self.type == "recurring":
            return _t(EVERY_LABELS[_required(self.every, self, "every")])
        if self.type == "year":
            return _t("Năm {0}").format(plan_year) if plan_year else _t("Trong năm kế hoạch")
        return _t("Không ghi thời hạn")

    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "month":
            out.update(year=self.year, month=self.month)
        elif self.type == "date":
            out["date"] = _required(self.date, self, "date").isoformat()
        elif self.type == "period":
            out.update(start=_required(self.start, self, "start").isoformat(),
                       end=_required(self.end, self, "end").isoformat())
        elif self.type == "recurring":
            out["every"] = self.every
        if self.text:
            out["text"] = self.text
        return out

    @classmethod
    def from_json(cls, d: Mapping) -> "Deadline":
        t = d.get("type", "none")
        text = nfc(d.get("text", ""))
        if t == "month":
            return cls("month", year=int(d["year"]), month=int(d["month"]), text=text)
        if t == "date":
            return cls("date", date=date.fromisoformat(d["date"]), text=text)
        if t == "period":
            return cls("period", start=date.fromisoformat(d["start"]), end=date.fromisoformat(d["end"]), text=text)
        if t == "recurring":
            return cls("recurring", every=d["every"], text=text)
        return cls(t, text=text)


class DeadlineParseError(ValueError):
    """A free-text deadline that cannot be understood; the message is Vietnamese."""


_D = r"(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4})"
_RE_PERIOD = re.compile(r"(?:từ\s+(?:ngày\s+)?)?" + _D + r"\s*(?:đến|–|-|—)\s*(?:ngày\s+)?" + _D)
_RE_DATE = re.compile(r"^(?:(?:hoàn thành|ban hành)\s+)?(?:trước\s+)?(?:ngày\s+)?" + _D + r"$")
_RE_DATE_WORDS = re.compile(r"^(?:trước\s+)?ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})$")
_RE_MONTH = re.compile(r"^(?:trong\s+)?(?:tháng|t)?\s*(\d{1,2})\s*(?:/|-|\.|\s+năm\s+)\s*(\d{4})$")
_RE_MONTH_NOYEAR = re.compile(r"^(?:trong\s+)?tháng\s+(\d{1,2})$")
_RE_QUARTER = re.compile(r"^(?:trong\s+)?quý\s+([ivx]+|[1-4])\s*(?:/|năm)?\s*(\d{4})?$")
_RE_HALF = re.compile(r"^6 tháng (đầu|cuối) năm\s*(\d{4})?$")
_RE_YEAR = re.compile(r"^(?:trong\s+)?(?:năm\s+)?(\d{4})$")
_RECURRING = (
    (re.compile(r"\b(?:hàng|hằng)\s+tháng\b|\bmỗi tháng\b"), "month"),
    (re.compile(r"\b(?:hàng|hằng)\s+quý\b|\bmỗi quý\b"), "quarter"),
    (re.compile(r"\b6 tháng (?:một|1) lần\b|\b(?:hàng|hằng) 6 tháng\b"), "half_year"),
    (re.compile(r"\b(?:hàng|hằng)\s+năm\b|\bmỗi năm\b"), "year"),
)
_ROMAN_Q = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_RE_TAIL_NOTE = re.compile(r"\s*\((?:dự kiến|du kien|tạm tính|chậm nhất)[^()]*\)\s*$")
_RE_LEAD_WORDS = re.compile(r"^(?:(?:hoàn thành|dự kiến|chậm nhất là|chậm nhất|vào|trong|đầu|giữa|cuối)\s+)+")
_RE_ONGOING = re.compile(r"^(?:thường xuyên|liên tục|thường xuyên, liên tục)$")
_RE_MONTH_SPAN = re.compile(r"^(?:tháng|t)\s*(\d{1,2})\s*(?:-|–|—|,|đến|tới)\s*(?:tháng\s*|t)?(\d{1,2})\s*"
                            r"(?:/|năm)\s*(\d{4})$")


def _mkdate(day: str, month: str, year: str, raw: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise DeadlineParseError(_t("Ngày '{0}' không tồn tại.").format(raw)) from None


def parse_deadline(text: Any, plan_year: int | None = None, date_only_month: bool = False) -> Deadline:
    """Read a deadline as written in the documents' tables.

    Accepts '3/2024', 'Tháng 12/2025', 'tháng 3 năm 2024', '31/8/2023', 'trước ngày 15/9/2023',
    'từ ngày 01/9/2023 đến ngày 30/11/2023', 'Quý I/2024', '6 tháng đầu năm 2024', 'Năm 2025',
    'Hàng tháng', 'Hằng quý', an empty cell (no deadline) and spreadsheet date cells (a date cell
    formatted without a day, e.g. 'mm/yyyy', is a month: pass `date_only_month=True`).
    Raises DeadlineParseError with a Vietnamese message.
    """
    if isinstance(text, datetime):
        text = text.date()
    if isinstance(text, date):
        if date_only_month:
            return Deadline("month", year=text.year, month=text.month, text=f"{text.month}/{text.year}")
        return Deadline("date", date=text, text=fmt_date(text))
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        text = str(int(text)) if float(text).is_integer() else str(text)
    raw = " ".join(nfc(str(text or "")).split())
    if not raw:
        return Deadline("none")
    low = raw.casefold().rstrip(" .;")
    for rx, every in _RECURRING:
        if rx.search(low):
            return Deadline("recurring", every=every, text=raw)
    # free text around the date as typed in real appendices: "Hoàn thành trong tháng 9/2025",
    # "Cuối tháng 10/2025", "Tháng 12/2025 (dự kiến)", "Thường xuyên", "Tháng 9-10/2025"
    low = _RE_TAIL_NOTE.sub("", low).strip(" .;,")
    low = _RE_LEAD_WORDS.sub("", low).strip()
    if _RE_ONGOING.match(low):
        return Deadline("year", text=raw)
    m = _RE_MONTH_SPAN.match(low)
    if m:
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if not (1 <= a <= 12 and 1 <= b <= 12) or b < a:
            raise DeadlineParseError(_t("Không hiểu khoảng tháng trong thời hạn '{0}'.").format(raw))
        return Deadline("period", start=date(year, a, 1), end=last_day(year, b), text=raw)
    m = _RE_PERIOD.search(low)
    if m:
        start = _mkdate(m.group(1), m.group(2), m.group(3), raw)
        end = _mkdate(m.group(4), m.group(5), m.group(6), raw)
        if end < start:
            raise DeadlineParseError(_t("Thời hạn '{0}': ngày kết thúc trước ngày bắt đầu.").format(raw))
        return Deadline("period", start=start, end=end, text=raw)
    m = _RE_DATE.match(low) or _RE_DATE_WORDS.match(low)
    if m:
        return Deadline("date", date=_mkdate(m.group(1), m.group(2), m.group(3), raw), text=raw)
    m = _RE_MONTH.match(low)
    if m:
        month, year = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise DeadlineParseError(_t("Tháng {0} trong thời hạn '{1}' không hợp lệ (1–12).").format(month, raw))
        return Deadline("month", year=year, month=month, text=raw)
    m = _RE_MONTH_NOYEAR.match(low)
    if m:
        month = int(m.group(1))
        if not 1 <= month <= 12:
            raise DeadlineParseError(_t("Tháng {0} trong thời hạn '{1}' không hợp lệ (1–12).").format(month, raw))
        if plan_year is None:
            raise DeadlineParseError(_t("Thời hạn '{0}' thiếu năm.").format(raw))
        return Deadline("month", year=plan_year, month=month, text=raw)
    m = _RE_QUARTER.match(low)
    if m:
        q = _ROMAN_Q.get(m.group(1)) or (int(m.group(1)) if m.group(1).isdigit() else 0)
        q_year = int(m.group(2)) if m.group(2) else plan_year
        if not q or q_year is None:
            raise DeadlineParseError(_t("Không hiểu thời hạn '{0}'.").format(raw))
        p = ReportingPeriod("quarter", q_year, q)
        return Deadline("period", start=p.start, end=p.end, text=raw)
    m = _RE_HALF.match(low)
    if m:
        h_year = int(m.group(2)) if m.group(2) else plan_year
        if h_year is None:
            raise DeadlineParseError(_t("Thời hạn '{0}' thiếu năm.").format(raw))
        p = ReportingPeriod("half_year", h_year, 1 if m.group(1) == "đầu" else 2)
        return Deadline("period", start=p.start, end=p.end, text=raw)
    m = _RE_YEAR.match(low)
    if m:
        year = int(m.group(1))
        if plan_year is None or year == plan_year:
            return Deadline("year", text=raw)
        return Deadline("period", start=date(year, 1, 1), end=date(year, 12, 31), text=raw)
    raise DeadlineParseError(
        _t("Không hiểu thời hạn '{0}'. Hãy ghi theo dạng 3/2024, Tháng 12/2025, 31/8/2023, Năm 2025 hoặc Hàng tháng.")
        .format(raw))


# ------------------------------------------------------------------ measures
@dataclass(frozen=True)
class Measure:
    """How a target is measured, with the direction and thresholds the status rules need.

    * ratio: numerator/denominator as a percentage against `target_percent`; `comparison` '>='
      (at least; "phấn đấu", "ít nhất") or '=' (exactly).
    * count: at least `minimum` occurrences `per` month/quarter/half_year/year/plan; `cumulative`
      means the count adds up over the `per` window (4 meetings in the year, in any quarters).
    * milestone: done, with the date it was done, by the deadline.
    * recurring: done in every period of type `every` (e.g. a monthly report).
    * qualitative: a narrative only; no threshold.
    """

    type: str = "qualitative"
    target_percent: float | None = None
    comparison: str = ">="
    numerator_label: str = ""
    denominator_label: str = ""
    minimum: int | None = None
    per: str | None = None
    cumulative: bool = False
    unit_label: str = ""
    every: str | None = None

    # --- what the status rules read ---------------------------------------------------------
    @property
    def is_quantitative(self) -> bool:
        return self.type in ("ratio", "count")

    @property
    def direction(self) -> str:
        """'at_least' (higher is better, reach the threshold), 'exactly', 'done' (milestone),
        'every_period' (recurring) or 'none' (qualitative)."""
        if self.type == "ratio":
            return "exactly" if self.comparison == "=" else "at_least"
        if self.type == "count":
            return "at_least"
        if self.type == "milestone":
            return "done"
        if self.type == "recurring":
            return "every_period"
        return "none"

    @property
    def threshold(self) -> float | None:
        """The number to reach: a percentage for ratios, the minimum for counts."""
        if self.type == "ratio":
            return self.target_percent
        if self.type == "count":
            return float(_required(self.minimum, self, "minimum"))
        return None

    @staticmethod
    def percent(numerator: float, denominator: float) -> float | None:
        """numerator/denominator in %, None when the denominator is 0 (nothing to measure yet)."""
        if not denominator:
            return None
        return 100.0 * float(numerator) / float(denominator)

    def meets(self, value: float | None) -> bool | None:
        """Does an achieved value (percent for ratio, count for count) reach the threshold?"""
        if value is None or self.threshold is None:
            return None
        if self.type == "ratio" and self.comparison == "=":
            return math.isclose(float(value), self.threshold, abs_tol=1e-9)
        return float(value) + 1e-9 >= self.threshold

    def ratio_met(self, numerator: float, denominator: float) -> bool | None:
        return self.meets(self.percent(numerator, denominator))

    def minimum_for(self, period: ReportingPeriod) -> int | None:
        """Occurrences required within `period` for a count measure.

        Per-period counts scale (4/year -> 8 over two years, 1/quarter -> 3 per quarter when the
        minimum is per month); a cumulative count is only judged on its whole window, so a shorter
        period has no minimum of its own (None). Counts over the whole plan: None.
        """
        if self.type != "count" or self.per == "plan":
            return None
        minimum, per = self._count()
        per_months = PERIOD_MONTHS[per]
        if period.months >= per_months:
            return minimum * (period.months // per_months)
        if self.cumulative:
            return None
        return math.ceil(minimum * period.months / per_months)

    def expected_by(self, as_of: date) -> int | None:
        """Pro-rata count a cumulative target should have reached by `as_of` within its window
        (e.g. 4/year: 1 by the end of March, 2 by the end of June) — for an 'on track' rule."""
        if self.type != "count" or self.per == "plan" or not self.cumulative:
            return None
        minimum, per = self._count()
        window = ReportingPeriod.containing(per, as_of)
        done_months = (as_of.month - window.start.month) + (1 if as_of == last_day(as_of.year, as_of.month) else 0)
        return math.ceil(minimum * done_months / window.months)

    def _count(self) -> tuple[int, str]:
        """A count measure's minimum and the window it is counted over."""
        return _required(self.minimum, self, "minimum"), _required(self.per, self, "per")

    def due_periods(self, plan_year: int) -> list[ReportingPeriod]:
        if self.type != "recurring":
            return []
        return ReportingPeriod.periods_of_year(_required(self.every, self, "every"), plan_year)

    # --- display ----------------------------------------------------------------------------
    @property
    def label(self) -> str:
        if self.type == "ratio":
            sign = "=" if self.comparison == "=" else "≥"
            return _t("Tỷ lệ {0} {1}").format(sign, fmt_percent_value(self.target_percent))
        if self.type == "count":
            what = self.unit_label or _t("lần")
            minimum, per = self._count()
            if per == "plan":
                return _t("Tối thiểu {0} {1} (cả kỳ kế hoạch)").format(minimum, what)
            return _t("Tối thiểu {0} {1}/{2}").format(minimum, what, _t(PER_LABELS[per]))
        if self.type == "milestone":
            return _t("Mốc hoàn thành")
        if self.type == "recurring":
            return _t("Thực hiện {0}").format(_t(EVERY_LABELS[_required(self.every, self, "every")]).lower())
        return _t("Định tính")

    @property
    def type_label(self) -> str:
        return _t(MEASURE_LABELS[self.type])

    def to_json(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        if self.type == "ratio":
            tp = _required(self.target_percent, self, "target_percent")
            out["target_percent"] = int(tp) if float(tp).is_integer() else tp
            out["comparison"] = self.comparison
            if self.numerator_label:
                out["numerator_label"] = self.numerator_label
            if self.denominator_label:
                out["denominator_label"] = self.denominator_label
        elif self.type == "count":
            out.update(minimum=self.minimum, per=self.per, cumulative=self.cumulative)
            if self.unit_label:
                out["unit_label"] = self.unit_label
        elif self.type == "recurring":
            out["every"] = self.every
        return out

    @classmethod
    def from_json(cls, d: Mapping) -> "Measure":
        t = d.get("type", "qualitative")
        if t == "ratio":
            return cls("ratio", target_percent=float(d["target_percent"]), comparison=d.get("comparison", ">="),
                       numerator_label=nfc(d.get("numerator_label", "")),
                       denominator_label=nfc(d.get("denominator_label", "")))
        if t == "count":
            return cls("count", minimum=int(d["minimum"]), per=d["per"], cumulative=bool(d.get("cumulative", False)),
                       unit_label=nfc(d.get("unit_label", "")))
        if t == "recurring":
            return cls("recurring", every=d["every"])
        return cls(t)


_PER_WORDS = {"tháng": "month", "quý": "quarter", "năm": "year", "6 tháng": "half_year"}
_RE_COUNT = re.compile(
    r"(?:tối thiểu|ít nhất)\s+(\d+)\s*([^\d/()]*?)\s*/\s*(?:0?1\s+)?(6 tháng|tháng|quý|năm)")
_RE_RATIO = re.compile(r"(?:^|\b(?:phấn đấu|đạt|ít nhất|tối thiểu|trên|từ)\s+)(≥|>=|=)?\s*(\d{1,3}(?:[.,]\d+)?)\s*%")
_RE_RATIO_LABEL = re.compile(r"^tỷ lệ\s*(≥|>=|=)?\s*(\d{1,3}(?:[.,]\d+)?)\s*%$")
_RE_COUNT_LABEL = re.compile(r"^tối thiểu\s+(\d+)\s*(.*?)\s*(?:/\s*(6 tháng|tháng|quý|năm)|\(cả kỳ kế hoạch\))$")


def _pct(s: str) -> float:
    return float(s.replace(",", "."))


def parse_measure(text: Any) -> Measure:
    """Read a measure written as this app exports it ('Tỷ lệ ≥ 100%', 'Tối thiểu 4 lần/năm',
    'Mốc hoàn thành', 'Thực hiện hàng tháng', 'Định tính'). Raises ValueError (Vietnamese)."""
    raw = " ".join(nfc(str(text or "")).split())
    low = raw.casefold().rstrip(" .")
    m = _RE_RATIO_LABEL.match(low)
    if m:
        pct = _pct(m.group(2))
        if not 0 < pct <= 100:
            raise ValueError(_t("Tỷ lệ {0}% phải lớn hơn 0 và không quá 100%.").format(m.group(2)))
        return Measure("ratio", target_percent=pct, comparison="=" if m.group(1) == "=" else ">=")
    m = _RE_COUNT_LABEL.match(low)
    if m:
        what = raw[len("Tối thiểu "):].split("/")[0].split("(")[0].strip()
        what = what[len(m.group(1)):].strip()
        per = _PER_WORDS[m.group(3)] if m.group(3) else "plan"
        return Measure("count", minimum=int(m.group(1)), per=per, cumulative=True,
                       unit_label="" if what == _t("lần") else what)
    if low in ("mốc", "mốc hoàn thành", "milestone"):
        return Measure("milestone")
    for rx, every in _RECURRING:
        if rx.search(low):
            return Measure("recurring", every=every)
    if low in ("định tính", "qualitative", ""):
        return Measure("qualitative")
    raise ValueError(_t("Không hiểu chỉ tiêu/đo lường '{0}'. Ví dụ hợp lệ: Tỷ lệ ≥ 100%, Tối thiểu 4 lần/năm, "
                        "Mốc hoàn thành, Thực hiện hàng tháng, Định tính.").format(raw))


def infer_measure(text: str, deadline: Deadline, expected_result: str = "") -> Measure:
    """Guess how a target is measured from its wording, as a person reading the appendix would:
    '100% …' is a ratio, 'tối thiểu 04 lần/01 năm' a count, a recurring deadline makes it recurring,
    a dated deliverable a milestone, anything else qualitative."""
    low = " ".join(nfc(text).casefold().split())
    m = _RE_COUNT.search(low)
    if m:
        what = m.group(2).strip() or _t("lần")
        return Measure("count", minimum=int(m.group(1)), per=_PER_WORDS[m.group(3)], cumulative=True,
                       unit_label="" if what == _t("lần") else what)
    m = _RE_RATIO.search(low)
    if m:
        pct = _pct(m.group(2))
        if 0 < pct <= 100:
            return Measure("ratio", target_percent=pct, comparison="=" if m.group(1) == "=" else ">=")
    if deadline.type == "recurring":
        return Measure("recurring", every=deadline.every)
    if deadline.type in ("month", "date", "period", "year") or expected_result.strip():
        return Measure("milestone")
    return Measure("qualitative")


# ------------------------------------------------------------------ recurrence
@dataclass(frozen=True)
class Recurrence:
    """A target judged again in every period of type `every` within a window.

    Any measure kind recurs: a ratio each quarter ("100% công chức được tập huấn … định kỳ mỗi
    quý/1 lần"), a count per month, a milestone or report done every month. The window runs from
    `start` to `end` (both inclusive); either end left open falls back on the target's deadline
    (a period deadline gives both ends) and then on the plan year. A period counts when it
    overlaps the window: a quarterly task in a pilot from 01/9 to 30/11 is due in Q3 and Q4.
    """

    every: str
    start: date | None = None
    end: date | None = None
    text: str = ""

    def window(self, plan_year: int, deadline: "Deadline | None" = None) -> tuple[date, date]:
        start, end = self.start, self.end
        if deadline is not None and deadline.type == "period":
            start = start or deadline.start
            end = end or deadline.end
        elif deadline is not None and deadline.type in ("date", "month"):
            end = end or deadline.end_date(plan_year)
        start = start or date(plan_year, 1, 1)
        end = end or date(plan_year, 12, 31)
        return start, max(start, end)

    def due_periods(self, plan_year: int, deadline: "Deadline | None" = None) -> list[ReportingPeriod]:
        """Every `every` period that overlaps the window, in order."""
        start, end = self.window(plan_year, deadline)
        out, p = [], ReportingPeriod.containing(self.every, start)
        while p.start <= end:
            out.append(p)
            p = p.next()
        return out

    def label(self, plan_year: int | None = None, deadline: "Deadline | None" = None) -> str:
        """'Hàng quý (01/09/2023 – 30/11/2023)', 'Hàng tháng'."""
        base = _t(EVERY_LABELS[self.every])
        if self.start is None and self.end is None:
            return base
        if plan_year is None:
            return f"{base} ({fmt_date(self.start)} – {fmt_date(self.end)})"
        s, e = self.window(plan_year, deadline)
        return f"{base} ({fmt_date(s)} – {fmt_date(e)})"

    def to_json(self) -> dict:
        out: dict[str, Any] = {"every": self.every}
        if self.start:
            out["start"] = self.start.isoformat()
        if self.end:
            out["end"] = self.end.isoformat()
        if self.text:
            out["text"] = self.text
        return out

    @classmethod
    def from_json(cls, d: Mapping) -> "Recurrence":
        return cls(d["every"], date.fromisoformat(d["start"]) if d.get("start") else None,
                   date.fromisoformat(d["end"]) if d.get("end") else None, nfc(d.get("text", "")))


def effective_recurrence(target: Any) -> Recurrence | None:
    """`target.recurrence` when set, else the one a recurring measure implies (its `every`, else
    the deadline's, else monthly). Works on anything with `.measure` and `.deadline`."""
    rec = getattr(target, "recurrence", None)
    if isinstance(rec, Recurrence) and rec.every in PERIOD_TYPES:
        return rec
    m, d = target.measure, target.deadline
    if m.type != "recurring":
        return None
    every = m.every if m.every in PERIOD_TYPES else d.every if getattr(d, "every", None) in PERIOD_TYPES else "month"
    return Recurrence(every)


def parse_recurrence(text: Any) -> Recurrence | None:
    """'định kỳ mỗi quý/1 lần', 'Hằng tháng', 'hàng năm' in a target's wording → a Recurrence
    over the plan year (None when the wording has no frequency)."""
    low = " ".join(nfc(str(text or "")).casefold().split())
    if re.search(r"mỗi quý\s*/\s*(?:0?1)\s*lần|quý\s*/\s*(?:0?1)\s*lần", low):
        return Recurrence("quarter", text=nfc(str(text)))
    if re.search(r"mỗi tháng\s*/\s*(?:0?1)\s*lần|tháng\s*/\s*(?:0?1)\s*lần", low):
        return Recurrence("month", text=nfc(str(text)))
    for rx, every in _RECURRING:
        if rx.search(low):
            return Recurrence(every, text=nfc(str(text)))
    return None


# ------------------------------------------------------------------ who reports on a target
_VKS = re.compile(r"\bvien kiem sat nhan dan\b|\bvien ksnd\b|\bvks\s*nd\b")


@lru_cache(maxsize=8192)
def unit_key(name: str) -> str:
    """A unit name compared the way people write it: accents, case, punctuation and the
    'Viện kiểm sát nhân dân'/'VKSND' spelling ignored ('VKSND tỉnh Quảng Ninh' ==
    'Viện kiểm sát nhân dân tỉnh Quảng Ninh')."""
    key = fold(nfc(name or ""))
    key = _VKS.sub("vksnd", key)
    key = re.sub(r"[^a-z0-9]+", " ", key)
    return " ".join(key.split())


@dataclass(frozen=True)
class UnitIdentity:
    """Who is asking: a unit's code, level and names (full and short)."""

    code: str
    level: str
    names: tuple[str, ...] = ()

    @cached_property
    def keys(self) -> frozenset[str]:
        return frozenset(k for k in (unit_key(n) for n in self.names if n) if k)

    def is_named(self, name_or_ref: "str | UnitRef") -> bool:
        if isinstance(name_or_ref, UnitRef):
            if name_or_ref.code and self.code:
                return name_or_ref.code == self.code
            name_or_ref = name_or_ref.name
        return unit_key(name_or_ref) in self.keys


ROLE_LABELS = {"lead": "Chủ trì", "coordinating": "Phối hợp", "reporting": "Báo cáo"}


@dataclass(frozen=True)
class _Assignment:
    """A target's assignment with every unit name normalised once (unit_key)."""

    levels: tuple[str, ...]
    lead: frozenset[str]
    coordinating: frozenset[str]
    reporting_codes: frozenset[str]
    reporting_names: frozenset[str]
    has_reporting: bool

    @classmethod
    def of(cls, target: "Target", plan: "Plan | None") -> "_Assignment":
        refs = target.reporting_units
        return cls(target.applies_to_levels or (plan.applies_to_levels if plan is not None else ()),
                   frozenset(unit_key(u) for u in target.lead_units) - {""},
                   frozenset(unit_key(u) for u in target.coordinating_units) - {""},
                   frozenset(u.code for u in refs if u.code),
                   frozenset(unit_key(u.name) for u in refs if not u.code) - {""}, bool(refs))

    def role(self, unit: UnitIdentity) -> str | None:
        keys = unit.keys
        named_lead = not self.lead.isdisjoint(keys)
        if self.has_reporting:
            reports = unit.code in self.reporting_codes or not self.reporting_names.isdisjoint(keys) or named_lead
        else:
            reports = not self.levels or unit.level in self.levels or named_lead
        if not reports:
            return None
        return "lead" if named_lead else "coordinating" if not self.coordinating.isdisjoint(keys) else "reporting"


def target_role(target: "Target", plan: "Plan | None", unit: UnitIdentity) -> str | None:
    """How `unit` stands towards `target`: 'lead', 'coordinating', 'reporting' or None (the
    target is not the unit's to report on).

    1. A target listing `reporting_units` is reported by exactly those units (matched by code when
       the list gives one, else by name).
    2. Otherwise by every unit of the target's levels (the plan's when the target names none;
       every level when neither does).
    3. A unit named as the lead unit reports on it whatever its level. Being named as a
       coordinating unit alone does not put a report on a unit (MT08: VKSND tỉnh Quảng Ninh
       coordinates; every province reports because the target is for the provincial level).
    A unit that reports is 'lead' or 'coordinating' when named so, else 'reporting'.
    """
    return _Assignment.of(target, plan).role(unit)


def targets_applicable(plan: "Plan", unit: UnitIdentity) -> list["Target"]:
    """The targets of `plan` that `unit` reports on, in plan order."""
    return applicability(plan, [unit]).get(unit.code, [])


def applicability(plan: "Plan", units: "Iterable[UnitIdentity]") -> dict[str, list["Target"]]:
    """unit code → the targets of `plan` it reports on (each target's assignment read once)."""
    index = [(t, _Assignment.of(t, plan)) for t in plan.targets]
    named = frozenset().union(*(a.lead | a.reporting_names for _, a in index)) if index else frozenset()
    codes = frozenset().union(*(a.reporting_codes for _, a in index)) if index else frozenset()
    by_level: dict[str, list[Target]] = {}  # a unit the plan does not name: its level decides
    out = {}
    for u in units:
        if u.code not in codes and named.isdisjoint(u.keys):
            if u.level not in by_level:
                by_level[u.level] = [t for t, a in index if a.role(u) is not None]
            out[u.code] = by_level[u.level]
        else:
            out[u.code] = [t for t, a in index if a.role(u) is not None]
    return out


# ------------------------------------------------------------------ plan, groups, targets
@dataclass(frozen=True)
class UnitRef:
    name: str
    code: str = ""

    @classmethod
    def from_json(cls, d: Mapping) -> "UnitRef":
        return cls(nfc(d["name"]), nfc(d.get("code", "")))


@dataclass(frozen=True)
class Target:
    code: str
    kind: str
    text: str
    deadline: Deadline
    measure: Measure
    lead_units: tuple[str, ...] = ()
    coordinating_units: tuple[str, ...] = ()
    expected_result: str = ""
    exclusion_note: str = ""
    evidence_required: bool = False
    applies_to_levels: tuple[str, ...] = ()
    source_ref: str = ""
    group_code: str = ""
    reporting_units: tuple[UnitRef, ...] = ()
    assignment_note: str = ""
    recurrence: "Recurrence | None" = None

    @property
    def kind_label(self) -> str:
        return _t(TARGET_KIND_LABELS.get(self.kind, self.kind))

    def applies_to(self, level: str) -> bool:
        return not self.applies_to_levels or level in self.applies_to_levels

    @property
    def effective_recurrence(self) -> "Recurrence | None":
        """The recurrence the status rules apply: the stated one, else the one a recurring measure
        implies ("Thực hiện hàng tháng" without a window: every month of the plan year)."""
        return effective_recurrence(self)

    @property
    def levels_label(self) -> str:
        return ", ".join(_t(LEVEL_LABELS[lv]) for lv in self.applies_to_levels)

    def search_text(self) -> str:
        """Accent-folded text the search box matches against."""
        return fold(" ".join([self.code, self.text, *self.lead_units, *self.coordinating_units,
                              self.expected_result, self.exclusion_note]))

    @classmethod
    def from_json(cls, d: Mapping, group_code: str = "") -> "Target":
        return cls(
            code=d["code"], kind=d["kind"], text=nfc(d["text"]),
            deadline=Deadline.from_json(d["deadline"]), measure=Measure.from_json(d["measure"]),
            lead_units=tuple(nfc(u) for u in d.get("lead_units", ())),
            coordinating_units=tuple(nfc(u) for u in d.get("coordinating_units", ())),
            expected_result=nfc(d.get("expected_result", "")), exclusion_note=nfc(d.get("exclusion_note", "")),
            evidence_required=bool(d.get("evidence_required", False)),
            applies_to_levels=tuple(d.get("applies_to_levels", ())), source_ref=nfc(d.get("source_ref", "")),
            group_code=group_code,
            reporting_units=tuple(UnitRef.from_json(u) for u in d.get("reporting_units", ()) if u),
            assignment_note=nfc(d.get("assignment_note", "")),
            recurrence=Recurrence.from_json(d["recurrence"]) if d.get("recurrence") else None)


@dataclass(frozen=True)
class PlanGroup:
    code: str
    title: str
    targets: tuple[Target, ...]
    source_ref: str = ""
    title_missing: bool = False

    @property
    def display_title(self) -> str:
        """The title as shown and printed; a group whose title the source does not give says so."""
        if self.title_missing:
            return _t("{0} (chưa rõ tên)").format(self.title)
        return self.title


@dataclass(frozen=True)
class SourceDocument:
    file: str
    description: str = ""


@dataclass(frozen=True)
class Plan:
    id: str
    kind: str
    symbol: str
    title: str
    issuing_unit: UnitRef
    year: int
    version: int
    groups: tuple[PlanGroup, ...]
    number: str | None = None
    parent_unit: UnitRef | None = None
    place_name: str = ""
    issue_date: date | None = None
    issue_date_text: str = ""
    legal_bases: tuple[str, ...] = ()
    source_document: SourceDocument | None = None
    applies_to_levels: tuple[str, ...] = ()
    period_types: tuple[str, ...] = ()
    submission_deadlines: tuple[tuple[str, int], ...] = ()
    principles: tuple[str, ...] = ()
    notes: str = ""
    ocr_fixes: tuple[tuple[str, str, str], ...] = field(default=(), repr=False)

    @property
    def targets(self) -> tuple[Target, ...]:
        return tuple(t for g in self.groups for t in g.targets)

    def iter_targets(self) -> Iterator[tuple[PlanGroup, Target]]:
        for g in self.groups:
            for t in g.targets:
                yield g, t

    def target(self, code: str) -> Target | None:
        return next((t for t in self.targets if t.code == code), None)

    def group(self, code: str) -> PlanGroup | None:
        return next((g for g in self.groups if g.code == code), None)

    @property
    def kind_label(self) -> str:
        return _t(PLAN_KIND_LABELS.get(self.kind, self.kind))

    @property
    def reference(self) -> str:
        """Number and symbol as written on the document: '136/HD-VKS-VP', '08-KH/ĐU', '/KH-VKSTC'.

        Party documents (symbol with '/', e.g. 'KH/ĐU') join the number with a hyphen.
        """
        sep = "-" if "/" in self.symbol else "/"
        if self.number:
            return f"{self.number}{sep}{self.symbol}"
        return f"{sep}{self.symbol}" if sep == "/" else f"…-{self.symbol}"

    @property
    def issue_date_label(self) -> str:
        return fmt_date(self.issue_date) if self.issue_date else self.issue_date_text

    def submission_days(self, period_type: str) -> int | None:
        return dict(self.submission_deadlines).get(period_type)

    def submission_deadline(self, period: ReportingPeriod) -> date | None:
        """When the report for `period` is due, as set by the plan's owner (None when not set)."""
        days = self.submission_days(period.type)
        return None if days is None else period.submission_deadline(days)

    def reporting_periods(self, period_type: str) -> list[ReportingPeriod]:
        return ReportingPeriod.periods_of_year(period_type, self.year)


def plan_from_document(doc: Mapping) -> Plan:
    """Build the domain view of a valid plan document (validate it first: plans.validate_document)."""
    groups = []
    for g in doc["groups"]:
        targets = tuple(Target.from_json(t, g["code"]) for t in g["targets"])
        groups.append(PlanGroup(g["code"], nfc(g["title"]), targets, nfc(g.get("source_ref", "")),
                                bool(g.get("title_missing", False))))
    src = doc.get("source_document")
    return Plan(
        id=doc["id"], kind=doc["kind"], symbol=nfc(doc["symbol"]), title=nfc(doc["title"]),
        issuing_unit=UnitRef.from_json(doc["issuing_unit"]), year=int(doc["year"]), version=int(doc["version"]),
        groups=tuple(groups), number=doc.get("number"),
        parent_unit=UnitRef.from_json(parent) if (parent := doc.get("parent_unit")) else None,
        place_name=nfc(doc.get("place_name", "")),
        issue_date=date.fromisoformat(doc["issue_date"]) if doc.get("issue_date") else None,
        issue_date_text=nfc(doc.get("issue_date_text", "")),
        legal_bases=tuple(nfc(x) for x in doc.get("legal_bases", ())),
        source_document=SourceDocument(src["file"], nfc(src.get("description", ""))) if src else None,
        applies_to_levels=tuple(doc.get("applies_to_levels", ())), period_types=tuple(doc.get("period_types", ())),
        submission_deadlines=tuple(sorted(doc.get("submission_deadlines", {}).items(),
                                          key=lambda kv: PERIOD_TYPES.index(kv[0]))),
        principles=tuple(nfc(x) for x in doc.get("principles", ())), notes=nfc(doc.get("notes", "")),
        ocr_fixes=tuple((f["where"], f["original"], f["fixed"]) for f in doc.get("ocr_fixes", ())),
    )


# ------------------------------------------------------------------ problems found in plan files
FIELD_LABELS = {
    "text": "Mục tiêu/nhiệm vụ", "code": "Mã", "kind": "Loại", "lead_units": "Đơn vị chủ trì",
    "coordinating_units": "Đơn vị phối hợp", "deadline": "Thời gian hoàn thành", "expected_result": "Kết quả",
    "measure": "Chỉ tiêu/đo lường", "exclusion_note": "Ghi chú loại trừ", "evidence_required": "Cần minh chứng",
    "applies_to_levels": "Cấp áp dụng", "source_ref": "Vị trí trong văn bản",
    "reporting_units": "Đơn vị báo cáo", "assignment_note": "Căn cứ giao nhiệm vụ", "recurrence": "Định kỳ", "title": "Tên", "group": "Nhóm",
    "id": "Mã kế hoạch", "number": "Số", "symbol": "Ký hiệu", "year": "Năm", "issuing_unit": "Đơn vị ban hành",
    "issue_date": "Ngày ban hành", "legal_bases": "Căn cứ", "period_types": "Kỳ báo cáo",
    "submission_deadlines": "Hạn gửi báo cáo", "notes": "Ghi chú", "place_name": "Địa danh",
}


@dataclass(frozen=True)
class PlanProblem:
    """One problem in a plan file or spreadsheet, located precisely enough to fix it.

    `file` is the file name, `target`/`group` the codes involved, `field` the JSON path inside the
    document (e.g. ``groups[1].targets[3].deadline.month``), `row`/`column` the spreadsheet cell
    when the plan came from Excel. `message` is Vietnamese.
    """

    file: str
    message: str
    field: str = ""
    target: str = ""
    group: str = ""
    row: int | None = None
    column: str = ""
    cell: str = ""  # the spreadsheet cell ("C12"), or the Word table ("bảng 1") the row is in

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        is_ref = bool(re.fullmatch(r"[A-Z]{1,3}\d+", self.cell))
        if self.cell and not is_ref:
            parts.append(self.cell)
        if self.row is not None:
            parts.append(_t("dòng {0}").format(self.row))
        if self.column:
            parts.append(_t("cột '{0}'").format(self.column) + (_t(" (ô {0})").format(self.cell) if is_ref else ""))
        elif is_ref:
            parts.append(_t("ô {0}").format(self.cell))
        if self.target:
            parts.append(_t("mục tiêu {0}").format(self.target))
        elif self.group:
            parts.append(_t("nhóm {0}").format(self.group))
        if self.field and self.row is None:
            parts.append(_t("trường {0}").format(self.field))
        return ", ".join(parts)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message

    def to_json(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "cell": self.cell, "group": self.group,
                "target": self.target, "field": self.field, "message": self.message}
