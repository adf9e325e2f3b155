"""Progress entry ("Nhập tiến độ"): one report of the unit (plan × reporting period), target by
target, plus the six narrative sections, and the report's workflow buttons.

Layout: the unit's targets in a list on the left (grouped, with what was entered and the live
status), one editor on the right for the selected target, built when it is selected (so a plan of
60 targets opens instantly). Keyboard: Tab moves between the fields of a target, Enter moves to
the next target (Ctrl+Enter inside a multi-line field), Ctrl+S saves now, Ctrl+Z undoes the last
saved change (and saves the previous value).

Every change is validated as it is typed (`progress.validate_entry`) and saved ~800 ms after the
last keystroke or when the field loses focus, one `progress.record_progress` call per changed field
(each becomes a revision), so a crash loses at most the field being typed. A value that breaks a
rule is never saved: it stays on screen, in red, until corrected or dropped (Ctrl+Z), and the form
asks before a plan/period switch or closing would lose it. Saves run inline on the GUI thread on purpose: they are a few milliseconds on the local
database and must never overtake each other; loading and encrypting evidence go through
operations (`desktop.ui.ops`); a saved value is announced with `ops.announce(Changes.PROGRESS)`.

Widgets here call only services (`progress`, `plans`, `status`) and hold plain dataclasses; this
module never touches SQLAlchemy. The services check permissions whatever the buttons show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import (QAbstractTableModel, QCoreApplication, QEvent, QLocale, QModelIndex, QObject,
                            QSize, Qt, QTimer, Signal)
from PySide6.QtGui import QBrush, QColor, QFont, QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QAbstractItemView, QAbstractSpinBox, QApplication, QCheckBox, QComboBox, QDialog,
                               QDialogButtonBox, QFileDialog, QFrame, QGridLayout, QHBoxLayout, QHeaderView, QLabel,
                               QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QScrollArea,
                               QSpinBox, QSplitter, QStyle, QTableView, QTabWidget, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date, fmt_int, fmt_percent
from desktop.models.services import plans, progress, units
from desktop.models.domain import status
from desktop.models.domain.plan import PERIOD_TYPE_LABELS, PERIOD_TYPES, Plan, ReportingPeriod, Target, fmt_percent_value
from desktop.models.domain.errors import AppError, PermissionDenied, ValidationError
from desktop.models.domain.i18n import nfc
from desktop.models.storage.vault import Permission
from desktop.models.domain.workflow import ReportState
from desktop.ui.fields import DateField
from desktop.ui.messages import MessageBox, show_error
from desktop.ui import ops
from desktop.ui import theme

log = logging.getLogger(__name__)

VI_LOCALE = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
GROUP_BG = QColor(theme.GROUP_BG)
COMMENT_BG = QColor(theme.COMMENT_BG)
ROLE_ROW = Qt.ItemDataRole.UserRole

#: Vietnamese names of the entry fields (also used by the history tables).
FIELD_LABELS = {
    "numerator": "Tử số", "denominator": "Mẫu số", "count": "Số lần trong kỳ", "done": "Đã hoàn thành",
    "done_date": "Ngày hoàn thành", "result_text": "Kết quả đạt được", "difficulties": "Khó khăn, vướng mắc",
    "proposals": "Đề xuất, kiến nghị", "evidence": "Minh chứng",
}
TEXT_FIELDS = ("result_text", "difficulties", "proposals")
NUMBER_FIELDS = ("numerator", "denominator", "count")
NARRATIVE = "narrative"   # pseudo target code of the narrative sections in the pending/undo bookkeeping
#: Statuses in which the province's return comments are still relevant (the correction cycle).
COMMENT_STATUSES = {progress.RETURNED, progress.DRAFT, progress.PENDING}


def _t(text: str) -> str:
    return QCoreApplication.translate("EntryForm", text)


def field_label(name: str) -> str:
    return _t(FIELD_LABELS.get(name, name))


def status_colour(result) -> str:
    """The fill for a status. "Chưa thực hiện" (nothing due yet, nothing entered) is neutral here:
    in a list being filled in, dozens of pink cells would read as alarms; overdue and behind keep
    the matrix colours."""
    name = getattr(result.status, "name", "")
    if name == "CHUA_THUC_HIEN":
        return theme.NO_DATA_BG
    return getattr(result.status, "colour", "") or theme.NEUTRAL_BG


def default_period(plan: Plan, period_type: str, today: date) -> ReportingPeriod:
    """The period containing today in the plan's year; the year's last period once it is past,
    its first one before it starts."""
    if today.year == plan.year:
        return ReportingPeriod.containing(period_type, today)
    periods = ReportingPeriod.periods_of_year(period_type, plan.year)
    return periods[-1] if today.year > plan.year else periods[0]


def period_in_work(plan: Plan, summaries: list, today: date) -> ReportingPeriod:
    """The period a unit is working on: its most recently changed report that can still be
    edited (a draft, a returned one); otherwise the period after its latest report, once that
    period has begun; otherwise that latest report's period. `summaries` is not empty."""
    editable = [s for s in summaries if ReportState(s.status).editable]
    if editable:
        return ReportingPeriod.parse(max(editable, key=lambda s: s.updated_at).period_key)
    latest = max((ReportingPeriod.parse(s.period_key) for s in summaries), key=lambda p: (p.end, -p.months))
    same_type = ReportingPeriod.periods_of_year(latest.type, plan.year)
    following = [p for p in same_type if p.start > latest.end and p.start <= today]
    return following[0] if following else latest


def _values_of(entry: progress.EntryView | None) -> dict[str, Any]:
    if entry is None:
        return {f: (None if f not in TEXT_FIELDS else "") for f in progress.ENTRY_FIELDS}
    return {f: getattr(entry, f) for f in progress.ENTRY_FIELDS}


def _same(name: str, a, b) -> bool:
    if name in TEXT_FIELDS:
        return nfc(a or "").strip() == nfc(b or "").strip()
    if name == "done":
        return bool(a) == bool(b)
    return a == b


# ------------------------------------------------------------------ plain rows for the list
@dataclass(frozen=True)
class EntryRow:
    """One target in the list on the left, as the form computed it."""

    code: str
    group_code: str
    group_title: str
    text: str
    summary: str = ""
    status_label: str = ""
    status_colour: str = ""
    status_reason: str = ""
    comment: str = ""        # the province's comment on this target, if any
    problem: str = ""        # a value typed but not saved (invalid), if any
    evidence_count: int = 0


class EntryTableModel(QAbstractTableModel):
    """The report's targets, fed with `set_rows(list[EntryRow])`; a heading row starts each group."""

    COLUMNS = ("code", "text", "value", "status")
    TARGET_ROW_HEIGHT = 40

    def __init__(self, parent=None):
        super().__init__(parent)
        self._display: list[tuple[str, Any]] = []  # ("group", (code, title)) | ("target", EntryRow)

    def set_rows(self, rows: list[EntryRow]) -> None:
        self.beginResetModel()
        display: list[tuple[str, Any]] = []
        last = None
        for r in rows:
            if r.group_code != last:
                display.append(("group", (r.group_code, r.group_title)))
                last = r.group_code
            display.append(("target", r))
        self._display = display
        self.endResetModel()

    def update_row(self, row: EntryRow) -> None:
        i = self.row_of(row.code)
        if i < 0:
            return
        self._display[i] = ("target", row)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))

    def rows(self) -> list[EntryRow]:
        return [r for k, r in self._display if k == "target"]

    def target_at(self, row: int) -> EntryRow | None:
        if 0 <= row < len(self._display) and self._display[row][0] == "target":
            return self._display[row][1]
        return None

    def row_of(self, code: str) -> int:
        return next((i for i, (k, r) in enumerate(self._display) if k == "target" and r.code == code), -1)

    def group_rows(self) -> list[int]:
        return [i for i, (k, _) in enumerate(self._display) if k == "group"]

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self._display)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(self.COLUMNS):
            return (self.tr("Mã"), self.tr("Mục tiêu / nhiệm vụ"), self.tr("Kỳ này"), self.tr("Tiến độ"))[section]
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._display[index.row()][0] == "group":
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not (0 <= index.row() < len(self._display)):
            return None
        kind, item = self._display[index.row()]
        col = self.COLUMNS[index.column()]
        if kind == "group":
            code, title = item
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{code}. {title}" if col == "code" else ""
            if role == Qt.ItemDataRole.ToolTipRole and col == "code":
                return f"{code}. {title}"
            if role == Qt.ItemDataRole.FontRole:
                f = QFont()
                f.setBold(True)
                return f
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(GROUP_BG)
            return None
        r: EntryRow = item
        if role == Qt.ItemDataRole.DisplayRole:
            if col == "code":
                return r.code
            if col == "text":
                return r.text
            if col == "value":
                return r.summary
            return r.status_label
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == "text":
                tip = r.text
                if r.comment:
                    tip += "\n\n" + self.tr("Ý kiến cấp trên: {0}").format(r.comment)
                return tip
            if col == "status":
                return r.status_reason or None
            if col == "value":
                return r.problem or r.summary or None
            if col == "code" and r.comment:
                return self.tr("Ý kiến cấp trên: {0}").format(r.comment)
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            if col == "status" and r.status_colour:
                return QBrush(QColor(r.status_colour))
            if col == "code" and r.comment:
                return QBrush(COMMENT_BG)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and col == "value" and r.problem:
            return QBrush(QColor(theme.ERROR_BORDER))
        if role == Qt.ItemDataRole.DecorationRole and col == "code":
            if r.problem:
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            if r.comment:
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col == "status":
                return int(Qt.AlignmentFlag.AlignCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.SizeHintRole and col == "text":
            return QSize(0, self.TARGET_ROW_HEIGHT)   # two lines of the target's wording
        if role == ROLE_ROW:
            return r
        return None


# ------------------------------------------------------------------ inputs
class NumberBox(QSpinBox):
    """A whole number that may be left empty (not reported yet). Negative numbers cannot be typed;
    the mouse wheel only changes it while it has the focus (no accidental edits when scrolling)."""

    EMPTY = -1
    refused = Signal(str)        # a key that cannot go into a number, with the reason

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLocale(VI_LOCALE)
        self.setGroupSeparatorShown(True)
        self.setRange(self.EMPTY, 999_999_999)
        self.setValue(self.EMPTY)
        self.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setMinimumWidth(120)

    def number(self) -> int | None:
        v = self.value()
        return None if v == self.EMPTY else v

    def set_number(self, value) -> None:
        self.setValue(self.EMPTY if value is None else int(round(float(value))))

    def validate(self, text, pos):
        from PySide6.QtGui import QValidator

        if not text.strip():
            return QValidator.State.Acceptable
        if "-" in text:
            return QValidator.State.Invalid
        return super().validate(text, pos)

    def valueFromText(self, text):
        return self.EMPTY if not text.strip() else super().valueFromText(text)

    def keyPressEvent(self, event):
        ch = event.text()
        if (ch and ch.isprintable() and not ch.isdigit() and ch not in ". "
                and not event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)):
            reason = (self.tr("Không nhập số âm: số liệu là số việc, số lần (0 trở lên).") if ch == "-" else
                      self.tr("Chỉ gõ chữ số nguyên (ví dụ 1.250); “{0}” không được nhận.").format(ch))
            self.refused.emit(reason)
            return
        super().keyPressEvent(event)

    def textFromValue(self, value):
        return "" if value == self.EMPTY else super().textFromValue(value)

    def wheelEvent(self, event):
        if not self.hasFocus():
            event.ignore()
            return
        super().wheelEvent(event)


class DateBox(DateField):
    """dd/MM/yyyy, typed or picked on a calendar (F4); the plan years bound it."""


def _text_box(min_lines: int = 3) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setTabChangesFocus(True)
    line = box.fontMetrics().lineSpacing()
    box.setFixedHeight(line * min_lines + 14)
    return box


def _repolish(w: QWidget) -> None:
    w.style().unpolish(w)
    w.style().polish(w)


@dataclass
class EditorContext:
    """What the editor shows besides the values: computed by the form from the loaded reports."""

    earlier_count: float = 0.0        # count measures: the total of the earlier periods of the year
    earlier_label: str = ""
    comment: str = ""                 # the province's comment on this target
    status: Any = None                # StatusResult, or None when status rules are unavailable
    as_of: date | None = None
    earlier_done: tuple[str, date | None] | None = None   # milestones: (period label, date) completed before


class TargetEditor(QWidget):
    """The inputs of one target, fitted to how it is measured. Emits edits; never saves itself."""

    edited = Signal(str, object)                 # field, value
    attachRequested = Signal()
    viewRequested = Signal(object)               # EvidenceInfo
    removeRequested = Signal(object)             # EvidenceInfo

    def __init__(self, target: Target, plan_year: int, period: ReportingPeriod, values: dict,
                 evidence: tuple, ctx: EditorContext, read_only: bool, today: date, parent=None):
        super().__init__(parent)
        self.target = target
        self.code = target.code
        self.plan_year = plan_year
        self.period = period
        self.today = today
        self.read_only = read_only
        self.inputs: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        self.focus_chain: list[QWidget] = []
        m = target.measure
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 8, 4)
        lay.setSpacing(6)

        # --- what the target is ---------------------------------------------------------------
        head = QHBoxLayout()
        self.code_label = QLabel(target.code)
        f = self.code_label.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.1)
        self.code_label.setFont(f)
        head.addWidget(self.code_label)
        meta = [target.kind_label, m.label, self.tr("Thời hạn: {0}").format(target.deadline.label(plan_year))]
        self.meta_label = QLabel(" · ".join(x for x in meta if x))
        self.meta_label.setStyleSheet(theme.MUTED_TEXT)
        self.meta_label.setWordWrap(True)
        head.addWidget(self.meta_label, 1)
        self.status_chip = QLabel(objectName="statusChip")
        self.status_chip.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status_chip.setVisible(False)
        head.addWidget(self.status_chip)
        lay.addLayout(head)

        self.text_label = QLabel(target.text)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tf = self.text_label.font()
        tf.setPointSizeF(tf.pointSizeF() * 1.05)
        self.text_label.setFont(tf)
        lay.addWidget(self.text_label)
        details = []
        if target.lead_units:
            details.append(self.tr("Chủ trì: {0}").format("; ".join(target.lead_units)))
        if target.coordinating_units:
            details.append(self.tr("Phối hợp: {0}").format("; ".join(target.coordinating_units)))
        if target.expected_result:
            details.append(self.tr("Kết quả cần đạt: {0}").format(target.expected_result))
        if target.exclusion_note:
            details.append(self.tr("Loại trừ: {0}").format(target.exclusion_note))
        if details:
            d = QLabel("\n".join(details))
            d.setWordWrap(True)
            d.setStyleSheet(theme.MUTED_TEXT)
            lay.addWidget(d)
        self.status_reason = QLabel(objectName="statusReason")
        self.status_reason.setWordWrap(True)
        self.status_reason.setStyleSheet(theme.MUTED_TEXT)
        self.status_reason.setVisible(False)
        lay.addWidget(self.status_reason)

        self.comment_box = QLabel(objectName="targetComment")
        self.comment_box.setWordWrap(True)
        self.comment_box.setStyleSheet(theme.TARGET_COMMENT)
        self.comment_box.setVisible(False)
        lay.addWidget(self.comment_box)

        # --- the measure -----------------------------------------------------------------------
        self.ratio_info = QLabel(objectName="ratioInfo")
        self.count_info = QLabel(objectName="countInfo")
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(0, 1)
        row = 0

        def add_field(name: str, label: str, widget: QWidget, full_width: bool = False) -> None:
            nonlocal row
            if label:
                lab = QLabel(label)
                lab.setWordWrap(True)
                lab.setBuddy(widget)
                grid.addWidget(lab, row, 0, 1, 2 if full_width else 1)
            if full_width:
                row += 1
                grid.addWidget(widget, row, 0, 1, 2)
            else:
                grid.addWidget(widget, row, 1, Qt.AlignmentFlag.AlignRight)
            err = QLabel(objectName="fieldError")
            err.setWordWrap(True)
            err.setStyleSheet(theme.ERROR_TEXT)
            err.setVisible(False)
            grid.addWidget(err, row + 1, 0, 1, 2)
            self.inputs[name] = widget
            self.errors[name] = err
            self.focus_chain.append(widget)
            if isinstance(widget, NumberBox):
                widget.refused.connect(lambda reason, n=name: self.show_refusal(n, reason))
            row += 2

        if m.type == "ratio":
            num = NumberBox()
            den = NumberBox()
            add_field("numerator", m.numerator_label or self.tr("Tử số (số đã đạt)"), num)
            add_field("denominator", m.denominator_label or self.tr("Mẫu số (tổng số)"), den)
            grid.addWidget(self.ratio_info, row, 0, 1, 2)
            row += 1
            num.valueChanged.connect(lambda _v: self._emit("numerator", num.number()))
            den.valueChanged.connect(lambda _v: self._emit("denominator", den.number()))
        elif m.type == "count":
            cnt = NumberBox()
            what = m.unit_label or self.tr("lần")
            add_field("count", self.tr("Số {0} thực hiện trong {1}").format(what, period.label.lower()), cnt)
            grid.addWidget(self.count_info, row, 0, 1, 2)
            row += 1
            cnt.valueChanged.connect(lambda _v: self._emit("count", cnt.number()))
        elif m.type == "recurring":
            chk = QCheckBox(self.tr("Đã thực hiện trong kỳ {0}").format(period.label))
            add_field("done", "", chk, full_width=True)
            chk.toggled.connect(lambda on: self._emit("done", on))
        if m.type == "qualitative":
            res = _text_box(4)
            add_field("result_text", self.tr("Kết quả thực hiện"), res, full_width=True)
            res.textChanged.connect(lambda: self._emit("result_text", res.toPlainText()))
        if m.type in ("milestone", "qualitative"):
            chk = QCheckBox(self.tr("Đã hoàn thành"))
            dt = DateBox()
            box = QWidget()
            hb = QHBoxLayout(box)
            hb.setContentsMargins(0, 0, 0, 0)
            hb.addWidget(chk)
            hb.addSpacing(12)
            hb.addWidget(QLabel(self.tr("ngày")))
            hb.addWidget(dt)
            hb.addStretch(1)
            grid.addWidget(box, row, 0, 1, 2)
            self.inputs["done"] = chk
            self.inputs["done_date"] = dt
            self.focus_chain += [chk, dt]
            err = QLabel(objectName="fieldError")
            err.setWordWrap(True)
            err.setStyleSheet(theme.ERROR_TEXT)
            err.setVisible(False)
            grid.addWidget(err, row + 1, 0, 1, 2)
            self.errors["done_date"] = err
            self.earlier_done_label = QLabel(objectName="earlierDone")
            self.earlier_done_label.setWordWrap(True)
            self.earlier_done_label.setVisible(False)
            grid.addWidget(self.earlier_done_label, row + 2, 0, 1, 2)
            row += 3
            chk.toggled.connect(self._on_done_toggled)
            dt.dateChanged.connect(lambda _d: self._update_earlier_done())
            dt.dateChanged.connect(lambda _d: chk.isChecked() and self._emit("done_date", dt.py_date()))
            dt.invalidText.connect(lambda reason: self.show_problems([progress.FieldProblem(target.code, "done_date", reason)]))
        measure_box = QFrame(objectName="measureBox")
        measure_box.setStyleSheet(theme.MEASURE_BOX)
        mb = QVBoxLayout(measure_box)
        mb.setContentsMargins(8, 6, 8, 6)
        title = QLabel((self.tr("Số liệu {0}") if m.type in ("ratio", "count") else self.tr("Kết quả {0}"))
                       .format(period.label.lower()))
        ft = title.font()
        ft.setBold(True)
        title.setFont(ft)
        mb.addWidget(title)
        mb.addLayout(grid)
        lay.addWidget(measure_box)

        # --- texts ------------------------------------------------------------------------------
        for name in TEXT_FIELDS:
            if name in self.inputs:
                continue
            lab = QLabel(field_label(name))
            lab.setStyleSheet(theme.BOLD)
            box = _text_box(3 if name == "result_text" else 2)
            lab.setBuddy(box)
            lay.addWidget(lab)
            lay.addWidget(box)
            self.inputs[name] = box
            self.focus_chain.append(box)
            box.textChanged.connect(lambda n=name, b=box: self._emit(n, b.toPlainText()))

        # --- evidence ---------------------------------------------------------------------------
        ev_head = QHBoxLayout()
        self.evidence_title = QLabel()
        self.evidence_title.setStyleSheet(theme.BOLD)
        ev_head.addWidget(self.evidence_title, 1)
        self.attach_button = QPushButton(self.tr("Đính kèm…"))
        self.view_button = QPushButton(self.tr("Xem"))
        self.remove_button = QPushButton(self.tr("Gỡ"))
        for b in (self.attach_button, self.view_button, self.remove_button):
            ev_head.addWidget(b)
        lay.addLayout(ev_head)
        self.evidence_list = QListWidget(objectName="evidenceList")
        self.evidence_list.setMaximumHeight(84)
        lay.addWidget(self.evidence_list)
        self.attach_button.clicked.connect(self.attachRequested)
        self.view_button.clicked.connect(lambda: self.current_evidence() and self.viewRequested.emit(self.current_evidence()))
        self.remove_button.clicked.connect(lambda: self.current_evidence() and self.removeRequested.emit(self.current_evidence()))
        self.evidence_list.itemDoubleClicked.connect(lambda it: self.viewRequested.emit(it.data(ROLE_ROW)))
        self.evidence_list.currentRowChanged.connect(lambda _r: self._update_evidence_buttons())
        self.focus_chain += [self.evidence_list, self.attach_button, self.view_button, self.remove_button]
        lay.addStretch(1)
        self.set_values(values)
        self.set_evidence(evidence)
        self.set_context(ctx)
        self.set_read_only(read_only)

    # --- values ---------------------------------------------------------------------------------
    def _emit(self, name: str, value) -> None:
        if not self._loading:
            self.edited.emit(name, value)

    _loading = False

    def _on_done_toggled(self, on: bool) -> None:
        dt = self.inputs.get("done_date")
        if dt is not None:
            dt.setEnabled(on and not self.read_only)
        self._update_earlier_done()
        if self._loading:
            return
        earlier = self.ctx.earlier_done if hasattr(self, "ctx") else None
        if on and dt is not None and earlier is not None and earlier[1] is not None:
            self._loading = True            # completed before: the date is that completion's date
            try:
                dt.set_py_date(earlier[1])
            finally:
                self._loading = False
        self.edited.emit("done", on)
        if dt is not None:
            self.edited.emit("done_date", dt.py_date() if on else None)

    def default_done_date(self) -> date:
        d = min(self.today, self.period.end)
        return min(max(d, date(self.plan_year, 1, 1)), date(self.plan_year, 12, 31))

    def set_values(self, values: dict) -> None:
        self._loading = True
        try:
            for name, value in values.items():
                self.set_value(name, value)
        finally:
            self._loading = False

    def set_value(self, name: str, value) -> None:
        w = self.inputs.get(name)
        if w is None:
            return
        was = self._loading
        self._loading = True
        try:
            if isinstance(w, NumberBox):
                w.set_number(value)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
                dt = self.inputs.get("done_date")
                if name == "done" and dt is not None:
                    dt.setEnabled(bool(value) and not self.read_only)
            elif isinstance(w, DateBox):
                w.set_py_date(value if isinstance(value, date) else self.default_done_date())
            elif isinstance(w, QPlainTextEdit):
                if w.toPlainText() != (value or ""):
                    w.setPlainText(value or "")
        finally:
            self._loading = was

    def value(self, name: str):
        w = self.inputs.get(name)
        if isinstance(w, NumberBox):
            return w.number()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, DateBox):
            done = self.inputs.get("done")
            return w.py_date() if done is None or done.isChecked() else None
        if isinstance(w, QPlainTextEdit):
            return w.toPlainText()
        return None

    def first_input(self) -> QWidget | None:
        return self.focus_chain[0] if self.focus_chain else None

    def input_widgets(self) -> list[QWidget]:
        return list(self.inputs.values())

    # --- feedback -------------------------------------------------------------------------------
    def show_refusal(self, name: str, reason: str) -> None:
        """A key the field did not take: the reason under it (until the next validation)."""
        err = self.errors.get(name)
        if err is not None:
            err.setText(reason)
            err.setVisible(True)

    def show_problems(self, problems: list[progress.FieldProblem]) -> None:
        """Red border and the reason under each field with a problem; clear the others."""
        by_field: dict[str, str] = {}
        for p in problems:
            by_field.setdefault(p.field, p.message)
        for name, err in self.errors.items():
            msg = by_field.get(name, "")
            err.setText(msg)
            err.setVisible(bool(msg))
            w = self.inputs.get(name)
            if w is not None and bool(w.property("invalid")) != bool(msg):
                w.setProperty("invalid", bool(msg))
                _repolish(w)

    def set_context(self, ctx: EditorContext) -> None:
        self.ctx = ctx
        if ctx.comment:
            self.comment_box.setText(self.tr("Ý kiến của cấp trên về mục tiêu này: {0}").format(ctx.comment))
        self.comment_box.setVisible(bool(ctx.comment))
        self.set_status(ctx.status, ctx.as_of)
        self.update_info()
        self._update_earlier_done()

    def _update_earlier_done(self) -> None:
        """A milestone already reported done in an earlier period: say when, and warn if this period
        ticks it again with another date (a milestone is completed once)."""
        label = getattr(self, "earlier_done_label", None)
        earlier = self.ctx.earlier_done if hasattr(self, "ctx") else None
        if label is None:
            return
        if earlier is None:
            label.setVisible(False)
            return
        period_label, when = earlier
        text = (self.tr("Đã báo hoàn thành ngày {0} trong báo cáo {1}.").format(fmt_date(when), period_label)
                if when else self.tr("Đã báo hoàn thành trong báo cáo {0}.").format(period_label))
        style = theme.MUTED_TEXT
        dt, done = self.inputs.get("done_date"), self.inputs.get("done")
        if done is not None and done.isChecked() and when is not None and dt.py_date() != when:
            text += " " + self.tr("Ngày đang nhập ({0}) khác ngày đã báo; nếu ngày trước là sai, hãy ghi rõ lý do "
                                  "ở ô “Khó khăn, vướng mắc”.").format(fmt_date(dt.py_date()))
            style = theme.WARNING_TEXT
        label.setText(text)
        label.setStyleSheet(style)
        label.setVisible(True)

    def set_status(self, result, as_of: date | None = None) -> None:
        if result is None:
            self.status_chip.setVisible(False)
            self.status_reason.setVisible(False)
            return
        colour = status_colour(result)
        self.status_chip.setText(result.status.label)
        self.status_chip.setStyleSheet(theme.chip("statusChip", colour))
        self.status_chip.setVisible(True)
        reason = result.reason or ""
        if as_of is not None:
            reason = self.tr("{0} (tính đến {1})").format(reason, fmt_date(as_of)) if reason else ""
        self.status_reason.setText(reason)
        self.status_reason.setVisible(bool(reason))

    def update_info(self) -> None:
        """The live percentage of a ratio, the yearly running total of a count."""
        m = self.target.measure
        if m.type == "ratio":
            num, den = self.value("numerator"), self.value("denominator")
            goal = self.tr("chỉ tiêu {0} {1}").format("=" if m.comparison == "=" else "≥",
                                                       fmt_percent_value(m.target_percent))
            if num is not None and den:
                pct = fmt_percent(num / den) if num <= den else "–"
                self.ratio_info.setText(self.tr("Tỷ lệ đạt: <b>{0}</b> ({1}/{2}) · {3}").format(
                    pct, fmt_int(num), fmt_int(den), goal))
            elif den == 0:
                self.ratio_info.setText(self.tr("Tỷ lệ đạt: không tính (mẫu số bằng 0: kỳ này không có việc nào "
                                                "phải làm, nên không có tỷ lệ %) · {0}").format(goal))
            else:
                self.ratio_info.setText(self.tr("Tỷ lệ đạt: – · {0}").format(goal))
        elif m.type == "count":
            this = self.value("count") or 0
            total = (self.ctx.earlier_count or 0) + this
            what = m.unit_label or self.tr("lần")
            if m.per == "plan":
                need = self.tr("tối thiểu {0} {1} cả kỳ kế hoạch").format(fmt_int(m.minimum), what)
            else:
                need = self.tr("tối thiểu {0} {1}/{2}").format(
                    fmt_int(m.minimum), what, QCoreApplication.translate("Domain", _PER.get(m.per, m.per)))
            earlier = self.tr(" (các kỳ trước: {0})").format(_num(self.ctx.earlier_count)) \
                if self.ctx.earlier_count else ""
            self.count_info.setText(self.tr("Lũy kế năm {0}: <b>{1} {2}</b>{3} · {4}").format(
                self.plan_year, _num(total), what, earlier, need))

    # --- evidence -------------------------------------------------------------------------------
    def set_evidence(self, evidence: tuple) -> None:
        self.evidence_list.clear()
        for ev in evidence:
            item = QListWidgetItem(self.tr("{0}  ·  {1}  ·  {2}").format(ev.filename, _size(ev.size), fmt_date(ev.added_at)))
            item.setData(ROLE_ROW, ev)
            item.setToolTip(ev.filename)
            self.evidence_list.addItem(item)
        need = self.tr(" – cần có") if self.target.evidence_required else ""
        self.evidence_title.setText(self.tr("Minh chứng ({0} tệp){1}").format(len(evidence), need))
        if evidence:
            self.evidence_list.setCurrentRow(0)
        self.evidence_list.setVisible(bool(evidence))
        self._update_evidence_buttons()

    def current_evidence(self):
        item = self.evidence_list.currentItem()
        return item.data(ROLE_ROW) if item else None

    def _update_evidence_buttons(self) -> None:
        has = self.current_evidence() is not None
        self.view_button.setEnabled(has)
        self.remove_button.setEnabled(has and not self.read_only)
        self.attach_button.setEnabled(not self.read_only)

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only
        for name, w in self.inputs.items():
            if isinstance(w, (QAbstractSpinBox, QPlainTextEdit)):
                w.setReadOnly(read_only)
            elif isinstance(w, QCheckBox):
                w.setEnabled(not read_only)
        dt = self.inputs.get("done_date")
        if isinstance(dt, DateBox):
            done = self.inputs.get("done")
            dt.setReadOnly(read_only)
            dt.setEnabled(not read_only and (done is None or done.isChecked()))
        self._update_evidence_buttons()


_PER = {"month": "tháng", "quarter": "quý", "half_year": "6 tháng", "year": "năm", "plan": "cả kỳ kế hoạch"}


def _num(x) -> str:
    if x is None:
        return "–"
    x = float(x)
    return fmt_int(int(x)) if x.is_integer() else f"{x:g}".replace(".", ",")


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


# ------------------------------------------------------------------ undo
class EntryEdit(QUndoCommand):
    """One saved change of one target (or of the narrative): undo restores and saves `old`."""

    def __init__(self, form: "EntryForm", code: str, old: dict, new: dict, text: str):
        super().__init__(text)
        self.form, self.code, self.old, self.new = form, code, old, new
        self._done = True   # pushed after the save: the first redo() must not save again

    def redo(self) -> None:
        if self._done:
            self._done = False
            return
        self.form._restore(self.code, self.new)

    def undo(self) -> None:
        self.form._restore(self.code, self.old)


# ------------------------------------------------------------------ loading
@dataclass
class LoadedReport:
    """Everything the form shows for one report, fetched by services off the GUI thread."""

    plan: Plan
    period: ReportingPeriod
    report: progress.ReportView           # id 0: not created yet (see unsaved_report)
    targets: list[Target] = field(default_factory=list)
    others: list[progress.ReportView] = field(default_factory=list)   # the unit's other reports of the plan
    transitions: list[progress.TransitionView] = field(default_factory=list)
    summaries: list[progress.ReportSummary] = field(default_factory=list)


def unsaved_report(plan: Plan, period: ReportingPeriod, unit_code: str) -> progress.ReportView:
    """A report not created yet (id 0): shown like an empty draft, created on the first save, so
    browsing periods never leaves empty reports behind."""
    now = datetime.now()
    return progress.ReportView(
        id=0, plan_id=plan.id, plan_version=plan.version, period=period, unit_code=unit_code, status=progress.DRAFT,
        revision=0, narrative={}, entries={}, return_comments={}, created_at=now, updated_at=now, approved_at=None,
        sent_at=None, received_at=None, last_bundle_sha256=None)


def fetch_report(session, plan_id: str, period: ReportingPeriod) -> LoadedReport:
    """Services only, no widgets: runs off the GUI thread."""
    plan = plans.get_plan(session, plan_id)
    if period.year != plan.year:
        raise ValidationError(_t("Kỳ báo cáo {0} không thuộc năm của kế hoạch ({1}).").format(period.label, plan.year))
    unit_code = units.own_unit(session).code
    summaries = [s for s in progress.list_reports(session, plan_id) if s.unit_code == unit_code]
    existing = next((s for s in summaries if s.period_key == period.key), None)
    if existing is None:
        report, transitions = unsaved_report(plan, period, unit_code), []
    else:
        report = progress.get_report(session, existing.id)
        transitions = progress.report_transitions(session, report.id)
        if report.plan_version != plan.version:
            plan = plans.get_plan(session, plan_id, report.plan_version)
    targets = progress.report_targets(session, report)
    others = [progress.get_report(session, s.id) for s in summaries if s.id != report.id]
    return LoadedReport(plan, period, report, targets, others, transitions, summaries)


class SendBackDialog(QDialog):
    """The unit head's reason for sending a report back to the officer."""

    def __init__(self, period_label: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("Trả lại để sửa"))
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(self.tr("Báo cáo {0} sẽ được trả lại cho cán bộ nhập liệu. "
                                     "Ghi rõ cần sửa gì:").format(period_label), wordWrap=True))
        self.comment = QPlainTextEdit()
        self.comment.setTabChangesFocus(True)
        self.comment.setPlaceholderText(self.tr("Ví dụ: Mục TH-2.2-02 thiếu minh chứng; kiểm tra lại mẫu số."))
        lay.addWidget(self.comment)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("Trả lại"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Hủy"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.comment.textChanged.connect(self._update)
        self._update()
        self.resize(460, 240)

    def _update(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(bool(self.comment.toPlainText().strip()))

    def text(self) -> str:
        return self.comment.toPlainText().strip()


# ------------------------------------------------------------------ the form
class EntryForm(QWidget):
    """Entering one report's progress, target by target (see the module docstring)."""

    AUTOSAVE_MS = 800
    reportLoaded = Signal(object)        # ReportView | None
    saved = Signal()

    def __init__(self, session, parent=None, today: date | None = None):
        super().__init__(parent)
        self.session = session
        self.today = today or date.today()
        self.can_edit = session.user.can(Permission.EDIT_PROGRESS)
        self.can_submit = session.user.can(Permission.SUBMIT_REPORT)
        self.can_approve = session.user.can(Permission.APPROVE_REPORT)
        self.loaded: LoadedReport | None = None
        self.editor: TargetEditor | None = None
        self.viewer = None                       # the evidence viewer opened last
        self.dialog: QDialog | None = None       # the dialog opened last (tests drive it)
        self.pick_files: Callable[[], list] = self._pick_files_dialog   # replaceable in tests
        self._plan: Plan | None = None
        self._summaries: list[progress.ReportSummary] = []
        self._targets: dict[str, Target] = {}
        self._saved: dict[str, dict] = {}
        self._evidence: dict[str, tuple] = {}
        self._pending: dict[str, dict] = {}
        self._problems: dict[str, list] = {}
        self._narrative_saved: dict[str, str] = {}
        self._current_code: str | None = None
        self._shown_key: tuple[str, str] | None = None   # (plan id, period key) on screen
        self._load_token = 0
        self._restoring = False
        self._last_saved_at: datetime | None = None
        self._window_filtered: QWidget | None = None

        self.undo_stack = QUndoStack(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.AUTOSAVE_MS)
        self._timer.timeout.connect(self.flush)

        # --- choosing the report -----------------------------------------------------------------
        self.plan_combo = QComboBox(objectName="planCombo")
        self.plan_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.plan_combo.setMinimumContentsLength(30)
        self.period_type_combo = QComboBox(objectName="periodTypeCombo")
        self.period_combo = QComboBox(objectName="periodCombo")
        self.period_combo.setMinimumContentsLength(22)
        self.period_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.plan_combo.currentIndexChanged.connect(self._on_plan_combo)
        self.period_type_combo.currentIndexChanged.connect(self._on_period_type_combo)
        self.period_combo.currentIndexChanged.connect(self._on_period_combo)
        top = QHBoxLayout()
        plan_label = QLabel(self.tr("&Kế hoạch"))
        plan_label.setBuddy(self.plan_combo)
        period_label = QLabel(self.tr("Kỳ &báo cáo"))
        period_label.setBuddy(self.period_combo)
        top.addWidget(plan_label)
        top.addWidget(self.plan_combo, 1)
        top.addSpacing(12)
        top.addWidget(period_label)
        top.addWidget(self.period_type_combo)
        top.addWidget(self.period_combo)

        self.report_chip = QLabel(objectName="reportStatus")
        self.progress_label = QLabel(objectName="entryProgress")
        self.progress_label.setStyleSheet(theme.MUTED_TEXT)
        self.saved_label = QLabel(objectName="savedLabel")
        self.saved_label.setStyleSheet(theme.MUTED_TEXT)
        info = QHBoxLayout()
        info.addWidget(self.report_chip)
        info.addWidget(self.progress_label)
        info.addStretch(1)
        info.addWidget(self.saved_label)

        self.banner = QLabel(objectName="entryBanner")
        self.banner.setWordWrap(True)
        self.banner.setVisible(False)

        # --- targets -------------------------------------------------------------------------------
        self.model = EntryTableModel(self)
        self.target_view = QTableView(objectName="entryTargets")
        self.target_view.setModel(self.model)
        self.target_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.target_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.target_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.target_view.verticalHeader().setVisible(False)
        self.target_view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.target_view.verticalHeader().setMinimumSectionSize(26)
        self.target_view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.target_view.setWordWrap(True)
        self.target_view.setShowGrid(False)
        self.target_view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.target_view.horizontalHeader().setHighlightSections(False)
        hh = self.target_view.horizontalHeader()
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 92), (2, 104), (3, 106)):
            hh.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.target_view.setColumnWidth(col, width)
        self.target_view.selectionModel().currentRowChanged.connect(self._on_row)
        self.target_view.installEventFilter(self)

        self.editor_area = QScrollArea(objectName="editorArea")
        self.editor_area.setWidgetResizable(True)
        self.editor_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.editor_area.setFrameShape(QFrame.Shape.NoFrame)
        self.empty_label = QLabel(self.tr("Chọn một mục tiêu ở danh sách bên trái để nhập kết quả."))
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(theme.FAINT_TEXT)
        self.editor_area.setWidget(self.empty_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.target_view)
        self.splitter.addWidget(self.editor_area)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 500])
        self.splitter.setChildrenCollapsible(False)

        # --- narrative -------------------------------------------------------------------------------
        self.narrative_edits: dict[str, QPlainTextEdit] = {}
        narrative = QWidget()
        nl = QVBoxLayout(narrative)
        nl.addWidget(QLabel(self.tr("Phần thuyết minh của báo cáo; được lưu tự động như số liệu."), wordWrap=True))
        prev = None
        for key in progress.NARRATIVE_SECTIONS:
            lab = QLabel(f"{key}. {QCoreApplication.translate('Progress', progress.NARRATIVE_TITLES[key])}")
            lab.setStyleSheet(theme.BOLD)
            box = _text_box(4)
            lab.setBuddy(box)
            box.installEventFilter(self)
            box.textChanged.connect(lambda k=key, b=box: self._on_narrative_edit(k, b.toPlainText()))
            nl.addWidget(lab)
            nl.addWidget(box)
            if prev is not None:
                QWidget.setTabOrder(prev, box)
            prev = box
            self.narrative_edits[key] = box
        nl.addStretch(1)
        narrative_scroll = QScrollArea()
        narrative_scroll.setWidgetResizable(True)
        narrative_scroll.setFrameShape(QFrame.Shape.NoFrame)
        narrative_scroll.setWidget(narrative)

        self.tabs = QTabWidget(objectName="entryTabs")
        self.tabs.addTab(self.splitter, self.tr("Mục tiêu, nhiệm vụ"))
        self.tabs.addTab(narrative_scroll, self.tr("Báo cáo chung (I–VI)"))

        # --- actions ----------------------------------------------------------------------------------
        self.undo_button = QPushButton(self.tr("Hoàn tác"))
        self.undo_button.setToolTip(self.tr("Trả lại giá trị trước của lần sửa gần nhất (Ctrl+Z)"))
        self.undo_button.clicked.connect(self.undo)
        self.undo_stack.canUndoChanged.connect(self._on_undo_changed)
        self.undo_stack.undoTextChanged.connect(self._on_undo_changed)
        self.save_button = QPushButton(self.tr("Lưu"))
        self.save_button.setToolTip(self.tr("Lưu ngay mọi thay đổi (Ctrl+S). Phần mềm cũng tự lưu khi bạn ngừng gõ."))
        self.save_button.clicked.connect(self.save_now)
        self.submit_button = QPushButton(self.tr("Trình duyệt"), objectName="submitButton")
        self.submit_button.setToolTip(self.tr("Gửi báo cáo cho lãnh đạo đơn vị duyệt; số liệu bị khóa đến khi "
                                              "được duyệt hoặc trả lại"))
        self.submit_button.clicked.connect(self.submit)
        self.approve_button = QPushButton(self.tr("Duyệt"), objectName="approveButton")
        self.approve_button.clicked.connect(self.approve)
        self.send_back_button = QPushButton(self.tr("Trả lại để sửa…"), objectName="sendBackButton")
        self.send_back_button.clicked.connect(self.open_send_back_dialog)
        self.submit_button.setVisible(self.can_submit)
        self.undo_button.setVisible(self.can_edit)
        self.save_button.setVisible(self.can_edit)
        self.approve_button.setVisible(self.can_approve)
        self.send_back_button.setVisible(self.can_approve)
        hint = QLabel(self.tr("Tab: ô tiếp theo · Enter: mục tiêu tiếp theo · Ctrl+S: lưu · Ctrl+Z: hoàn tác")
                      if self.can_edit else self.tr("Mũi tên lên/xuống trong danh sách: xem mục tiêu khác"))
        hint.setStyleSheet(theme.MUTED_TEXT)
        actions = QHBoxLayout()
        actions.addWidget(hint, 1)
        for b in (self.undo_button, self.save_button, self.submit_button, self.approve_button, self.send_back_button):
            actions.addWidget(b)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(top)
        outer.addLayout(info)
        outer.addWidget(self.banner)
        outer.addWidget(self.tabs, 1)
        outer.addLayout(actions)
        self.setStyleSheet(theme.INVALID_FIELD)

        ctx = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.save_shortcut = QShortcut(QKeySequence.StandardKey.Save, self, self.save_now, context=ctx)
        self.undo_shortcut = QShortcut(QKeySequence.StandardKey.Undo, self, self.undo, context=ctx)
        self.installEventFilter(self)
        self._update_actions()
        self.refresh()

    # ================================================================== choosing plan and period
    def refresh(self) -> None:
        """Reload the plan list and the report on screen (its status may have changed elsewhere)."""
        try:
            items = plans.list_plans(self.session)
        except AppError as exc:
            show_error(self, exc)
            items = []
        keep = self._shown_key[0] if self._shown_key else None
        self.plan_combo.blockSignals(True)
        self.plan_combo.clear()
        for p in items:
            title = p.title if str(p.year) in p.title else self.tr("{0} (năm {1})").format(p.title, p.year)
            self.plan_combo.addItem(title, p.id)
            self.plan_combo.setItemData(self.plan_combo.count() - 1, f"{p.title}\n{p.reference}",
                                        Qt.ItemDataRole.ToolTipRole)
        self.plan_combo.blockSignals(False)
        if not items:
            self._show_nothing(self.tr("Chưa có kế hoạch nào. Quản trị viên cài đặt kế hoạch ở trang Kế hoạch."))
            return
        if keep and self.plan_combo.findData(keep) >= 0:
            self.plan_combo.blockSignals(True)
            self.plan_combo.setCurrentIndex(self.plan_combo.findData(keep))
            self.plan_combo.blockSignals(False)
            self.flush()
            if not self.has_unsaved():
                self._load(keep, ReportingPeriod.parse(self._shown_key[1]))
            return
        plan_id = self._default_plan(items)
        self.plan_combo.blockSignals(True)
        self.plan_combo.setCurrentIndex(self.plan_combo.findData(plan_id))
        self.plan_combo.blockSignals(False)
        self._select_plan(plan_id)

    def _default_plan(self, items: list) -> str:
        """Where the user left off: for an approver the report waiting for approval, otherwise the
        plan of the report changed last, else a plan of the current year (the unit's own first)."""
        ids = {p.id for p in items}
        try:
            unit_code = units.own_unit(self.session).code
            mine = sorted((s for s in progress.list_reports(self.session)
                           if s.unit_code == unit_code and s.plan_id in ids),
                          key=lambda s: s.updated_at, reverse=True)
        except AppError:
            mine = []
        pending = [s for s in mine if s.status == progress.PENDING]
        if pending and self.can_approve:
            return pending[0].plan_id
        if mine:
            return mine[0].plan_id
        return next((p.id for p in items if p.year == self.today.year), items[0].id)

    def open_report(self, plan_id: str, period_key: str) -> bool:
        """Show the report of `plan_id` for `period_key` (asks first if values would be lost)."""
        if self._shown_key == (plan_id, period_key):
            return True
        if not self.confirm_leave():
            return False
        i = self.plan_combo.findData(plan_id)
        if i < 0:
            self.refresh()
            i = self.plan_combo.findData(plan_id)
            if i < 0:
                return False
        self.plan_combo.blockSignals(True)
        self.plan_combo.setCurrentIndex(i)
        self.plan_combo.blockSignals(False)
        self._select_plan(plan_id, ReportingPeriod.parse(period_key))
        return True

    def select_period(self, period_key: str) -> bool:
        plan_id = self.plan_combo.currentData()
        return bool(plan_id) and self.open_report(plan_id, period_key)

    def _select_plan(self, plan_id: str, period: ReportingPeriod | None = None) -> None:
        try:
            plan = plans.get_plan(self.session, plan_id)
            unit_code = units.own_unit(self.session).code
            self._summaries = [s for s in progress.list_reports(self.session, plan_id) if s.unit_code == unit_code]
        except AppError as exc:
            show_error(self, exc)
            return
        self._plan = plan
        types = [t for t in (plan.period_types or PERIOD_TYPES) if t in PERIOD_TYPES]
        if period is None:
            period = self._default_period(plan, types)
        self.period_type_combo.blockSignals(True)
        self.period_type_combo.clear()
        for t in types:
            self.period_type_combo.addItem(QCoreApplication.translate("Domain", PERIOD_TYPE_LABELS[t]), t)
        if period.type not in types:
            self.period_type_combo.addItem(QCoreApplication.translate("Domain", PERIOD_TYPE_LABELS[period.type]),
                                           period.type)
        self.period_type_combo.setCurrentIndex(self.period_type_combo.findData(period.type))
        self.period_type_combo.blockSignals(False)
        self._fill_periods(period)
        self._load(plan_id, period)

    def _default_period(self, plan: Plan, types: list[str]) -> ReportingPeriod:
        mine = sorted(self._summaries, key=lambda s: s.updated_at, reverse=True)
        if self.can_approve:
            # an approver looks first at what waits for approval, then at the latest report
            pending = [s for s in mine if s.status == progress.PENDING]
            pick = (pending or mine or [None])[0]
            if pick is not None:
                return ReportingPeriod.parse(pick.period_key)
        ptype = "month" if "month" in types else types[0]
        if mine:
            return period_in_work(plan, mine, self.today)
        return default_period(plan, ptype, self.today)

    def _fill_periods(self, period: ReportingPeriod) -> None:
        status_of = {s.period_key: s.status_label for s in self._summaries}
        self.period_combo.blockSignals(True)
        self.period_combo.clear()
        for p in ReportingPeriod.periods_of_year(period.type, self._plan.year):
            label = p.label
            if p.key in status_of:
                label = f"{label} · {status_of[p.key]}"
            self.period_combo.addItem(label, p.key)
        self.period_combo.setCurrentIndex(max(0, self.period_combo.findData(period.key)))
        self.period_combo.blockSignals(False)

    def _restore_combos(self) -> None:
        if not self._shown_key:
            return
        plan_id, key = self._shown_key
        period = ReportingPeriod.parse(key)
        for combo, data in ((self.plan_combo, plan_id), (self.period_type_combo, period.type)):
            combo.blockSignals(True)
            combo.setCurrentIndex(combo.findData(data))
            combo.blockSignals(False)
        if self._plan is not None and self._plan.id == plan_id:
            self._fill_periods(period)

    def _on_plan_combo(self, _i: int) -> None:
        plan_id = self.plan_combo.currentData()
        if not plan_id:
            return
        if not self.confirm_leave():
            self._restore_combos()
            return
        self._select_plan(plan_id)

    def _on_period_type_combo(self, _i: int) -> None:
        ptype = self.period_type_combo.currentData()
        if not ptype or self._plan is None:
            return
        if not self.confirm_leave():
            self._restore_combos()
            return
        period = default_period(self._plan, ptype, self.today)
        self._fill_periods(period)
        self._load(self._plan.id, period)

    def _on_period_combo(self, _i: int) -> None:
        key = self.period_combo.currentData()
        if not key or self._plan is None:
            return
        if not self.confirm_leave():
            self._restore_combos()
            return
        self._load(self._plan.id, ReportingPeriod.parse(key))

    # ================================================================== loading a report
    def _load(self, plan_id: str, period: ReportingPeriod) -> None:
        self._timer.stop()
        self._load_token += 1
        token = self._load_token
        keep_code = self._current_code if self._shown_key == (plan_id, period.key) else None
        session = self.session
        self.saved_label.setText(self.tr("Đang mở báo cáo…"))
        ops.Op(self, lambda: fetch_report(session, plan_id, period)) \
            .success(lambda loaded: token == self._load_token and self._show_loaded(loaded, keep_code)) \
            .failure(lambda exc: token == self._load_token and self._load_failed(exc, plan_id, period)).run()

    def reload(self) -> None:
        if self._shown_key:
            self._load(self._shown_key[0], ReportingPeriod.parse(self._shown_key[1]))

    def _load_failed(self, exc: BaseException, plan_id: str, period: ReportingPeriod) -> None:
        self._shown_key = (plan_id, period.key)
        if isinstance(exc, PermissionDenied):
            self._show_nothing(exc.user_text())
            return
        self._show_nothing(self.tr("Không mở được báo cáo."))
        show_error(self, exc)

    def _show_nothing(self, reason: str) -> None:
        self.loaded = None
        self._targets, self._saved, self._evidence, self._pending, self._problems = {}, {}, {}, {}, {}
        self._current_code = None
        self.undo_stack.clear()
        self.model.set_rows([])
        self._set_editor(None)
        self.report_chip.setText("")
        self.report_chip.setStyleSheet("")
        self.progress_label.setText("")
        self.saved_label.setText("")
        self._set_banner(reason, "info")
        for box in self.narrative_edits.values():
            box.blockSignals(True)
            box.clear()
            box.setReadOnly(True)
            box.blockSignals(False)
        self.tabs.setTabText(0, self.tr("Mục tiêu, nhiệm vụ"))
        self._update_actions()
        self.reportLoaded.emit(None)

    def _show_loaded(self, loaded: LoadedReport, keep_code: str | None = None) -> None:
        self._plan = loaded.plan
        self._summaries = loaded.summaries
        self._shown_key = (loaded.plan.id, loaded.period.key)
        self._fill_periods(loaded.period)
        self.loaded = loaded
        r = loaded.report
        self._targets = {t.code: t for t in loaded.targets}
        self._saved = {t.code: _values_of(r.entries.get(t.code)) for t in loaded.targets}
        self._evidence = {t.code: (r.entries[t.code].evidence if t.code in r.entries else ()) for t in loaded.targets}
        self._pending, self._problems = {}, {}
        self._narrative_saved = {k: r.narrative.get(k, "") for k in progress.NARRATIVE_SECTIONS}
        self.undo_stack.clear()
        self._last_saved_at = None

        self._apply_header()
        read_only = not self.editable
        for key, box in self.narrative_edits.items():
            box.blockSignals(True)
            box.setPlainText(self._narrative_saved.get(key, ""))
            box.setReadOnly(read_only)
            box.blockSignals(False)
        self.model.set_rows([self._row_for(t) for t in loaded.targets])
        self.target_view.clearSpans()
        for row in self.model.group_rows():
            self.target_view.setSpan(row, 0, 1, self.model.columnCount())
        self.tabs.setTabText(0, self.tr("Mục tiêu, nhiệm vụ ({0})").format(len(loaded.targets)))
        self._update_progress_label()
        self.saved_label.setText(self.tr("Cập nhật lần cuối: {0}").format(r.updated_at.strftime("%d/%m/%Y %H:%M"))
                                 if r.entries or any(r.narrative.values()) else "")
        code = keep_code if keep_code in self._targets else (loaded.targets[0].code if loaded.targets else None)
        self._current_code = None
        if code:
            self.select_target(code)
        else:
            self._set_editor(None)
        self._update_actions()
        self.reportLoaded.emit(r)

    def _apply_header(self) -> None:
        """The report's status chip, the banner and the buttons, from `self.loaded`."""
        r = self.loaded.report
        label = r.status_label if r.id else self.tr("Mới, chưa có số liệu")
        self.report_chip.setText(self.tr("Trạng thái: {0}").format(label))
        self.report_chip.setStyleSheet(theme.chip("reportStatus", theme.state_fill(r.status)))
        self._set_banner(*self._banner_for(self.loaded))
        i = self.period_combo.findData(r.period.key)
        if i >= 0 and r.id:
            self.period_combo.setItemText(i, f"{r.period.label} · {r.status_label}")
        self._update_actions()

    def _ensure_report(self) -> bool:
        """Create the report on the first change (see `unsaved_report`)."""
        r = self.report
        if r is None:
            return False
        if r.id:
            return True
        try:
            self.loaded.report = progress.open_report(self.session, r.plan_id, r.period)
            self.loaded.transitions = progress.report_transitions(self.session, self.loaded.report.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, self.tr("Không lưu được"))
            return False
        self._apply_header()
        return True

    def _refresh_header(self) -> None:
        """Re-read the report's status in place (no rebuild: the user may be typing)."""
        try:
            self.loaded.report = progress.get_report(self.session, self.loaded.report.id)
            self.loaded.transitions = progress.report_transitions(self.session, self.loaded.report.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        self._apply_header()

    @property
    def report(self) -> progress.ReportView | None:
        return self.loaded.report if self.loaded else None

    @property
    def editable(self) -> bool:
        r = self.report
        return bool(r and r.editable and self.can_edit)

    def comment_for(self, code: str) -> str:
        r = self.report
        if not r or r.status not in COMMENT_STATUSES:
            return ""
        return nfc((r.return_comments.get("targets") or {}).get(code, ""))

    def _banner_for(self, loaded: LoadedReport) -> tuple[str, str]:
        r = loaded.report
        when = lambda d: fmt_date(d) if d else ""  # noqa: E731
        general = nfc(r.return_comments.get("general", "")) if r.status in COMMENT_STATUSES else ""
        n_comments = sum(1 for t in loaded.targets if self.comment_for(t.code))
        about = "\n" + self.tr("{0} mục tiêu có ý kiến riêng: xem ô mã được tô màu cam trong danh sách.").format(
            n_comments) if n_comments else ""
        if not loaded.targets:
            return self.tr("Kế hoạch này không có mục tiêu nào áp dụng cho cấp của đơn vị; hãy chọn kế hoạch khác."), "info"
        if r.status == progress.PENDING:
            text = self.tr("Báo cáo đang chờ lãnh đạo đơn vị duyệt: số liệu đã khóa, chỉ xem.")
            if self.can_approve:
                text += " " + self.tr("Kiểm tra rồi bấm “Duyệt” hoặc “Trả lại để sửa”.")
            return text, "locked"
        if r.status == progress.APPROVED:
            from desktop.ui.token_sign import signature_note

            return (self.tr("Báo cáo đã được duyệt ngày {0}: số liệu đã khóa, chỉ xem.").format(when(r.approved_at))
                    + " " + signature_note(self.session, r.id)), "done"
        if r.status == progress.SENT:
            return self.tr("Báo cáo đã gửi lên cấp trên ngày {0}: số liệu đã khóa, chỉ xem.").format(when(r.sent_at)), "done"
        if r.status == progress.RECEIVED:
            return self.tr("Cấp trên đã nhận báo cáo ngày {0}: số liệu đã khóa, chỉ xem.").format(when(r.received_at)), "done"
        if r.status == progress.RETURNED:
            text = self.tr("Cấp trên trả lại báo cáo để sửa.")
            if general:
                text += " " + self.tr("Ý kiến chung: “{0}”").format(general.rstrip(". "))
            return text + about, "returned"
        # draft
        back = next((t for t in reversed(loaded.transitions)
                     if t.from_status == progress.PENDING and t.to_status == progress.DRAFT), None)
        parts = []
        if not r.id and not self.can_edit:
            parts.append(self.tr("Kỳ {0} chưa có báo cáo: cán bộ nhập liệu chưa nhập số liệu nào.").format(r.period.label))
        if not self.can_edit:
            parts.append(self.tr("Bạn đăng nhập với vai trò {0}: chỉ xem, không sửa số liệu.")
                         .format(self.session.user.role.label))
        if back is not None and loaded.transitions[-1] is back:
            parts.append(self.tr("Lãnh đạo đơn vị trả lại ngày {0}, ý kiến: “{1}”").format(
                when(back.ts), back.comment.rstrip(". ")))
        if general:
            parts.append(self.tr("Ý kiến khi cấp trên trả lại: “{0}”").format(general.rstrip(". ")) + about)
        if parts:
            return " ".join(parts), ("returned" if back is not None or general else "info")
        return "", ""

    def _set_banner(self, text: str, kind: str) -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(theme.banner("entryBanner", kind))
        self.banner.setVisible(bool(text))

    # ================================================================== per-target data
    def values(self, code: str) -> dict:
        return {**self._saved.get(code, {}), **self._pending.get(code, {})}

    def saved_values(self, code: str) -> dict:
        return dict(self._saved.get(code, {}))

    def _earlier_count(self, code: str) -> float:
        """The count reported for this target in the earlier periods (same period type) of the year."""
        if not self.loaded:
            return 0.0
        cur = self.loaded.period
        total = 0.0
        for other in self.loaded.others:
            p = other.period
            if p.type == cur.type and p.year == cur.year and p.end < cur.start:
                e = other.entries.get(code)
                if e is not None and e.count is not None:
                    total += e.count
        return total

    def _earlier_done(self, code: str) -> tuple[str, date | None] | None:
        """The first earlier period of the year whose report marked this milestone done."""
        if not self.loaded:
            return None
        cur = self.loaded.period
        done = [o for o in self.loaded.others
                if o.period.year == cur.year and o.period.end < cur.start
                and code in o.entries and o.entries[code].done]
        if not done:
            return None
        first = min(done, key=lambda o: (o.period.end, o.period.start))
        return first.period.label, first.entries[code].done_date

    def _status_for(self, code: str):
        if not self.loaded:
            return None
        target = self._targets[code]
        values = self.values(code) if not self._problems.get(code) else self._saved.get(code, {})

        def ev(period, v) -> Any:
            return status.EntryValue(period=period, numerator=v.get("numerator"), denominator=v.get("denominator"),
                                     count=v.get("count"), done=v.get("done"), done_date=v.get("done_date"),
                                     text=v.get("result_text") or "")
        entries = [ev(o.period, _values_of(o.entries[code])) for o in self.loaded.others if code in o.entries]
        entries.append(ev(self.loaded.period, values))
        return status.evaluate(target, self.loaded.plan.year, entries, self.as_of, self.loaded.period,
                               submission_days=dict(self.loaded.plan.submission_deadlines))

    @property
    def as_of(self) -> date:
        """The report date of the status: the period's last day, or today while it runs."""
        return min(self.today, self.loaded.period.end) if self.loaded else self.today

    def _summary(self, target: Target, v: dict) -> str:
        m = target.measure
        if m.type == "ratio":
            num, den = v.get("numerator"), v.get("denominator")
            if num is None and den is None:
                return ""
            text = f"{_num(num)}/{_num(den)}"
            if num is not None and den and num <= den:
                text += f" ({fmt_percent(num / den)})"
            return text
        if m.type == "count":
            if v.get("count") is None:
                return ""
            return f"{_num(v['count'])} {m.unit_label or self.tr('lần')}"
        if v.get("done"):
            if m.type == "recurring":
                return self.tr("Đã thực hiện")
            return self.tr("Xong {0}").format(fmt_date(v["done_date"])) if v.get("done_date") else self.tr("Đã xong")
        if (v.get("result_text") or "").strip():
            return self.tr("Có kết quả")
        return ""

    def _row_for(self, target: Target) -> EntryRow:
        code = target.code
        result = self._status_for(code)
        problems = self._problems.get(code) or []
        group = self._plan.group(target.group_code) if self._plan else None
        return EntryRow(
            code=code, group_code=target.group_code, group_title=group.title if group else "", text=target.text,
            summary=self._summary(target, self.values(code)),
            status_label=result.status.label if result else "",
            status_colour=status_colour(result) if result else "",
            status_reason=result.reason if result else "",
            comment=self.comment_for(code),
            problem=self.tr("Chưa lưu: {0}").format(problems[0].message) if problems else "",
            evidence_count=len(self._evidence.get(code, ())))

    def _refresh_row(self, code: str) -> None:
        if code in self._targets:
            self.model.update_row(self._row_for(self._targets[code]))
        if self.editor is not None and self.editor.code == code:
            self.editor.set_status(self._status_for(code), self.as_of)
            self.editor.update_info()
        self._update_progress_label()

    def _update_progress_label(self) -> None:
        if not self.loaded:
            self.progress_label.setText("")
            return
        filled = sum(1 for c in self._targets if self._summary(self._targets[c], self.values(c))
                     or (self.values(c).get("result_text") or "").strip())
        self.progress_label.setText(self.tr("Đã nhập {0}/{1} mục tiêu · {2}").format(
            filled, len(self._targets), self.loaded.period.label))

    # ================================================================== the editor
    def select_target(self, code: str) -> bool:
        row = self.model.row_of(code)
        if row < 0:
            return False
        self.target_view.selectRow(row)
        self.target_view.scrollTo(self.model.index(row, 0))
        if self._current_code != code:
            self._show_editor(code)
        return True

    @property
    def current_code(self) -> str | None:
        return self._current_code

    def _on_row(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = self.model.target_at(current.row())
        if row is None:
            # a group heading: step over it in the direction of travel
            step = 1 if not previous.isValid() or current.row() >= previous.row() else -1
            nxt = current.row() + step
            while 0 <= nxt < self.model.rowCount() and self.model.target_at(nxt) is None:
                nxt += step
            if 0 <= nxt < self.model.rowCount():
                self.target_view.selectRow(nxt)
            elif previous.isValid():
                self.target_view.selectRow(previous.row())
            return
        if row.code != self._current_code:
            self._show_editor(row.code)

    def _show_editor(self, code: str) -> None:
        self.flush()
        self._current_code = code
        target = self._targets[code]
        ctx = EditorContext(earlier_count=self._earlier_count(code), comment=self.comment_for(code),
                            status=self._status_for(code), as_of=self.as_of, earlier_done=self._earlier_done(code))
        editor = TargetEditor(target, self.loaded.plan.year, self.loaded.period, self.values(code),
                              self._evidence.get(code, ()), ctx, not self.editable, self.today)
        editor.edited.connect(lambda name, value, c=code: self._on_edit(c, name, value))
        editor.attachRequested.connect(self.attach_evidence)
        editor.viewRequested.connect(self.view_evidence)
        editor.removeRequested.connect(self.remove_evidence)
        for w in editor.input_widgets():
            w.installEventFilter(self)
        editor.show_problems(self._problems.get(code, []))
        self._set_editor(editor)

    def _set_editor(self, editor: TargetEditor | None) -> None:
        old = self.editor_area.takeWidget()
        if old is not None and old is not self.empty_label:
            old.deleteLater()
        self.editor = editor
        if editor is None:
            self._current_code = None
            self.empty_label = QLabel(self.tr("Chọn một mục tiêu ở danh sách bên trái để nhập kết quả."))
            self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.empty_label.setStyleSheet(theme.FAINT_TEXT)
            self.editor_area.setWidget(self.empty_label)
        else:
            self.editor_area.setWidget(editor)
            self.editor_area.verticalScrollBar().setValue(0)
            # Tab from the list goes into the editor, then through its fields in reading order
            chain = [self.target_view, *editor.focus_chain]
            for a, b in zip(chain, chain[1:]):
                QWidget.setTabOrder(a, b)

    def next_target(self) -> bool:
        """Go to the next target (Enter) and put the cursor in its first field."""
        codes = [r.code for r in self.model.rows()]
        if self._current_code not in codes:
            return False
        i = codes.index(self._current_code)
        if i + 1 >= len(codes):
            self.flush()
            self.saved_label.setText(self.tr("Đã đến mục tiêu cuối cùng."))
            return False
        self.select_target(codes[i + 1])
        self.focus_editor()
        return True

    def focus_editor(self) -> None:
        if self.editor is not None and self.editor.first_input() is not None:
            self.editor.first_input().setFocus(Qt.FocusReason.TabFocusReason)

    # ================================================================== typing, validating, saving
    def _on_edit(self, code: str, name: str, value) -> None:
        if not self.editable or code not in self._targets:
            return
        pend = self._pending.setdefault(code, {})
        if _same(name, value, self._saved[code].get(name)):
            pend.pop(name, None)
        else:
            pend[name] = value
        if not pend:
            self._pending.pop(code, None)
        self._validate(code)
        self._refresh_row(code)
        if not self._restoring:
            self.saved_label.setText(self.tr("Đang chờ lưu…") if self.has_pending_edits() else "")
            self._timer.start()

    def _validate(self, code: str) -> list:
        target = self._targets[code]
        problems = progress.validate_entry(target, self.loaded.plan.year, self.values(code), self.loaded.period)
        # a problem only counts when it concerns something typed (not a value saved before)
        self._problems[code] = problems
        if self.editor is not None and self.editor.code == code:
            self.editor.show_problems(problems)
        return problems

    @staticmethod
    def _related(fields: set[str]) -> set[str]:
        if fields & {"numerator", "denominator"}:
            fields = fields | {"numerator", "denominator"}
        if fields & {"done", "done_date"}:
            fields = fields | {"done", "done_date"}
        return fields

    def _saveable(self, code: str) -> dict:
        """The pending fields of `code` that can be saved now without breaking a rule."""
        target = self._targets[code]
        candidate = dict(self._pending.get(code, {}))
        while candidate:
            merged = {**self._saved[code], **candidate}
            problems = progress.validate_entry(target, self.loaded.plan.year, merged, self.loaded.period)
            if not problems:
                return candidate
            bad = self._related({p.field for p in problems})
            keep = {k: v for k, v in candidate.items() if k not in bad}
            if len(keep) == len(candidate):
                return {}
            candidate = keep
        return {}

    def flush(self) -> bool:
        """Save every pending valid change now; True when nothing is left unsaved."""
        self._timer.stop()
        if not self.loaded or not self.editable:
            return not self.has_unsaved()
        for code in list(self._pending):
            if code == NARRATIVE:
                self._save_narrative()
            else:
                self._save_target(code)
        if self._last_saved_at is not None and not self.has_unsaved():
            self.saved_label.setText(self.tr("Đã lưu lúc {0}").format(self._last_saved_at.strftime("%H:%M:%S")))
        elif self.has_unsaved():
            n = sum(len(v) for v in self._pending.values())
            self.saved_label.setText(self.tr("{0} ô chưa lưu (giá trị chưa hợp lệ)").format(n))
            self.saved_label.setStyleSheet(theme.ERROR_TEXT)
            return False
        self.saved_label.setStyleSheet(theme.MUTED_TEXT)
        return True

    def _field_batches(self, code: str, fields: dict) -> list[dict]:
        """Split a save into one `record_progress` call per field, in an order in which each call
        is valid on its own (denominator before a larger numerator); fields that are only valid
        together (both sides of a ratio moving past each other) go in one call."""
        target, year = self._targets[code], self.loaded.plan.year
        state = dict(self._saved[code])
        remaining = dict(fields)
        batches: list[dict] = []
        while remaining:
            ready = next((k for k, v in remaining.items()
                          if not progress.validate_entry(target, year, {**state, k: v}, self.loaded.period)), None)
            if ready is None:
                batches.append(remaining)
                break
            batches.append({ready: remaining.pop(ready)})
            state[ready] = batches[-1][ready]
        return batches

    def _save_target(self, code: str, push_undo: bool = True) -> bool:
        fields = self._saveable(code)
        if not fields or not self._ensure_report():
            return False
        old = {k: self._saved[code].get(k) for k in fields}
        done: dict = {}
        failed = False
        for batch in self._field_batches(code, fields):
            try:
                view = progress.record_progress(self.session, self.report.id, code, **batch)
            except ValidationError as exc:
                failed = True
                problems = exc.details.get("problems") or []
                if problems:
                    self._problems[code] = list(problems)
                    if self.editor is not None and self.editor.code == code:
                        self.editor.show_problems(problems)
                    self._refresh_row(code)
                else:
                    self._pending.pop(code, None)   # e.g. the report was locked meanwhile: keep the screen honest
                    show_error(self, exc, self.tr("Không lưu được"))
                    self.reload()
                    return False
                break
            except Exception as exc:  # noqa: BLE001 - shown to the user, never lost silently
                show_error(self, exc, self.tr("Không lưu được"))
                failed = True
                break
            self._saved[code] = _values_of(view)
            self._evidence[code] = view.evidence
            done.update({k: getattr(view, k) for k in batch})
        if not done:
            return False
        pend = self._pending.get(code, {})
        for k, v in done.items():
            if k in pend and _same(k, pend[k], v):
                pend.pop(k)
        if not pend:
            self._pending.pop(code, None)
        self._last_saved_at = datetime.now()
        if push_undo and not self._restoring:
            names = ", ".join(field_label(k) for k in done)
            self.undo_stack.push(EntryEdit(self, code, {k: old[k] for k in done}, done, f"{code} · {names}"))
        self._validate(code)
        self._refresh_row(code)
        self._update_own_report()
        self.saved.emit()
        ops.announce(ops.Changes.PROGRESS, self)
        return not failed

    def _update_own_report(self) -> None:
        """Saving a returned report turns it into a draft: follow the status without reloading."""
        r = self.report
        if r is not None and r.status == progress.RETURNED:
            self._refresh_header()

    def has_pending_edits(self) -> bool:
        return any(self._pending.values())

    def has_unsaved(self) -> bool:
        return self.has_pending_edits()

    def unsaved_items(self) -> list[str]:
        out = []
        for code, pend in self._pending.items():
            for name in pend:
                if code == NARRATIVE:
                    out.append(self.tr("Mục {0} của báo cáo chung").format(name))
                    continue
                msg = next((p.message for p in self._problems.get(code, []) if p.field == name), "")
                out.append(f"{code} – {field_label(name)}" + (f": {msg}" if msg else ""))
        return out

    def save_now(self) -> bool:
        """Ctrl+S."""
        ok = self.flush()
        if ok and self.loaded and self.editable:
            self.saved_label.setText(self.tr("Đã lưu lúc {0}").format(datetime.now().strftime("%H:%M:%S")))
        return ok

    def confirm_leave(self) -> bool:
        """Before another report replaces this one (or the window closes): save what can be saved,
        ask before dropping values that cannot (invalid)."""
        self.flush()
        if not self.has_unsaved():
            return True
        items = self.unsaved_items()
        text = self.tr("Còn {0} ô có giá trị chưa hợp lệ nên chưa được lưu:\n{1}\n\n"
                       "Nếu tiếp tục, các giá trị này sẽ bị bỏ. Tiếp tục?").format(
            len(items), "\n".join("• " + x for x in items[:8]))
        if not MessageBox.question(self, self.tr("Thay đổi chưa lưu"), text):
            return False
        self._pending.clear()
        self._problems.clear()
        return True

    # --- narrative ---------------------------------------------------------------------------------
    def _on_narrative_edit(self, key: str, text: str) -> None:
        if not self.editable:
            return
        pend = self._pending.setdefault(NARRATIVE, {})
        if _same("result_text", text, self._narrative_saved.get(key, "")):
            pend.pop(key, None)
        else:
            pend[key] = text
        if not pend:
            self._pending.pop(NARRATIVE, None)
        if not self._restoring:
            self.saved_label.setText(self.tr("Đang chờ lưu…") if self.has_pending_edits() else "")
            self._timer.start()

    def _save_narrative(self) -> bool:
        pend = self._pending.get(NARRATIVE) or {}
        if not pend:
            self._pending.pop(NARRATIVE, None)
            return True
        old = {k: self._narrative_saved.get(k, "") for k in pend}
        if not self._ensure_report():
            return False
        try:
            progress.save_narrative(self.session, self.report.id, dict(pend))
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc, self.tr("Không lưu được"))
            return False
        ops.announce(ops.Changes.PROGRESS, self)
        new = {k: nfc(v or "").strip() for k, v in pend.items()}
        self._narrative_saved.update(new)
        self._pending.pop(NARRATIVE, None)
        self._last_saved_at = datetime.now()
        if not self._restoring:
            names = ", ".join(self.tr("mục {0}").format(k) for k in new)
            self.undo_stack.push(EntryEdit(self, NARRATIVE, old, new, self.tr("Báo cáo chung · {0}").format(names)))
        self.saved.emit()
        return True

    # --- undo ---------------------------------------------------------------------------------------
    def undo(self) -> None:
        """Ctrl+Z: drop values typed but not savable; otherwise undo the last saved change."""
        if not self.editable:
            return
        code = self._current_code
        if code and self._pending.get(code) and not self._saveable(code):
            self._pending.pop(code, None)
            if self.editor is not None:
                self.editor.set_values(self._saved[code])
            self._validate(code)
            self._refresh_row(code)
            self.saved_label.setText(self.tr("Đã bỏ giá trị chưa lưu."))
            return
        self.flush()
        if self.undo_stack.canUndo():
            self.undo_stack.undo()

    def _restore(self, code: str, values: dict) -> None:
        """Put `values` back on screen and save them (undo/redo)."""
        self._restoring = True
        try:
            if code == NARRATIVE:
                for key, text in values.items():
                    box = self.narrative_edits[key]
                    box.blockSignals(True)
                    box.setPlainText(text or "")
                    box.blockSignals(False)
                self._pending[NARRATIVE] = dict(values)
                self._save_narrative()
                return
            if self._current_code != code:
                self.select_target(code)
            self._pending.setdefault(code, {}).update(values)
            if self.editor is not None and self.editor.code == code:
                self.editor.set_values(values)
            self._save_target(code, push_undo=False)
            self.saved_label.setText(self.tr("Đã hoàn tác và lưu lúc {0}").format(datetime.now().strftime("%H:%M:%S")))
        finally:
            self._restoring = False

    # ================================================================== keyboard and focus
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        et = event.type()
        if obj is self:
            # Hidden (page change, lock, close): save what is pending. Not a hideEvent override:
            # with PySide6 6.12 that override's function object lost a reference each time a
            # form was destroyed while shown, until the class dict pointed at freed memory
            # (the "Fatal Python error" at exit; see docs/architecture.md, known issues).
            if et == QEvent.Type.Hide:
                self.flush()
            return False
        if obj is self._window_filtered:
            if et == QEvent.Type.Close and not self.confirm_leave():
                event.ignore()
                return True
            return False
        if et == QEvent.Type.ShortcutOverride and event.matches(QKeySequence.StandardKey.Undo):
            event.accept()      # our undo (which saves), not the field's own
            return True
        if et == QEvent.Type.KeyPress:
            if event.matches(QKeySequence.StandardKey.Undo):
                self.undo()
                return True
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                if obj is self.target_view:
                    self.focus_editor()
                    return True
                multi = isinstance(obj, QPlainTextEdit)
                if multi and not (event.modifiers() & Qt.KeyboardModifier.ControlModifier):
                    return False
                if obj in self.narrative_edits.values():
                    return False
                self.next_target()
                return True
        if et == QEvent.Type.FocusOut and obj is not self.target_view:
            if self._pending:
                self.flush()
        return False

    def showEvent(self, event) -> None:
        super().showEvent(event)
        win = self.window()
        if win is not self and win is not self._window_filtered:
            win.installEventFilter(self)
            self._window_filtered = win

    def closeEvent(self, event) -> None:
        if not self.confirm_leave():
            event.ignore()
            return
        super().closeEvent(event)

    # ================================================================== workflow
    def _on_undo_changed(self, *_args) -> None:
        if not shiboken6.isValid(self.undo_button):   # the stack outlives the buttons while being destroyed
            return
        text = self.undo_stack.undoText()
        self.undo_button.setToolTip(self.tr("Hoàn tác: {0} (Ctrl+Z)").format(text) if text else
                                    self.tr("Chưa có thay đổi nào để hoàn tác"))
        self._update_actions()

    def _update_actions(self) -> None:
        r = self.report
        self.submit_button.setEnabled(bool(r and r.id and r.editable and self.can_submit))
        self.approve_button.setEnabled(bool(r and r.status == progress.PENDING))
        self.send_back_button.setEnabled(bool(r and r.status == progress.PENDING))
        self.save_button.setEnabled(self.editable)
        self.undo_button.setEnabled(self.editable and self.undo_stack.canUndo())

    def submit(self) -> bool:
        r = self.report
        if r is None:
            return False
        if not self.flush():
            MessageBox.error(self, self.tr("Chưa trình duyệt được"), self.tr(
                "Còn ô có giá trị chưa hợp lệ:\n{0}\nHãy sửa hoặc bấm Ctrl+Z để bỏ, rồi trình lại.").format(
                "\n".join("• " + x for x in self.unsaved_items()[:8])))
            return False
        missing = [c for c, t in self._targets.items() if t.evidence_required and not self._evidence.get(c)
                   and self._summary(t, self.values(c))]
        text = self.tr("Trình báo cáo {0} lên lãnh đạo đơn vị duyệt?\nSau khi trình, số liệu bị khóa cho đến khi "
                       "được duyệt hoặc trả lại.").format(r.period.label)
        if missing:
            text += "\n\n" + self.tr("Lưu ý: {0} mục tiêu cần minh chứng nhưng chưa đính kèm: {1}.").format(
                len(missing), ", ".join(missing[:6]) + ("…" if len(missing) > 6 else ""))
        if not MessageBox.question(self, self.tr("Trình duyệt"), text):
            return False
        return self._transition(lambda: progress.submit_report(self.session, r.id))

    def approve(self) -> bool:
        r = self.report
        if r is None:
            return False
        if not MessageBox.question(self, self.tr("Duyệt báo cáo"), self.tr(
                "Duyệt báo cáo {0}? Số liệu được chốt và có thể gửi lên cấp trên.").format(r.period.label)):
            return False
        if not self._transition(lambda: progress.approve_report(self.session, r.id)):
            return False
        from desktop.ui.token_sign import sign_interactively

        if sign_interactively(self, self.session, r.id):  # the head's USB token, when there is one
            self.reload()
        return True

    def open_send_back_dialog(self) -> SendBackDialog | None:
        r = self.report
        if r is None:
            return None
        dlg = SendBackDialog(r.period.label, self)
        dlg.accepted.connect(lambda: self.send_back(dlg.text()))
        self.dialog = dlg
        dlg.open()
        return dlg

    def send_back(self, comment: str) -> bool:
        r = self.report
        if r is None:
            return False
        return self._transition(lambda: progress.send_back(self.session, r.id, comment))

    def _transition(self, call: Callable[[], Any]) -> bool:
        """Run a workflow step as an operation; True once it has succeeded (at once in tests)."""
        done: list[bool] = []

        def succeeded(_view) -> None:
            done.append(True)
            self.undo_stack.clear()
            self.reload()

        ops.Op(self, call, changes=ops.Changes.REPORTS).success(succeeded).run()
        return bool(done)

    # ================================================================== evidence
    def _pick_files_dialog(self) -> list[str]:
        files, _ = QFileDialog.getOpenFileNames(
            self, self.tr("Chọn tệp minh chứng"), "",
            self.tr("Minh chứng (*.pdf *.png *.jpg *.jpeg *.gif *.bmp *.tif *.tiff *.webp *.doc *.docx *.xls *.xlsx "
                    "*.ppt *.pptx *.odt *.ods *.odp *.rtf *.txt *.zip);;Mọi tệp (*)"))
        return files

    def attach_evidence(self) -> None:
        code, r = self._current_code, self.report
        if not code or r is None or not self.editable:
            return
        paths = [Path(p) for p in (self.pick_files() or [])]
        if not paths:
            return
        self.flush()
        if not self._ensure_report():
            return
        r = self.report
        session = self.session

        def work():
            done, failed = [], []
            for p in paths:
                try:
                    done.append(progress.attach_evidence(session, r.id, code, p))
                except AppError as exc:
                    failed.append(exc)
            return done, failed

        self.saved_label.setText(self.tr("Đang mã hóa và lưu minh chứng…"))
        ops.Op(self, work, changes=ops.Changes.PROGRESS).success(lambda res: self._attached(r.id, code, *res)) \
            .with_progress(self.tr("Đang mã hóa và lưu minh chứng…")).run()

    def _attached(self, report_id: int, code: str, done: list, failed: list) -> None:
        if self.report is None or self.report.id != report_id:
            done = []           # another report is on screen now; it was linked all the same
        if done:
            self._evidence[code] = tuple(self._evidence.get(code, ())) + tuple(done)
            if self.editor is not None and self.editor.code == code:
                self.editor.set_evidence(self._evidence[code])
            self._refresh_row(code)
            self.saved_label.setText(self.tr("Đã đính kèm {0} tệp.").format(len(done)))
        else:
            self.saved_label.setText("")
        if failed:
            show_error(self, failed[0] if len(failed) == 1 else AppError(
                "\n".join(e.user_text() for e in failed)), self.tr("Không đính kèm được"))

    def remove_evidence(self, info) -> None:
        code, r = self._current_code, self.report
        if info is None or r is None or not self.editable:
            return
        if not MessageBox.question(self, self.tr("Gỡ minh chứng"), self.tr(
                "Gỡ tệp “{0}” khỏi mục tiêu {1}?").format(info.filename, code)):
            return
        try:
            progress.remove_evidence(self.session, r.id, info.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return
        ops.announce(ops.Changes.PROGRESS, self)
        self._evidence[code] = tuple(e for e in self._evidence.get(code, ()) if e.id != info.id)
        if self.editor is not None and self.editor.code == code:
            self.editor.set_evidence(self._evidence[code])
        self._refresh_row(code)

    def view_evidence(self, info):
        if info is None:
            return None
        from desktop.ui.evidence_viewer import EvidenceViewer

        if self.viewer is not None and not self.viewer.isVisible():
            self.viewer.deleteLater()
        self.viewer = EvidenceViewer(self.session, info, self)
        self.viewer.open()
        return self.viewer
