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
from PySide6.QtCore import QCoreApplication, QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoCommand, QUndoStack
from PySide6.QtWidgets import (QComboBox, QDialog, QFileDialog, QFrame, QHBoxLayout, QLabel, QPlainTextEdit,
                               QPushButton, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date, fmt_percent
from desktop.models.services import plans, progress, units
from desktop.models.domain.plan import PERIOD_TYPE_LABELS, PERIOD_TYPES, Plan, ReportingPeriod, Target
from desktop.models.domain.entry_rules import (EarlierDone, default_period, earlier_count, earlier_done, field_batches, is_entered,
                                               not_entered, period_in_work, report_date, return_comment, same_value,
                                               saveable, status_of, validate_entry, values_of)
from desktop.models.domain.errors import AppError, PermissionDenied, ValidationError
from desktop.models.domain.i18n import nfc
from desktop.models.storage.vault import Permission
from desktop.ui import ops, theme
from desktop.ui.entry_dialogs import SendBackDialog
from desktop.ui.entry_editor import (FIELD_LABELS, DateBox, EditorContext, NarrativeEditor, NumberBox,  # noqa: F401
                                     TargetEditor, _num, field_label, status_colour)
from desktop.ui.entry_targets import EntryRow, TargetList, entry_columns  # noqa: F401
from desktop.ui.messages import MessageBox, show_error

log = logging.getLogger(__name__)

NARRATIVE = "narrative"   # pseudo target code of the narrative sections in the pending/undo bookkeeping


def _t(text: str) -> str:
    return QCoreApplication.translate("EntryForm", text)


def _drop_same(table: dict[str, dict], code: str, values: dict) -> None:
    """Forget the values of `code` in `table` (pending, or being saved) equal to `values`."""
    held = table.get(code, {})
    for k, v in values.items():
        if k in held and same_value(k, held[k], v):
            held.pop(k)
    if not held:
        table.pop(code, None)


def _listing(codes: list[str], at_most: int = 6) -> str:
    return ", ".join(codes[:at_most]) + ("…" if len(codes) > at_most else "")


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


@dataclass
class SaveOutcome:
    """What one autosave stored (built on the worker thread, read on the GUI thread)."""

    report: progress.ReportView | None = None     # re-read when the save created it or changed its state
    transitions: list[progress.TransitionView] = field(default_factory=list)
    entries: dict[str, progress.EntryView] = field(default_factory=dict)   # the latest view per target
    done: dict[str, dict] = field(default_factory=dict)        # code -> fields stored, as stored
    refused: dict[str, AppError] = field(default_factory=dict)  # code -> why the rest was not stored
    narrative: dict[str, str] = field(default_factory=dict)    # sections stored, as stored
    narrative_error: AppError | None = None


def save_entries(session, report: progress.ReportView, jobs: dict[str, list[dict]],
                 narrative: dict[str, str]) -> SaveOutcome:
    """The autosave: services only, no widgets (runs on the operation worker). Creates the
    report on its first save (`unsaved_report`); one `record_progress` call per batch (each field
    a revision); a refusal stops that target only."""
    out = SaveOutcome()
    created = not report.id
    if created:
        report = progress.open_report(session, report.plan_id, report.period)
    for code, batches in jobs.items():
        for batch in batches:
            try:
                view = progress.record_progress(session, report.id, code, **batch)
            except AppError as exc:
                out.refused[code] = exc
                break
            out.entries[code] = view
            out.done.setdefault(code, {}).update({k: getattr(view, k) for k in batch})
    if narrative:
        try:
            progress.save_narrative(session, report.id, dict(narrative))
            out.narrative = {k: nfc(v or "").strip() for k, v in narrative.items()}
        except AppError as exc:
            out.narrative_error = exc
    if created or report.status != progress.DRAFT:      # a returned report becomes a draft when edited
        out.report = progress.get_report(session, report.id)
        out.transitions = progress.report_transitions(session, report.id)
    return out


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
        self._in_flight: dict[str, dict] = {}       # code -> values a running save is storing
        self._in_flight: dict[str, dict] = {}       # code -> values a running save is storing
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
        self.targets = TargetList(self)
        self.model, self.target_view = self.targets.model, self.targets.view          # short names
        self.search_edit, self.filter_combo = self.targets.search_edit, self.targets.filter_combo
        self.match_label = self.targets.match_label
        self.target_view.selectionModel().currentChanged.connect(self._on_row)
        self.target_view.installEventFilter(self)
        self.targets.filterChanged.connect(self._after_filter)
        self.find_shortcut = QShortcut(QKeySequence.StandardKey.Find, self, self.targets.focus_search,
                                       context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

        self.editor_area = QScrollArea(objectName="editorArea")
        self.editor_area.setWidgetResizable(True)
        self.editor_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.editor_area.setFrameShape(QFrame.Shape.NoFrame)
        self.empty_label = QLabel(self.tr("Chọn một mục tiêu ở danh sách bên trái để nhập kết quả."))
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet(theme.FAINT_TEXT)
        self.editor_area.setWidget(self.empty_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.targets)
        self.splitter.addWidget(self.editor_area)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([520, 500])
        self.splitter.setChildrenCollapsible(False)

        # --- narrative -------------------------------------------------------------------------------
        self.narrative = NarrativeEditor()
        self.narrative_edits = self.narrative.edits
        self.narrative.edited.connect(self._on_narrative_edit)
        for box in self.narrative_edits.values():
            box.installEventFilter(self)

        self.tabs = QTabWidget(objectName="entryTabs")
        self.tabs.addTab(self.splitter, self.tr("Mục tiêu, nhiệm vụ"))
        self.tabs.addTab(self.narrative, self.tr("Báo cáo chung (I–VI)"))

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
            return period_in_work(plan.year, mine, self.today)
        return default_period(plan.year, ptype, self.today)

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
        period = default_period(self._plan.year, ptype, self.today)
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
        self._in_flight = {}
        self._current_code = None
        self.undo_stack.clear()
        self.model.set_rows([])
        self._set_editor(None)
        self.report_chip.setText("")
        self.report_chip.setStyleSheet("")
        self.progress_label.setText("")
        self.saved_label.setText("")
        self._set_banner(reason, "info")
        self.narrative.set_texts({}, read_only=True)
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
        self._saved = {t.code: values_of(r.entries.get(t.code)) for t in loaded.targets}
        self._evidence = {t.code: (r.entries[t.code].evidence if t.code in r.entries else ()) for t in loaded.targets}
        self._pending, self._problems, self._in_flight = {}, {}, {}
        self._narrative_saved = {k: r.narrative.get(k, "") for k in progress.NARRATIVE_SECTIONS}
        self.undo_stack.clear()
        self._last_saved_at = None

        self._apply_header()
        self.narrative.set_texts(self._narrative_saved, read_only=not self.editable)
        self.model.set_rows([self._row_for(t) for t in loaded.targets])
        self.tabs.setTabText(0, self.tr("Mục tiêu, nhiệm vụ ({0})").format(len(loaded.targets)))
        self._update_progress_label()
        self.saved_label.setText(self.tr("Cập nhật lần cuối: {0}").format(r.updated_at.strftime("%d/%m/%Y %H:%M"))
                                 if r.entries or any(r.narrative.values()) else "")
        self._current_code = None
        self.targets.update_match_label(len(self._targets))
        shown = self.model.rows()
        code = keep_code if keep_code and self.model.index_of(keep_code).isValid() else \
            (shown[0].code if shown else None)
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

    @property
    def report(self) -> progress.ReportView | None:
        return self.loaded.report if self.loaded else None

    @property
    def editable(self) -> bool:
        r = self.report
        return bool(r and r.editable and self.can_edit)

    def comment_for(self, code: str) -> str:
        return return_comment(self.report, code) if self.report else ""

    def _banner_for(self, loaded: LoadedReport) -> tuple[str, str]:
        r = loaded.report
        when = lambda d: fmt_date(d) if d else ""  # noqa: E731
        general = return_comment(r)
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
        if not self.loaded:
            return 0.0
        return earlier_count(code, self.loaded.period, self.loaded.others)

    def _earlier_done(self, code: str) -> EarlierDone | None:
        if not self.loaded:
            return None
        return earlier_done(code, self.loaded.period, self.loaded.others)

    def _status_for(self, code: str):
        if not self.loaded:
            return None
        # an invalid value typed is not judged: the status stays that of what is saved
        values = self.values(code) if not self._problems.get(code) else self._saved.get(code, {})
        return status_of(self._targets[code], self.loaded.plan.year, self.loaded.period, values,
                                     self.loaded.others, self.as_of,
                                     submission_days=dict(self.loaded.plan.submission_deadlines))

    @property
    def as_of(self) -> date:
        """The report date of the status: the period's last day, or today while it runs."""
        return report_date(self.today, self.loaded.period) if self.loaded else self.today

    def is_entered(self, code: str) -> bool:
        return is_entered(self._targets[code], self.values(code))

    def not_entered(self) -> list[str]:
        """The targets of the report without a result yet (saved or typed)."""
        return not_entered(self._targets.values(), {c: self.values(c) for c in self._targets})

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
            evidence_count=len(self._evidence.get(code, ())),
            entered=self.is_entered(code), status=result.status if result else None)

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
        filled = len(self._targets) - len(self.not_entered())
        self.progress_label.setText(self.tr("Đã nhập {0}/{1} mục tiêu · {2}").format(
            filled, len(self._targets), self.loaded.period.label))

    # ================================================================== finding a target
    def set_filter(self, key: str) -> None:
        self.targets.set_filter(key)

    def apply_filter(self) -> None:
        self.targets.apply_filter()

    def _after_filter(self) -> None:
        """Keep the target being edited selected when it still shows, else select the first one."""
        self.targets.update_match_label(len(self._targets) if self.loaded else 0)
        if self._current_code and self.model.index_of(self._current_code).isValid():
            self.select_target(self._current_code)
        elif self.model.target_count():
            self.select_target(self.model.rows()[0].code)

    # ================================================================== the editor
    def select_target(self, code: str) -> bool:
        """Select a target shown in the list and open its editor (False when it is not shown)."""
        if not self.targets.select_target(code):
            return False
        if self._current_code != code:
            self._show_editor(code)
        return True

    @property
    def current_code(self) -> str | None:
        return self._current_code

    def _on_row(self, current: QModelIndex, previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = self.model.row_at(current)
        if row is None:             # a group heading (clicked): the editor stays on its target
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
        """Go to the next target shown (Enter) and put the cursor in its first field."""
        if self._current_code is None:
            return False
        nxt = self.model.neighbour(self._current_code, 1)
        if nxt is None:
            self.flush()
            self.saved_label.setText(self.tr("Đã đến mục tiêu cuối cùng."))
            return False
        self.select_target(nxt.code)
        self.focus_editor()
        return True

    def focus_editor(self) -> None:
        if self.editor is not None and self.editor.first_input() is not None:
            self.editor.first_input().setFocus(Qt.FocusReason.TabFocusReason)

    # ================================================================== typing, validating, saving
    def _base(self, code: str) -> dict:
        """What the database holds once the saves under way have finished."""
        saved = self._narrative_saved if code == NARRATIVE else self._saved.get(code, {})
        return {**saved, **self._in_flight.get(code, {})}

    def _on_edit(self, code: str, name: str, value) -> None:
        if not self.editable or code not in self._targets:
            return
        self._set_pending(code, name, value)
        self._validate(code)
        self._refresh_row(code)

    def _set_pending(self, code: str, name: str, value) -> None:
        pend = self._pending.setdefault(code, {})
        if same_value(name, value, self._base(code).get(name)):
            pend.pop(name, None)
        else:
            pend[name] = value
        if not pend:
            self._pending.pop(code, None)
        if not self._restoring:
            self.saved_label.setText(self.tr("Đang chờ lưu…") if self.has_pending_edits() else "")
            self._timer.start()

    def _validate(self, code: str) -> list:
        target = self._targets[code]
        problems = validate_entry(target, self.loaded.plan.year, self.values(code), self.loaded.period)
        self._problems[code] = problems
        if self.editor is not None and self.editor.code == code:
            self.editor.show_problems(problems)
        return problems

    def _saveable(self, code: str) -> dict:
        """The pending fields of `code` that can be saved now (valid, not already being saved)."""
        base = self._base(code)
        pending = {k: v for k, v in self._pending.get(code, {}).items() if not same_value(k, v, base.get(k))}
        return saveable(self._targets[code], self.loaded.plan.year, self.loaded.period, base, pending)

    def flush(self, push_undo: bool = True) -> bool:
        """Start saving every pending valid change; True when nothing is left unsaved (values that
        break a rule stay on screen, unsaved). The save is an operation on the one worker thread,
        queued before whatever the caller does next (submit, loading another report)."""
        self._timer.stop()
        if not self.loaded or not self.editable:
            return not self.has_unsaved()
        jobs: dict[str, list[dict]] = {}
        for code in list(self._pending):
            if code == NARRATIVE:
                continue
            fields = self._saveable(code)
            if fields:
                jobs[code] = field_batches(self._targets[code], self.loaded.plan.year,
                                                       self.loaded.period, self._base(code), fields)
        narrative = {k: v for k, v in (self._pending.get(NARRATIVE) or {}).items()
                     if not same_value(k, v, self._base(NARRATIVE).get(k))}
        if jobs or narrative:
            self._start_save(jobs, narrative, push_undo)
        if self.has_unsaved():
            n = sum(len(v) for v in self._unsaved().values())
            self.saved_label.setText(self.tr("{0} ô chưa lưu (giá trị chưa hợp lệ)").format(n))
            self.saved_label.setStyleSheet(theme.ERROR_TEXT)
            return False
        self.saved_label.setStyleSheet(theme.MUTED_TEXT)
        return True

    def _start_save(self, jobs: dict[str, list[dict]], narrative: dict[str, str], push_undo: bool) -> None:
        key, session, report = self._shown_key, self.session, self.report
        sent: dict[str, dict] = {code: {k: v for b in batches for k, v in b.items()} for code, batches in jobs.items()}
        if narrative:
            sent[NARRATIVE] = dict(narrative)
        old = {code: {k: self._base(code).get(k) for k in fields} for code, fields in sent.items()}
        for code, fields in sent.items():
            self._in_flight.setdefault(code, {}).update(fields)
        self.saved_label.setText(self.tr("Đang lưu…"))
        ops.Op(self, lambda: save_entries(session, report, jobs, narrative), changes=ops.Changes.PROGRESS,
               finish_on_lock=True) \
            .success(lambda out: self._saved_now(key, out, old, push_undo)) \
            .failure(lambda exc: self._save_failed(key, exc)) \
            .finally_(lambda: self._landed(key, sent)).run()

    def _landed(self, key, sent: dict[str, dict]) -> None:
        """A save has ended (saved, refused or failed): its values are no longer under way."""
        if key != self._shown_key:
            return
        for code, fields in sent.items():
            _drop_same(self._in_flight, code, fields)

    def _save_failed(self, key, exc: BaseException) -> None:
        if key == self._shown_key:
            self.saved_label.setText(self.tr("Chưa lưu được: các giá trị vẫn ở trên màn hình."))
        show_error(self, exc, self.tr("Không lưu được"))

    def _saved_now(self, key, out: "SaveOutcome", old: dict[str, dict], push_undo: bool) -> None:
        """A save has finished (GUI thread): take the stored values, keep what was typed since."""
        if key != self._shown_key or not self.loaded:
            return          # another report is on screen now; the values were saved all the same
        if out.report is not None:
            self.loaded.report, self.loaded.transitions = out.report, out.transitions
            self._apply_header()
        reload = False
        for code, view in out.entries.items():
            self._saved[code] = values_of(view)
            self._evidence[code] = view.evidence
        for code, exc in out.refused.items():
            problems = exc.details.get("problems") or [] if isinstance(exc, ValidationError) else []
            if problems:
                self._problems[code] = list(problems)
                if self.editor is not None and self.editor.code == code:
                    self.editor.show_problems(problems)
            elif isinstance(exc, ValidationError):
                self._pending.pop(code, None)   # e.g. the report was locked meanwhile: keep the screen honest
                reload = True
            if not problems:
                show_error(self, exc, self.tr("Không lưu được"))
        if out.narrative:
            self._narrative_saved.update(out.narrative)
            out.done[NARRATIVE] = dict(out.narrative)
        elif out.narrative_error is not None:
            show_error(self, out.narrative_error, self.tr("Không lưu được"))
        for code, done in out.done.items():
            _drop_same(self._pending, code, done)
            if push_undo and done:
                self.undo_stack.push(EntryEdit(self, code, {k: old[code].get(k) for k in done}, done,
                                               self._undo_text(code, done)))
            if code != NARRATIVE:
                self._validate(code)
                self._refresh_row(code)
        if out.done:
            self._last_saved_at = datetime.now()
            if not self.has_pending_edits():
                self.saved_label.setStyleSheet(theme.MUTED_TEXT)
                self.saved_label.setText(self.tr("Đã lưu lúc {0}").format(self._last_saved_at.strftime("%H:%M:%S")))
            self.saved.emit()
        if reload:
            self.reload()

    def _undo_text(self, code: str, done: dict) -> str:
        if code == NARRATIVE:
            return self.tr("Báo cáo chung · {0}").format(", ".join(self.tr("mục {0}").format(k) for k in done))
        return f"{code} · {', '.join(field_label(k) for k in done)}"

    def has_pending_edits(self) -> bool:
        """Values typed and not saved yet (being saved, waiting, or invalid)."""
        return any(self._pending.values())

    def _unsaved(self) -> dict[str, dict]:
        """Pending values no save is carrying: those that break a rule (or typed since the last flush)."""
        out = {}
        for code, pend in self._pending.items():
            fl = self._in_flight.get(code, {})
            rest = {k: v for k, v in pend.items() if not (k in fl and same_value(k, v, fl[k]))}
            if rest:
                out[code] = rest
        return out

    def has_unsaved(self) -> bool:
        return bool(self._unsaved())

    def unsaved_items(self) -> list[str]:
        out = []
        for code, pend in self._unsaved().items():
            for name in pend:
                if code == NARRATIVE:
                    out.append(self.tr("Mục {0} của báo cáo chung").format(name))
                    continue
                msg = next((p.message for p in self._problems.get(code, []) if p.field == name), "")
                out.append(f"{code} – {field_label(name)}" + (f": {msg}" if msg else ""))
        return out

    def save_now(self) -> bool:
        """Ctrl+S."""
        return self.flush()

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
        for code, rest in self._unsaved().items():
            pend = self._pending.get(code, {})
            for k in rest:
                pend.pop(k, None)
            if not pend:
                self._pending.pop(code, None)
        self._problems.clear()
        return True

    # --- narrative ---------------------------------------------------------------------------------
    def _on_narrative_edit(self, key: str, text: str) -> None:
        if self.editable:
            self._set_pending(NARRATIVE, key, text)

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
                self.narrative.set_texts(values)
            else:
                if self._current_code != code:
                    self.select_target(code)
                if self.editor is not None and self.editor.code == code:
                    self.editor.set_values(values)
            for name, value in values.items():
                self._set_pending(code, name, value)
            if code != NARRATIVE:
                self._validate(code)
            self.flush(push_undo=False)
            if not self.has_pending_edits():
                self.saved_label.setText(self.tr("Đã hoàn tác và lưu lúc {0}").format(
                    datetime.now().strftime("%H:%M:%S")))
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
        empty = self.not_entered()
        missing = [c for c, t in self._targets.items() if t.evidence_required and not self._evidence.get(c)
                   and c not in empty]
        if empty:
            text = self.tr("Còn {0}/{1} mục tiêu chưa nhập kết quả kỳ {2} ({3}). Vẫn trình duyệt?").format(
                len(empty), len(self._targets), r.period.label, _listing(empty))
        else:
            text = self.tr("Trình báo cáo {0} lên lãnh đạo đơn vị duyệt?").format(r.period.label)
        text += "\n" + self.tr("Sau khi trình, số liệu bị khóa cho đến khi được duyệt hoặc trả lại.")
        if missing:
            text += "\n\n" + self.tr("Lưu ý: {0} mục tiêu cần minh chứng nhưng chưa đính kèm: {1}.").format(
                len(missing), _listing(missing))
        if not MessageBox.question(self, self.tr("Trình duyệt"), text):
            if empty:               # show what is left to enter
                self.search_edit.clear()
                self.set_filter("not_entered")
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
        session, key = self.session, self._shown_key

        def work():
            report = r if r.id else progress.open_report(session, r.plan_id, r.period)   # created on first use
            done, failed = [], []
            for p in paths:
                try:
                    done.append(progress.attach_evidence(session, report.id, code, p))
                except AppError as exc:
                    failed.append(exc)
            return (progress.get_report(session, report.id) if not r.id else None), done, failed

        self.saved_label.setText(self.tr("Đang mã hóa và lưu minh chứng…"))
        ops.Op(self, work, changes=ops.Changes.PROGRESS).success(lambda res: self._attached(key, code, *res)) \
            .with_progress(self.tr("Đang mã hóa và lưu minh chứng…")).run()

    def _attached(self, key, code: str, created, done: list, failed: list) -> None:
        if key != self._shown_key:
            done = []           # another report is on screen now; it was linked all the same
        elif created is not None and not self.report.id:
            self.loaded.report = created
            self._apply_header()
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
        session, key = self.session, self._shown_key
        ops.Op(self, lambda: progress.remove_evidence(session, r.id, info.id), changes=ops.Changes.PROGRESS) \
            .success(lambda _none: key == self._shown_key and self._removed(code, info)).run()

    def _removed(self, code: str, info) -> None:
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
