"""The editor of one target in the entry form ("Nhập tiến độ"): the inputs fitted to how the
target is measured, what it is, its live status, the province's comment and its evidence.

It shows and emits; it never saves and holds no rule of its own: validation, what earlier
reports said and the status come from :mod:`desktop.models.domain.plan.entry_rules` through the form
(:class:`EditorContext`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QCoreApplication, QLocale, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (QAbstractSpinBox, QCheckBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QPlainTextEdit, QPushButton, QScrollArea, QSpinBox, QVBoxLayout,
                               QWidget)

from desktop.export.vnformat import fmt_date, fmt_int, fmt_percent
from desktop.models.domain.plan import ReportingPeriod, Target, fmt_percent_value
from desktop.models.domain.entry_rules import TEXT_FIELDS, EarlierDone, FieldProblem, redated_warning
from desktop.models.services.progress import NARRATIVE_SECTIONS, NARRATIVE_TITLES
from desktop.ui import theme
from desktop.ui.fields import DateField

VI_LOCALE = QLocale(QLocale.Language.Vietnamese, QLocale.Country.Vietnam)
ROLE_ROW = Qt.ItemDataRole.UserRole

#: Vietnamese names of the entry fields (also used by the history tables).
FIELD_LABELS = {
    "numerator": "Tử số", "denominator": "Mẫu số", "count": "Số lần trong kỳ", "done": "Đã hoàn thành",
    "done_date": "Ngày hoàn thành", "result_text": "Kết quả đạt được", "difficulties": "Khó khăn, vướng mắc",
    "proposals": "Đề xuất, kiến nghị", "evidence": "Minh chứng",
}


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
    earlier_done: EarlierDone | None = None   # milestones: the earlier report that marked it done


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
            dt.invalidText.connect(lambda reason: self.show_problems([FieldProblem(target.code, "done_date", reason)]))
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
        if on and dt is not None and earlier is not None and earlier.done_date is not None:
            self._loading = True            # completed before: the date is that completion's date
            try:
                dt.set_py_date(earlier.done_date)
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

    def show_problems(self, problems: list[FieldProblem]) -> None:
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
        when, period_label = earlier.done_date, earlier.period.label
        text = (self.tr("Đã báo hoàn thành ngày {0} trong báo cáo {1}.").format(fmt_date(when), period_label)
                if when else self.tr("Đã báo hoàn thành trong báo cáo {0}.").format(period_label))
        done = self.inputs.get("done")
        warning = redated_warning(earlier, {"done": done is not None and done.isChecked(),
                                                        "done_date": self.value("done_date")})
        if warning:
            text += " " + warning
        style = theme.WARNING_TEXT if warning else theme.MUTED_TEXT
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


class NarrativeEditor(QScrollArea):
    """The six narrative sections of the report (I–VI), one box each. Emits `edited(key, text)`;
    never saves itself (the form saves them with the targets)."""

    edited = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.edits: dict[str, QPlainTextEdit] = {}
        inner = QWidget()
        lay = QVBoxLayout(inner)
        lay.addWidget(QLabel(self.tr("Phần thuyết minh của báo cáo; được lưu tự động như số liệu."), wordWrap=True))
        prev = None
        for key in NARRATIVE_SECTIONS:
            lab = QLabel(f"{key}. {QCoreApplication.translate('Progress', NARRATIVE_TITLES[key])}")
            lab.setStyleSheet(theme.BOLD)
            box = _text_box(4)
            lab.setBuddy(box)
            box.textChanged.connect(lambda k=key, b=box: self.edited.emit(k, b.toPlainText()))
            lay.addWidget(lab)
            lay.addWidget(box)
            if prev is not None:
                QWidget.setTabOrder(prev, box)
            prev = box
            self.edits[key] = box
        lay.addStretch(1)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidget(inner)

    def set_texts(self, texts: dict, read_only: bool | None = None) -> None:
        """Show `texts` (key -> text) without emitting edits. With `read_only` (a report loaded)
        every section is set, those not given emptied; without it (undo) only those given."""
        for key, box in self.edits.items():
            if key in texts or read_only is not None:
                box.blockSignals(True)
                box.setPlainText(texts.get(key, "") or "")
                box.blockSignals(False)
            if read_only is not None:
                box.setReadOnly(read_only)

