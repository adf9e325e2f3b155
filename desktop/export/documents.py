"""What to print: plain, immutable descriptions of the printed documents.

These dataclasses carry *already decided* content (no database access, no Qt,
no ReportLab).  The database layer fills them; :mod:`desktop.export.pdf` and
:mod:`desktop.export.xlsx` render them.

Conventions

* Text fields are free Unicode; every string is normalised to NFC on
  construction.  Names may be given in natural case ("Viện kiểm sát nhân dân
  tỉnh Thanh Hóa") or already in capitals: the renderers upper-case what
  Nghị định 30/2020/NĐ-CP prints in capitals (agency names in the header,
  the document type, the signer's authority and title).
* Percentages are **fractions** (``0.967`` means 96,7 %), ``None`` when not
  applicable.
* Sequences given as lists are stored as tuples, mappings are copied, so a
  document does not change after it has been handed to a renderer.
* Multi-paragraph text uses one paragraph per line (``"\\n"``); blank lines
  are ignored.
"""

from __future__ import annotations

import datetime as _dt
import enum
import re
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Literal, Mapping, Sequence

from desktop.models.domain.status import Progress

from .vnformat import (
    EMPTY,
    date_words,
    fmt_date,
    fmt_percent,
    fmt_ratio,
    group_fingerprint,
    nfc,
    place_date_line,
    short_hash,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = [
    "Progress",
    "NOT_REPORTED_ABBREV",
    "NOT_REPORTED_LABEL",
    "RETURNED_LABEL",
    "SECTION_KEYS",
    "SECTION_TITLES",
    "ReportHeader",
    "SignatureBlock",
    "Verification",
    "AppendixRow",
    "GroupCompletion",
    "UnitReportDoc",
    "UnitRef",
    "TargetRef",
    "MatrixCell",
    "Submission",
    "ReportingRate",
    "ConsolidatedReportDoc",
    "NoticeDoc",
    "NoticeItem",
    "SIGNING_AUTHORITIES",
    "NUMBER_BLANK",
    "RecoverySheetDoc",
    "EnrolmentFormDoc",
    "DEFAULT_RECOVERY_WHEN",
    "DEFAULT_RECOVERY_HOW",
    "DEFAULT_RECOVERY_WARNINGS",
    "paragraphs",
]


# --------------------------------------------------------------------------- helpers


def paragraphs(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Split text into non-empty, stripped NFC paragraphs (one per line)."""
    if text is None:
        return ()
    if isinstance(text, str):
        items: Sequence[str] = text.splitlines()
    else:
        items = [line for chunk in text for line in nfc(chunk).splitlines()]
    return tuple(p for p in (nfc(x).strip() for x in items) if p)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and not isinstance(value, enum.Enum)


def _freeze(obj: DataclassInstance) -> None:
    """NFC every str field, turn lists into tuples (used in ``__post_init__``)."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if _is_text(value):
            object.__setattr__(obj, f.name, nfc(value))
        elif isinstance(value, (list, tuple)):
            object.__setattr__(
                obj, f.name, tuple(nfc(v) if _is_text(v) else v for v in value)
            )


def _strip_prefix(text: str, prefix_re: str) -> str:
    return re.sub(prefix_re, "", nfc(text).strip(), flags=re.IGNORECASE).strip()


# --------------------------------------------------------------------------- status


# The one progress enum is the domain's (desktop.models.domain.status.Progress, re-exported here for the
# renderers); documents print its label and abbreviation.

#: Printed for a unit × target cell when the unit has not reported.
NOT_REPORTED_ABBREV = EMPTY
NOT_REPORTED_LABEL = "Chưa báo cáo"
#: Printed for a unit whose report was returned for revision and not re-sent yet.
RETURNED_LABEL = "Đã trả lại"


# --------------------------------------------------------------------------- report parts

#: The six narrative sections of a unit report, in order.
SECTION_KEYS: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI")
SECTION_TITLES: Mapping[str, str] = {
    "I": "Công tác chỉ đạo, triển khai",
    "II": "Kết quả thực hiện",
    "III": "Tồn tại, hạn chế",
    "IV": "Khó khăn, vướng mắc",
    "V": "Phương hướng kỳ tới",
    "VI": "Đề xuất, kiến nghị",
}
_ARABIC_TO_ROMAN = {str(i + 1): k for i, k in enumerate(SECTION_KEYS)}


#: The blank left for the number the records office (văn thư) writes by hand when the document
#: is registered: no-break spaces, which the renderers never collapse (about 15 mm at 13 pt).
NUMBER_BLANK = "\u00a0" * 13


def _number_body(number_symbol: str) -> str:
    """``"05/BC-VKSKV1"``; a number still to be assigned (``"/BC-…"``) gets :data:`NUMBER_BLANK`."""
    body = _strip_prefix(number_symbol, r"^số\s*:?\s*")
    if body.startswith("/"):
        return NUMBER_BLANK + body
    return body


@dataclass(frozen=True)
class ReportHeader:
    """The NĐ 30 heading of an administrative document.

    ``number_symbol`` and ``recipients_line`` may be given with or without
    their "Số:" / "Kính gửi:" prefixes.  ``unit_name`` is the issuing unit as
    written inside a sentence ("Viện kiểm sát nhân dân khu vực 1 - Thanh
    Hóa"); it defaults to ``issuing_unit``.
    """

    parent_agency: str
    issuing_unit: str
    number_symbol: str
    place: str
    date: _dt.date
    title: str = "BÁO CÁO"
    subject: str = ""
    recipients_line: str = ""
    unit_name: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    @property
    def number_line(self) -> str:
        """``"Số: 05/BC-VKSKV1"``; ``"Số:`` + a 15 mm blank + ``/BC-VKSKV1"`` while the number
        is to be assigned (``number_symbol`` starting with "/")."""
        body = _number_body(self.number_symbol)
        if body.startswith(NUMBER_BLANK):
            return nfc(f"Số:{body}")
        return nfc(f"Số: {body}") if body else "Số:"

    @property
    def number(self) -> str:
        """The number and symbol, ``"05/BC-VKSKV1"`` (with the blank when not yet assigned)."""
        return _number_body(self.number_symbol)

    @property
    def place_date(self) -> str:
        return place_date_line(self.place, self.date)

    @property
    def recipients(self) -> str:
        """``"Kính gửi: …"`` or ``""``."""
        body = _strip_prefix(self.recipients_line, r"^kính\s+gửi\s*:?\s*")
        return nfc(f"Kính gửi: {body}") if body else ""

    @property
    def unit_in_sentence(self) -> str:
        return self.unit_name or self.issuing_unit

    @property
    def date_words(self) -> str:
        return date_words(self.date)


#: Signing authority (thẩm quyền ký, NĐ 30 Điều 13 and Phụ lục I mục 7): key → label shown to
#: the user and the prefix printed before the head's title.
SIGNING_AUTHORITIES: Mapping[str, tuple[str, str]] = {
    "truc_tiep": ("Thủ trưởng ký trực tiếp", ""),
    "ky_thay": ("Ký thay (KT.) Thủ trưởng", "KT."),
    "thua_lenh": ("Thừa lệnh (TL.) Thủ trưởng", "TL."),
    "thay_mat": ("Thay mặt (TM.) tập thể lãnh đạo", "TM."),
    "quyen": ("Quyền (Q.) Thủ trưởng", "Q."),
}


@dataclass(frozen=True)
class SignatureBlock:
    """Authority, title and name of the signer.

    ``authority`` is the delegation line ("KT. VIỆN TRƯỞNG", "TL. VIỆN
    TRƯỞNG", "Q. VIỆN TRƯỞNG") and is empty when the head signs in person;
    ``title`` is the position ("PHÓ VIỆN TRƯỞNG"); ``note`` is printed in the
    signature space, e.g. "(Đã ký)" on a copy.
    """

    authority: str = ""
    title: str = ""
    name: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    @classmethod
    def compose(cls, authority: str, head_title: str, signer_title: str = "", name: str = "",
                collective: str = "") -> "SignatureBlock":
        """The block for a signing authority (see :data:`SIGNING_AUTHORITIES`).

        * ``truc_tiep``: "VIỆN TRƯỞNG" / name;
        * ``ky_thay``: "KT. VIỆN TRƯỞNG" / "PHÓ VIỆN TRƯỞNG" / name;
        * ``thua_lenh``: "TL. VIỆN TRƯỞNG" / "CHÁNH VĂN PHÒNG" / name;
        * ``thay_mat``: "TM. <collective>" / "VIỆN TRƯỞNG" (the signer's title) / name;
        * ``quyen``: "Q. VIỆN TRƯỞNG" / name.
        """
        if authority not in SIGNING_AUTHORITIES:
            raise ValueError(f"unknown signing authority {authority!r}")
        head = nfc(head_title).strip()
        own = nfc(signer_title).strip()
        prefix = SIGNING_AUTHORITIES[authority][1]
        if authority == "truc_tiep":
            return cls(title=head, name=name)
        if authority == "quyen":
            return cls(authority=f"{prefix} {head}", name=name)
        if authority == "thay_mat":
            return cls(authority=f"{prefix} {nfc(collective).strip() or head}", title=own or head, name=name)
        return cls(authority=f"{prefix} {head}", title=own, name=name)


@dataclass(frozen=True)
class Verification:
    """What lets a reader check a printed report against its electronic bundle.

    ``bundle_sha256`` is the hex SHA-256 of the exported bundle, ``None``
    while the report has not been packaged; ``key_fingerprint`` is the
    signing key's fingerprint as shown in the app ("12345 67890 13579 24680").
    """

    bundle_sha256: str | None
    key_fingerprint: str

    def __post_init__(self) -> None:
        sha = self.bundle_sha256
        if sha is not None:
            sha = sha.strip().lower()
            if not re.fullmatch(r"[0-9a-f]{64}", sha):
                raise ValueError("bundle_sha256 must be 64 hex digits")
        object.__setattr__(self, "bundle_sha256", sha or None)
        object.__setattr__(self, "key_fingerprint", group_fingerprint(self.key_fingerprint))

    @property
    def packaged(self) -> bool:
        return self.bundle_sha256 is not None

    @property
    def short_sha256(self) -> str:
        """First 16 hex digits in groups of 4, ``""`` when not packaged."""
        return short_hash(self.bundle_sha256) if self.bundle_sha256 else ""

    @property
    def qr_payload(self) -> str:
        """Text held by the QR code: format tag, full SHA-256 and key fingerprint."""
        sha = self.bundle_sha256 or "-"
        fp = self.key_fingerprint.replace(" ", "") or "-"
        return f"VKSCDS1;SHA256={sha};KEY={fp}"


@dataclass(frozen=True)
class AppendixRow:
    """One line of the appendix table of a unit report.

    ``tt`` is the printed number ("1", "1.2"); ``result_xy`` is ``(done,
    total)`` printed "3.316/3.429", or free text ("Đã ban hành"), or ``None``;
    ``percent`` is a fraction; ``deadline`` is text ("Quý II/2026") or a date;
    ``group`` is the heading of the group the row belongs to: a full-width
    group line is printed whenever it changes.
    """

    tt: str
    target_text: str
    indicator: str = ""
    units: str = ""
    deadline: str | _dt.date | None = ""
    result_xy: tuple[int, int] | str | None = None
    percent: float | None = None
    status: Progress | str | None = None
    difficulties: str = ""
    proposals: str = ""
    group: str = ""
    code: str = ""
    result_detail: str = ""
    evidence_count: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tt", str(self.tt))
        _freeze(self)
        object.__setattr__(self, "status", Progress.coerce(self.status))
        if isinstance(self.result_xy, list):
            object.__setattr__(self, "result_xy", tuple(self.result_xy))

    @property
    def deadline_text(self) -> str:
        d = self.deadline
        if d is None:
            return ""
        if isinstance(d, _dt.date):
            return fmt_date(d)
        return d

    @property
    def result_text(self) -> str:
        r = self.result_xy
        if r is None:
            return ""
        if isinstance(r, tuple):
            return fmt_ratio(r[0], r[1])
        return nfc(r)

    @property
    def percent_text(self) -> str:
        return "" if self.percent is None else fmt_percent(self.percent)

    @property
    def status_text(self) -> str:
        return self.status.label if isinstance(self.status, Progress) else ""

    @property
    def evidence_text(self) -> str:
        """``"2 tệp"``, ``"Không có"`` or ``""`` when not counted."""
        if self.evidence_count is None:
            return ""
        return f"{self.evidence_count} tệp" if self.evidence_count else "Không có"


@dataclass(frozen=True)
class GroupCompletion:
    """One bar of the completion chart: a group of targets and its completion."""

    label: str
    percent: float
    done: int | None = None
    total: int | None = None
    code: str = ""

    def __post_init__(self) -> None:
        _freeze(self)


@dataclass(frozen=True)
class UnitReportDoc:
    """A unit's periodic report (báo cáo) with its appendix table.

    ``sections`` maps "I" … "VI" (or 1 … 6) to the text of the six narrative
    sections (see :data:`SECTION_TITLES`); a missing or empty section prints
    "Không có.".  ``recipients`` are the "Nơi nhận:" lines ("VKSND tỉnh Thanh
    Hóa (để b/c);", "Lưu: VT, VP."), printed with a leading dash.
    ``verification`` ``None`` means no signing key is set up yet.
    """

    header: ReportHeader
    sections: Mapping[str, str]
    rows: Sequence[AppendixRow] = ()
    group_completion: Sequence[GroupCompletion] = ()
    recipients: Sequence[str] = ()
    signature: SignatureBlock | None = None
    verification: Verification | None = None
    appendix_title: str = "KẾT QUẢ THỰC HIỆN CÁC MỤC TIÊU, NHIỆM VỤ CHUYỂN ĐỔI SỐ"
    chart_title: str = "Tỷ lệ hoàn thành theo nhóm mục tiêu, nhiệm vụ"

    def __post_init__(self) -> None:
        secs: dict[str, str] = {}
        for key, text in dict(self.sections).items():
            k = str(key).strip().upper()
            k = _ARABIC_TO_ROMAN.get(k, k)
            if k not in SECTION_TITLES:
                raise ValueError(f"unknown report section {key!r}; expected one of {SECTION_KEYS}")
            secs[k] = "\n".join(paragraphs(text))
        object.__setattr__(self, "sections", secs)
        object.__setattr__(self, "rows", tuple(self.rows))
        object.__setattr__(self, "group_completion", tuple(self.group_completion))
        object.__setattr__(self, "recipients", paragraphs(self.recipients))
        _freeze(self)

    def section_paragraphs(self, key: str) -> tuple[str, ...]:
        return paragraphs(self.sections.get(key, ""))


# --------------------------------------------------------------------------- consolidated


@dataclass(frozen=True)
class UnitRef:
    """A reporting unit. ``short_name`` is used where space is tight."""

    code: str
    name: str
    short_name: str = ""

    def __post_init__(self) -> None:
        _freeze(self)

    @property
    def display(self) -> str:
        return self.short_name or self.name


@dataclass(frozen=True)
class TargetRef:
    """A target (mục tiêu/nhiệm vụ) as a column of the consolidated matrix."""

    code: str
    text: str
    group: str = ""

    def __post_init__(self) -> None:
        _freeze(self)


@dataclass(frozen=True)
class MatrixCell:
    """One unit × target cell: status plus value.

    ``value`` is a fraction (printed as a percentage), preformatted text
    ("12/15"), or ``None``.  ``status`` ``None`` means the unit has not
    reported on this target.
    """

    status: Progress | str | None = None
    value: float | str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Progress.coerce(self.status))
        if isinstance(self.value, str):
            object.__setattr__(self, "value", nfc(self.value))

    @property
    def abbrev(self) -> str:
        return self.status.abbrev if isinstance(self.status, Progress) else NOT_REPORTED_ABBREV

    @property
    def value_text(self) -> str:
        v = self.value
        if v is None:
            return ""
        if isinstance(v, str):
            return v
        return fmt_percent(v)


@dataclass(frozen=True)
class Submission:
    """When a unit's report for the period arrived (``None``: not yet).

    ``returned``: the superior returned the report for revision and the unit has not re-sent it;
    its figures do not count until it does.
    """

    submitted_on: _dt.date | None = None
    on_time: bool | None = None
    returned: bool = False

    @property
    def counts(self) -> bool:
        return self.submitted_on is not None and not self.returned


@dataclass(frozen=True)
class ReportingRate:
    """Reporting discipline for the period."""

    expected: int
    received: int
    on_time: int = 0
    late: int = 0
    returned: int = 0  # returned for revision and not re-sent: neither received nor missing

    @property
    def missing(self) -> int:
        return max(self.expected - self.received - self.returned, 0)

    @property
    def rate(self) -> float | None:
        return self.received / self.expected if self.expected else None


@dataclass(frozen=True)
class ConsolidatedReportDoc:
    """The superior's consolidated report: units × targets.

    ``cells`` maps ``(unit.code, target.code)`` to a :class:`MatrixCell`; a
    missing key prints as not reported.  ``submissions`` maps ``unit.code``
    to a :class:`Submission`.  ``summary`` is the narrative (one paragraph per
    line).
    """

    header: ReportHeader
    units: Sequence[UnitRef]
    targets: Sequence[TargetRef]
    cells: Mapping[tuple[str, str], MatrixCell]
    reporting: ReportingRate
    summary: str = ""
    submissions: Mapping[str, Submission] = field(default_factory=dict)
    recipients: Sequence[str] = ()
    signature: SignatureBlock | None = None
    verification: Verification | None = None
    appendix_title: str = "TỔNG HỢP KẾT QUẢ THỰC HIỆN MỤC TIÊU, NHIỆM VỤ CHUYỂN ĐỔI SỐ CỦA CÁC ĐƠN VỊ"

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", tuple(self.units))
        object.__setattr__(self, "targets", tuple(self.targets))
        object.__setattr__(self, "cells", dict(self.cells))
        object.__setattr__(self, "submissions", dict(self.submissions))
        object.__setattr__(self, "recipients", paragraphs(self.recipients))
        _freeze(self)

    def cell(self, unit_code: str, target_code: str) -> MatrixCell:
        return self.cells.get((unit_code, target_code)) or MatrixCell()

    def unit_completion(self, unit_code: str) -> tuple[int, int]:
        """``(completed, applicable)`` targets of a unit (KAD excluded)."""
        done = total = 0
        for t in self.targets:
            st = self.cell(unit_code, t.code).status
            if st is Progress.KHONG_AP_DUNG:
                continue
            total += 1
            done += st is Progress.HOAN_THANH
        return done, total

    def target_completion(self, target_code: str) -> tuple[int, int]:
        """``(units completed, units reported and concerned)`` for one target."""
        done = total = 0
        for u in self.units:
            st = self.cell(u.code, target_code).status
            if st is None or st is Progress.KHONG_AP_DUNG:
                continue
            total += 1
            done += st is Progress.HOAN_THANH
        return done, total


# --------------------------------------------------------------------------- notice (thông báo)


@dataclass(frozen=True)
class NoticeItem:
    """One line of the list in a notice: a unit, what is expected of it, its situation."""

    name: str
    detail: str = ""
    situation: str = ""

    def __post_init__(self) -> None:
        _freeze(self)


@dataclass(frozen=True)
class NoticeDoc:
    """A notice (thông báo, NĐ 30 Phụ lục III mẫu 1.4): heading, subject, body, a list, closing.

    ``intro`` is printed before the list, ``closing`` after it (one paragraph per line);
    ``items`` are printed as a numbered table with ``list_headers`` (3 column titles).
    """

    header: ReportHeader
    intro: str
    items: Sequence[NoticeItem] = ()
    closing: str = ""
    list_title: str = ""
    list_headers: Sequence[str] = ("Đơn vị", "Hạn gửi báo cáo", "Tình trạng")
    recipients: Sequence[str] = ()
    signature: SignatureBlock | None = None
    verification: Verification | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))
        object.__setattr__(self, "recipients", paragraphs(self.recipients))
        _freeze(self)


# --------------------------------------------------------------------------- recovery sheet

DEFAULT_RECOVERY_WHEN: tuple[str, ...] = (
    "Quên mật khẩu mở dữ liệu VKS CĐS của đơn vị và không còn ai được giao quản trị nhớ mật khẩu;",
    "Cán bộ quản trị nghỉ hưu, chuyển công tác hoặc vắng mặt dài ngày mà đơn vị cần tiếp tục báo cáo;",
    "Máy tính hỏng, phải cài đặt lại phần mềm và khôi phục dữ liệu từ bản sao lưu.",
)
DEFAULT_RECOVERY_HOW: tuple[str, ...] = (
    "Thủ trưởng đơn vị quyết định việc sử dụng phiếu; lập biên bản mở niêm phong.",
    "Trên máy tính của đơn vị, mở phần mềm VKS CĐS, chọn “Khôi phục bằng mã khôi phục”.",
    "Nhập đủ các nhóm ký tự theo đúng thứ tự in trên phiếu (không phân biệt chữ hoa, chữ thường; dấu gạch nối có thể bỏ qua).",
    "Đặt mật khẩu mới ngay sau khi khôi phục; phần mềm sẽ tạo mã khôi phục mới.",
    "In phiếu mã khôi phục mới, niêm phong, cất vào két; hủy phiếu cũ và ghi vào biên bản.",
)
DEFAULT_RECOVERY_WARNINGS: tuple[str, ...] = (
    "Mã khôi phục có giá trị như mật khẩu: ai có mã này có thể mở toàn bộ dữ liệu của đơn vị.",
    "Không chụp ảnh, không sao chụp, không lưu mã trên máy tính, điện thoại, thư điện tử hoặc mạng Internet.",
    "Phiếu phải được niêm phong, cất giữ trong két sắt của đơn vị; chỉ mở khi có quyết định của Thủ trưởng đơn vị.",
    "Khi nghi ngờ mã bị lộ, phải tạo mã khôi phục mới ngay và hủy phiếu này.",
)


@dataclass(frozen=True)
class RecoverySheetDoc:
    """The one-page recovery-code sheet kept in the unit's safe."""

    unit_name: str
    unit_code: str
    created: _dt.date
    recovery_code: str
    parent_agency: str = ""
    place: str = ""
    when_to_use: Sequence[str] = DEFAULT_RECOVERY_WHEN
    how_to_use: Sequence[str] = DEFAULT_RECOVERY_HOW
    warnings: Sequence[str] = DEFAULT_RECOVERY_WARNINGS
    key_fingerprint: str = ""

    def __post_init__(self) -> None:
        _freeze(self)
        object.__setattr__(self, "recovery_code", self.recovery_code.strip())
        object.__setattr__(self, "key_fingerprint", group_fingerprint(self.key_fingerprint))

    @property
    def code_groups(self) -> tuple[str, ...]:
        """The code split into groups: at dashes/spaces if present, else every 4 characters."""
        code = self.recovery_code
        parts = [p for p in re.split(r"[\s\-–]+", code) if p]
        if len(parts) > 1:
            return tuple(parts)
        return tuple(code[i : i + 4] for i in range(0, len(code), 4))


# --------------------------------------------------------------------------- enrolment


@dataclass(frozen=True)
class EnrolmentFormDoc:
    """Key enrolment request (đề nghị) or acceptance (xác nhận) form.

    The fingerprints are those of ``unit``'s keys in both kinds: the
    *request* is issued by ``unit`` to ``counterpart``; the *acceptance* is
    issued by ``counterpart`` confirming it has enrolled ``unit``'s keys.
    ``parent_agency`` is the superior of the issuing side (for the header);
    ``signature`` is the issuing side's signer.
    """

    kind: Literal["request", "acceptance"]
    unit: UnitRef
    counterpart: UnitRef
    signing_key_fingerprint: str
    receiving_key_fingerprint: str
    date: _dt.date
    place: str = ""
    parent_agency: str = ""
    number_symbol: str = ""
    signature: SignatureBlock | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("request", "acceptance"):
            raise ValueError("kind must be 'request' or 'acceptance'")
        _freeze(self)
        object.__setattr__(
            self, "signing_key_fingerprint", group_fingerprint(self.signing_key_fingerprint)
        )
        object.__setattr__(
            self, "receiving_key_fingerprint", group_fingerprint(self.receiving_key_fingerprint)
        )

    @property
    def issuer(self) -> UnitRef:
        return self.unit if self.kind == "request" else self.counterpart

    @property
    def addressee(self) -> UnitRef:
        return self.counterpart if self.kind == "request" else self.unit
