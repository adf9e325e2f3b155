"""The "Trao đổi" page: send the approved report, the outbox, receive from the shared folder,
this office's key fingerprint, the keys of other offices and enrolment.

Widgets call services in desktop.models.services.exchange / keystore and show their plain dataclasses;
exports, scans, returns and key actions run as operations (desktop.ui.ops). Dialogs and file
pickers are attributes (``confirm_dialog_factory``, ``report_dialog_factory``, ``open_file_provider``,
``folder_provider``) so tests answer them without a modal loop.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFileDialog, QFrame, QGridLayout,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QPushButton,
                               QSizePolicy, QTabWidget, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date, fmt_datetime, fmt_period
from desktop.models.services import exchange, keystore, plans, units
from desktop.models.domain import workflow
from desktop.models.storage.vault import AppSession, Permission
from desktop.ui.admin_pages import _table
from desktop.ui.table_models import RowTableModel, period_order
from desktop.ui.messages import MessageBox, show_error
from desktop.ui import ops
from desktop.ui import theme


def _stretch(view, column: int, last_width: int | None = None) -> None:
    """Give the free width to ``column`` (text elided, full text in the tooltip); a fixed,
    user-resizable last column when ``last_width`` is given."""
    header = view.horizontalHeader()
    header.setStretchLastSection(last_width is None)
    header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
    if last_width is not None:
        last = view.model().columnCount() - 1
        header.setSectionResizeMode(last, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(last, last_width)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)


def _fingerprint_font(size: int) -> QFont:
    f = QFont("DejaVu Sans Mono")
    f.setStyleHint(QFont.StyleHint.Monospace)
    f.setPointSize(size)
    f.setBold(True)
    f.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 1.5)
    return f


# ------------------------------------------------------------------ table models (fed rows)
class SendableReportModel(RowTableModel):
    """The unit's reports; `titles` (plan id → title, kept up to date by the page) names the plans."""

    def __init__(self, parent=None, titles: dict[str, str] | None = None):
        super().__init__(parent)
        t = self.titles = titles if titles is not None else {}
        self.columns = [
            ("Kế hoạch", lambda r: t.get(r.plan_id, r.plan_id)),
            ("Kỳ báo cáo", lambda r: r.period_label, lambda r: period_order(r.period_key)),
            ("Trạng thái", lambda r: r.status_label),
            ("Lần sửa", lambda r: r.revision),
            ("Gửi lúc", lambda r: fmt_datetime(r.sent_at), lambda r: r.sent_at),
        ]


class OutboxModel(RowTableModel):
    """Bundles written for the share; `names` (unit code → name, kept up to date by the page)."""

    def __init__(self, parent=None, names: dict[str, str] | None = None):
        super().__init__(parent)
        n = self.names = names if names is not None else {}
        self.columns = [
            ("Lập lúc", lambda i: fmt_datetime(i.written_at or i.created_at), lambda i: i.written_at or i.created_at),
            ("Gửi đến", lambda i: n.get(i.recipient_unit, i.recipient_unit)),
            ("Loại", lambda i: i.kind_label),
            ("Kỳ", lambda i: fmt_period(i.period), lambda i: period_order(i.period)),
            ("Số", lambda i: i.seq),
            ("Trạng thái", lambda i: i.state_label),
            ("Lỗi gần nhất", lambda i: (i.last_error_message or "") if i.pending else ""),
        ]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid() and 0 <= index.row() < len(self._rows):
            item = self._rows[index.row()]
            if item.pending and item.last_error:
                return QColor(theme.ERROR)
        return super().data(index, role)


class ImportResultModel(RowTableModel):
    """What one scan did with each file; `names` as in OutboxModel (an unknown sender keeps its code)."""

    def __init__(self, parent=None, names: dict[str, str] | None = None):
        super().__init__(parent)
        n = self.names = names if names is not None else {}
        self.columns = [
            ("Kết quả", lambda x: x.verdict_label),
            ("Từ", lambda x: n.get(x.sender_unit, x.sender_unit) if x.sender_unit else ""),
            ("Loại", lambda x: x.kind_label),
            ("Số", lambda x: x.seq or ""),
            ("Lý do / ghi chú", lambda x: " ".join(p for p in (x.message if x.reason else "", x.warning) if p)
             or x.message),
            ("Tệp", lambda x: x.source),
        ]

    COLOURS = {exchange.APPLIED: theme.OK, exchange.APPLIED_GAP: theme.WARNING, exchange.REPLAY: theme.CODE,
               exchange.REJECTED: theme.ERROR, exchange.ERROR: theme.ERROR}

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid() and 0 <= index.row() < len(self._rows):
            return QColor(self.COLOURS.get(self._rows[index.row()].verdict, theme.INK))
        return super().data(index, role)


class TrustedKeyModel(RowTableModel):
    columns = [
        ("Đơn vị", lambda t: t.unit_code),
        ("Vân tay", lambda t: t.fingerprint),
        ("Trạng thái", lambda t: t.state_label),
        ("Xác nhận", lambda t: f"{t.confirmed_by}, {fmt_datetime(t.confirmed_at)}" if t.confirmed_at else "",
         lambda t: t.confirmed_at),
        ("Mã khóa", lambda t: t.key_id),
        ("Tên đơn vị", lambda t: t.unit_name),
    ]

    COLOURS = {"pending": theme.WARNING, "revoked": theme.ERROR}

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid() and 0 <= index.row() < len(self._rows):
            c = self.COLOURS.get(self._rows[index.row()].state)
            return QColor(c) if c else None
        return super().data(index, role)


class QuarantineModel(RowTableModel):
    columns = [
        ("Lý do", lambda q: q.message or q.reason),
        ("Tệp", lambda q: q.path.name),
    ]

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ToolTipRole and index.isValid() and 0 <= index.row() < len(self._rows):
            return self.tr("Mã lý do (cho bộ phận hỗ trợ): {0}").format(self._rows[index.row()].reason)
        return super().data(index, role)


class ReceivedReportModel(RowTableModel):
    """Reports received from the units below; `titles` as in SendableReportModel."""

    def __init__(self, parent=None, titles: dict[str, str] | None = None):
        super().__init__(parent)
        t = self.titles = titles if titles is not None else {}
        self.columns = [
            ("Đơn vị", lambda r: r.unit_name or r.unit_code),
            ("Kế hoạch", lambda r: t.get(r.plan_id, r.plan_id)),
            ("Kỳ", lambda r: fmt_period(r.period_key), lambda r: period_order(r.period_key)),
            # the revision joins the state and the day stands for the time, so the unit's name
            # keeps room in half of a 1366×768 screen (the full history is in the report dialog)
            ("Trạng thái", lambda r: workflow.label(r.status, at_superior=True) + (
                f" (sửa lần {r.revision})" if r.revision else ""), lambda r: (r.status, r.revision)),
            ("Nhận ngày", lambda r: fmt_date(r.received_at) if r.received_at else "", lambda r: r.received_at),
            ("Chữ ký số", lambda r: r.signature_label),
        ]


# ------------------------------------------------------------------ dialogs
class FingerprintConfirmDialog(QDialog):
    """Shows the fingerprint of a received key large and asks the administrator to type the one
    printed on the other office's signed paper form; "Xác nhận" is enabled only when they match."""

    def __init__(self, title: str, unit_text: str, fingerprint: str, details: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(560)
        self.expected = fingerprint
        lay = QVBoxLayout(self)
        head = QLabel(unit_text)
        head.setWordWrap(True)
        head.setStyleSheet(theme.SECTION_TITLE)
        lay.addWidget(head)
        lay.addWidget(QLabel(self.tr("Vân tay khóa trong tệp:")))
        shown = QLabel(fingerprint, objectName="shownFingerprint")
        shown.setFont(_fingerprint_font(22))
        shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(shown)
        for d in details:
            lab = QLabel(d)
            lab.setWordWrap(True)
            lay.addWidget(lab)
        note = QLabel(self.tr("Đối chiếu với vân tay in trên văn bản giấy có chữ ký, đóng dấu của đơn vị gửi "
                              "(hoặc đọc qua điện thoại với người ký, gọi theo số đã biết trước). "
                              "Gõ lại vân tay trên văn bản giấy vào ô dưới đây; chỉ khi trùng khớp mới xác nhận được."))
        note.setWordWrap(True)
        lay.addWidget(note)
        self.typed = QLineEdit(objectName="typedFingerprint")
        self.typed.setFont(_fingerprint_font(14))
        self.typed.setPlaceholderText("00000 00000 00000 00000")
        lay.addWidget(self.typed)
        self.feedback = QLabel(objectName="fingerprintFeedback")
        lay.addWidget(self.feedback)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText(self.tr("Xác nhận khóa"))
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText(self.tr("Chưa xác nhận"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        self.typed.textChanged.connect(self._check)
        self._check()

    def _check(self) -> None:
        text = self.typed.text()
        digits = sum(ch.isdigit() for ch in text)
        ok = keystore.fingerprints_match(self.expected, text)
        self.ok_button.setEnabled(ok)
        if ok:
            self.feedback.setText(self.tr("Trùng khớp."))
            self.feedback.setStyleSheet(theme.OK_TEXT)
        elif digits >= 20:
            self.feedback.setText(self.tr("KHÔNG trùng khớp. Không xác nhận khóa này; báo ngay cho đơn vị gửi."))
            self.feedback.setStyleSheet(theme.ERROR_STRONG)
        else:
            self.feedback.setText(self.tr("Đã nhập {0}/20 chữ số.").format(digits))
            self.feedback.setStyleSheet("")

    def fingerprint(self) -> str:
        return self.typed.text()


# ------------------------------------------------------------------ the page
class ExchangePage(QWidget):
    changed = Signal()

    def __init__(self, session: AppSession, parent=None):
        super().__init__(parent)
        self.session = session
        self.confirm_dialog_factory = FingerprintConfirmDialog
        self.report_dialog_factory = None   # None: the consolidation page's UnitReportDialog (tests replace it)
        self.last_dialog = None
        self.open_file_provider = self._ask_open_files
        self.folder_provider = self._ask_folder
        can_exchange = session.user.can(Permission.EXCHANGE)
        can_keys = session.user.can(Permission.MANAGE_KEYS)
        self.me = units.own_unit(session)

        # header: title + share status on the left, this office's fingerprint on the right
        title = QLabel(self.tr("Trao đổi dữ liệu với đơn vị khác"))
        title.setStyleSheet(theme.PAGE_TITLE)
        self.share_label = QLabel(objectName="shareStatus")
        self.share_label.setWordWrap(True)
        self.scan_button = QPushButton(self.tr("Nhận gói tin từ thư mục dùng chung"), objectName="scanInbox")
        self.open_button = QPushButton(self.tr("Mở tệp gói tin…"), objectName="openBundle")
        left = QVBoxLayout()
        left.addWidget(title)
        left.addWidget(self.share_label)
        row = QHBoxLayout()
        row.addWidget(self.scan_button)
        row.addWidget(self.open_button)
        self.busy_label = QLabel(objectName="busyLabel")
        self.busy_label.setStyleSheet(theme.BUSY_TEXT)
        self.busy_label.setVisible(False)
        row.addWidget(self.busy_label)
        row.addStretch(1)
        left.addLayout(row)
        fp_box = QFrame(objectName="fingerprintBox")
        fp_box.setFrameShape(QFrame.Shape.StyledPanel)
        fp_box.setStyleSheet(theme.FINGERPRINT_BOX)
        fp_lay = QVBoxLayout(fp_box)
        fp_lay.setContentsMargins(14, 8, 14, 8)
        fp_lay.addWidget(QLabel(self.tr("Vân tay khóa của đơn vị (đối chiếu trên giấy, qua điện thoại)")))
        self.fingerprint_label = QLabel(objectName="ownFingerprint")
        self.fingerprint_label.setFont(_fingerprint_font(24))
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        fp_lay.addWidget(self.fingerprint_label)
        self.key_id_label = QLabel(objectName="ownKeyId")
        self.key_id_label.setStyleSheet(theme.CODE_TEXT)
        self.request_button = QPushButton(self.tr("Lập phiếu đăng ký khóa…"), objectName="makeEnrolment")
        self.rotate_button = QPushButton(self.tr("Đổi khóa…"), objectName="rotateKeys")
        fp_row = QHBoxLayout()
        fp_row.addWidget(self.key_id_label, 1)
        fp_row.addWidget(self.request_button)
        fp_row.addWidget(self.rotate_button)
        fp_lay.addLayout(fp_row)
        header = QHBoxLayout()
        header.addLayout(left, 1)
        header.addWidget(fp_box)

        # sending
        self._titles: dict[str, str] = {}  # plan id → title, for the tables (filled by refresh)
        self.report_model = SendableReportModel(self, self._titles)
        self.report_view = _table(self.report_model)
        _stretch(self.report_view, 0)
        self.send_button = QPushButton(self.tr("Gửi báo cáo đã duyệt lên cấp trên"), objectName="sendReport")
        send_box = QGroupBox(self.tr("Báo cáo của đơn vị"))
        lay = QVBoxLayout(send_box)
        lay.addWidget(self.report_view)
        r = QHBoxLayout()
        r.addWidget(self.send_button)
        r.addStretch(1)
        lay.addLayout(r)

        self._unit_names: dict[str, str] = {}  # unit code → name, for the tables (filled by refresh)
        self.outbox_model = OutboxModel(self, self._unit_names)
        self.outbox_view = _table(self.outbox_model)
        _stretch(self.outbox_view, 6)
        self.retry_button = QPushButton(self.tr("Chuyển lại các gói đang chờ"), objectName="retryOutbox")
        self.resend_button = QPushButton(self.tr("Gửi lại"), objectName="resendReport")
        self.resend_button.setToolTip(self.tr("Gửi lại báo cáo đã chọn khi cấp trên chưa xác nhận đã nhận "
                                              "(gói tin hoặc xác nhận có thể đã bị xóa trên thư mục dùng chung)."))
        self.outbox_note = QLabel(objectName="outboxNote")
        self.outbox_note.setWordWrap(True)
        out_box = QGroupBox(self.tr("Hộp thư đi"))
        lay = QVBoxLayout(out_box)
        lay.addWidget(self.outbox_view)
        r = QHBoxLayout()
        r.addWidget(self.retry_button)
        r.addWidget(self.resend_button)
        r.addWidget(self.outbox_note, 1)
        lay.addLayout(r)

        # receiving
        self.result_model = ImportResultModel(self, self._unit_names)
        self.result_view = _table(self.result_model)
        _stretch(self.result_view, 4, last_width=170)
        self.result_summary = QLabel(self.tr("Chưa nhận lần nào trong phiên này."), objectName="importSummary")
        self.result_summary.setWordWrap(True)
        results = QWidget()
        lay = QVBoxLayout(results)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.result_view)
        lay.addWidget(self.result_summary)
        self.received_model = ReceivedReportModel(self, self._titles)
        self.received_view = _table(self.received_model)
        # long unit names and plan titles are elided (full text in the tooltip) so the period,
        # state and time stay on screen at 1366×768
        # (unit and plan share the free width; the signature gets a set, user-resizable width)
        _stretch(self.received_view, 0, last_width=100)
        self.received_view.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.received_view.setWordWrap(False)
        self.open_report_button = QPushButton(self.tr("Xem, chấp nhận hoặc trả lại…"), objectName="openUnitReport")
        self.open_report_button.setToolTip(self.tr("Mở báo cáo của đơn vị: số liệu, minh chứng, lịch sử, chữ ký số; "
                                                   "chấp nhận hoặc trả lại kèm ý kiến (cũng ở trang Tổng hợp đơn vị)."))
        received = QWidget()
        lay = QVBoxLayout(received)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.received_view)
        r = QHBoxLayout()
        r.addWidget(self.open_report_button)
        r.addStretch(1)
        lay.addLayout(r)
        self.quarantine_model = QuarantineModel(self)
        self.quarantine_view = _table(self.quarantine_model)
        _stretch(self.quarantine_view, 0)
        self.release_button = QPushButton(self.tr("Xem xét xong, nhận gói đã chọn"), objectName="releaseBundle")
        self.release_button.setToolTip(self.tr("Chỉ dành cho gói bị cách ly vì thứ tự; mọi kiểm tra chữ ký và dữ liệu "
                                               "vẫn được thực hiện lại."))
        quarantined = QWidget()
        lay = QVBoxLayout(quarantined)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.quarantine_view)
        r = QHBoxLayout()
        r.addWidget(self.release_button)
        r.addStretch(1)
        lay.addLayout(r)
        self.in_tabs = QTabWidget(objectName="inboxTabs")
        self.in_tabs.addTab(results, self.tr("Kết quả nhận"))
        self.in_tabs.addTab(received, self.tr("Báo cáo của đơn vị trực thuộc"))
        self.in_tabs.addTab(quarantined, self.tr("Bị cách ly"))
        in_box = QGroupBox(self.tr("Hộp thư đến"))
        QVBoxLayout(in_box).addWidget(self.in_tabs)

        # keys of other offices and enrolment
        self.trust_model = TrustedKeyModel(self)
        self.trust_view = _table(self.trust_model)
        _stretch(self.trust_view, 5)
        self.enrol_import_button = QPushButton(self.tr("Nhập phiếu / gói đăng ký…"), objectName="importEnrolment")
        self.confirm_button = QPushButton(self.tr("Đối chiếu vân tay…"), objectName="confirmKey")
        self.revoke_button = QPushButton(self.tr("Thu hồi khóa"), objectName="revokeKey")
        self.discard_button = QPushButton(self.tr("Bỏ khóa chờ"), objectName="discardKey")
        self.retrust_button = QPushButton(self.tr("Tin cậy lại…"), objectName="retrustKey")
        keys_box = QGroupBox(self.tr("Khóa của các đơn vị (danh sách tin cậy)"))
        lay = QVBoxLayout(keys_box)
        lay.addWidget(self.trust_view)
        for row in ((self.enrol_import_button, self.confirm_button),
                    (self.revoke_button, self.discard_button, self.retrust_button)):
            r = QHBoxLayout()
            for b in row:
                r.addWidget(b)
            r.addStretch(1)
            lay.addLayout(r)

        for box in (send_box, out_box, in_box, keys_box):
            box.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        grid = self._grid = QGridLayout()
        grid.addWidget(send_box, 0, 0)
        grid.addWidget(in_box, 0, 1)
        grid.addWidget(out_box, 1, 0)
        grid.addWidget(keys_box, 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        main = QVBoxLayout(self)
        main.setContentsMargins(12, 8, 12, 8)
        main.addLayout(header)
        main.addLayout(grid, 1)

        for b in (self.scan_button, self.open_button, self.send_button, self.retry_button,
                  self.resend_button):
            b.setEnabled(can_exchange)
        for b in (self.enrol_import_button, self.confirm_button, self.revoke_button, self.request_button,
                  self.rotate_button, self.discard_button, self.retrust_button, self.release_button):
            b.setEnabled(can_keys)
        self.scan_button.clicked.connect(self.scan)
        self.open_button.clicked.connect(self.open_files)
        self.send_button.clicked.connect(self.send_selected)
        self.retry_button.clicked.connect(self.retry)
        self.open_report_button.clicked.connect(self.open_selected_report)
        self.received_view.doubleClicked.connect(lambda _i: self.open_selected_report())
        self.enrol_import_button.clicked.connect(self.import_enrolment)
        self.confirm_button.clicked.connect(self.confirm_selected)
        self.revoke_button.clicked.connect(self.revoke_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        self.retrust_button.clicked.connect(self.retrust_selected)
        self.resend_button.clicked.connect(self.resend_selected)
        self.release_button.clicked.connect(self.release_selected)
        self.request_button.clicked.connect(self.make_enrolment_file)
        self.rotate_button.clicked.connect(self.rotate)
        ops.keep_fresh(self, self.refresh, ops.Changes.EXCHANGE | ops.Changes.REPORTS)
        self.refresh()

    # --- background work
    def _run(self, text: str, fn, on_success, on_failure, with_context: bool = False) -> None:
        """Run ``fn`` as an operation with the action buttons disabled and ``text`` shown."""
        self._set_busy(text)
        ops.Op(self, fn, changes=ops.Changes.EXCHANGE | ops.Changes.REPORTS, with_context=with_context) \
            .success(on_success).failure(on_failure).finally_(lambda: self._set_busy(None)) \
            .with_progress(text, cancellable=with_context).run()

    def _set_busy(self, text: str | None) -> None:
        busy = text is not None
        for b in (self.scan_button, self.open_button, self.send_button, self.retry_button):
            b.setEnabled(not busy and self.session.user.can(Permission.EXCHANGE))
        self.busy_label.setText(text or "")
        self.busy_label.setVisible(busy)

    # --- reading
    def refresh(self) -> None:
        try:
            status = exchange.share_status(self.session)
            info = keystore.own_key_info(self.session)
            self._titles.clear()
            self._titles.update({p.id: p.title for p in plans.list_plans(self.session, include_archived=True)})
            self._unit_names.clear()
            self._unit_names.update(units.unit_names(self.session))
            sendable = exchange.sendable_reports(self.session)
            self.report_model.set_rows(sendable)
            outbox = exchange.list_outbox(self.session)
            self.outbox_model.set_rows(outbox)
            self.trust_model.set_rows(keystore.list_trusted(self.session))
            received = exchange.received_reports(self.session)
            self.received_model.set_rows(received)
            quarantined = exchange.list_quarantined(self.session)
            self.quarantine_model.set_rows(quarantined)
        except Exception as exc:
            show_error(self, exc)
            return
        self.share_label.setText(status.message + (self.tr("\nThư mục dùng chung: {0}").format(status.path)
                                                   if status.path else ""))
        self.share_label.setStyleSheet(theme.OK_TEXT if status.reachable else theme.ERROR_TEXT)
        self.fingerprint_label.setText(info.fingerprint)
        self.key_id_label.setText(self.tr("Mã khóa {0} · tạo ngày {1}").format(info.key_id, fmt_date(info.created_at)))
        pending = [i for i in outbox if i.pending]
        waiting_ack = [i for i in outbox if i.state == exchange.DELIVERED and i.kind == "report"]
        self.outbox_note.setText(self.tr("Chờ chuyển: {0} · Chờ cấp trên xác nhận: {1}").format(
            len(pending), len(waiting_ack)))
        superior = bool(received) or self.me.level != "khu_vuc"
        self.in_tabs.setTabVisible(1, superior)
        # an office with units below works mostly in its inbox: give it the wider column
        self._grid.setColumnStretch(0, 2 if superior else 1)
        self._grid.setColumnStretch(1, 3 if superior else 1)
        self.in_tabs.setTabText(2, self.tr("Bị cách ly ({0})").format(len(quarantined)))
        ready = next((i for i, r in enumerate(sendable) if r.can_send), None)
        if ready is not None:  # the approved report waiting to go is the one to send
            self.report_view.selectRow(ready)

    def _selected(self, view, model):
        idx = view.selectionModel().selectedRows()
        return model.row(idx[0].row()) if idx else None

    # --- sending
    def send_selected(self) -> None:
        report = self._selected(self.report_view, self.report_model)
        if report is None or not report.can_send:
            MessageBox.info(self, self.tr("Gửi báo cáo"), self.tr("Hãy chọn một báo cáo ở trạng thái Đã duyệt."))
            return
        from desktop.models.services import pdfsign
        from desktop.ui.token_sign import sign_interactively

        if (report.status == exchange.APPROVED and pdfsign.archived_pdf(self.session, report.id) is None
                and self.session.user.can(Permission.APPROVE_REPORT) and pdfsign.configured_module(self.session)):
            sign_interactively(self, self.session, report.id)  # sign when sending; unsigned still goes

        def done(res: exchange.ExportResult):
            self.refresh()
            self.changed.emit()
            if res.delivered:
                MessageBox.info(self, self.tr("Đã gửi"), self.tr("Đã gửi báo cáo (gói số {0}) tới {1}.\nTệp: {2}").format(
                    res.item.seq, res.item.recipient_unit, res.item.filename))
            else:
                MessageBox.error(self, self.tr("Chưa chuyển được"), self.tr(
                    "{0}\n\nBáo cáo đã được đóng gói và lưu trong Hộp thư đi; ứng dụng sẽ tự chuyển lại khi khởi động, "
                    "hoặc bấm “Chuyển lại các gói đang chờ”.").format(res.message))

        self._run(self.tr("Đang đóng gói, ký và gửi báo cáo…"),
                  lambda: exchange.export_report(self.session, report.plan_id, report.period_key), done,
                  lambda e: (self.refresh(), show_error(self, e, self.tr("Không gửi được báo cáo"))))

    def retry(self) -> None:
        def done(results):
            self.refresh()
            failed = [r for r in results if not r.delivered]
            if failed:
                MessageBox.error(self, self.tr("Chưa chuyển được"), failed[0].message)
            elif results:
                MessageBox.info(self, self.tr("Đã chuyển"), self.tr("Đã chuyển {0} gói tin.").format(len(results)))
            else:
                MessageBox.info(self, self.tr("Hộp thư đi"), self.tr("Không có gói tin nào đang chờ."))

        self._run(self.tr("Đang chuyển lại…"), lambda: exchange.retry_outbox(self.session), done,
                  lambda e: show_error(self, e))

    # --- receiving
    def _show_results(self, outcomes) -> None:
        self.result_model.set_rows(outcomes)
        self.in_tabs.setCurrentIndex(0)
        counts: dict[str, int] = {}
        labels: dict[str, str] = {}
        for x in outcomes:
            counts[x.verdict] = counts.get(x.verdict, 0) + 1
            labels[x.verdict] = x.verdict_label
        if not outcomes:
            self.result_summary.setText(self.tr("Không có gói tin nào chờ nhận."))
            self.result_summary.setStyleSheet("")
        else:
            parts = [f"{labels[v]}: {n}" for v, n in counts.items()]
            self.result_summary.setText(self.tr("Đã xử lý {0} gói tin — {1}.").format(len(outcomes), "; ".join(parts)))
            bad = counts.get(exchange.REJECTED, 0) + counts.get(exchange.ERROR, 0)
            self.result_summary.setStyleSheet(theme.ERROR_TEXT if bad else theme.OK_TEXT)
        self.refresh()
        self.changed.emit()

    def scan(self) -> None:
        self._run(self.tr("Đang nhận và kiểm tra gói tin…"),
                  lambda ctx: exchange.scan_inbox(self.session, progress=ctx.progress),
                  self._show_results, lambda e: show_error(self, e), with_context=True)

    def open_files(self) -> None:
        paths = self.open_file_provider(self.tr("Chọn tệp gói tin"), self.tr("Gói tin VKS CĐS (*.cdsb)"))
        if not paths:
            return
        self._run(self.tr("Đang kiểm tra gói tin…"), lambda: exchange.import_files(self.session, [Path(p) for p in paths]),
                  self._show_results, lambda e: show_error(self, e))

    def open_selected_report(self):
        """The unit's report in the one place where it is viewed, accepted or returned."""
        report = self._selected(self.received_view, self.received_model)
        if report is None:
            MessageBox.info(self, self.tr("Báo cáo của đơn vị"), self.tr("Hãy chọn một báo cáo của đơn vị trực thuộc."))
            return None
        factory = self.report_dialog_factory
        if factory is None:
            from desktop.ui.consolidation_page import UnitReportDialog as factory
        dlg = factory(self.session, report.id, None, self)
        self.last_dialog = dlg
        dlg.open()
        return dlg

    # --- keys and enrolment
    def _confirm(self, title: str, unit_text: str, fingerprint: str, key_id: str, details: list[str]) -> bool:
        dlg = self.confirm_dialog_factory(title, unit_text, fingerprint, details, self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return False
        result = keystore.confirm_enrolment(self.session, key_id, dlg.fingerprint())
        lines = "\n".join("• " + a for a in result.applied[:20])
        MessageBox.info(self, self.tr("Đã xác nhận khóa"),
                        self.tr("Đã xác nhận khóa của {0}.").format(result.unit_code) + ("\n" + lines if lines else ""))
        return True

    def import_enrolment(self) -> None:
        paths = self.open_file_provider(self.tr("Chọn phiếu hoặc gói đăng ký khóa"),
                                        self.tr("Tệp đăng ký khóa VKS CĐS (*.cdse)"))
        if not paths:
            return
        def received(preview) -> None:
            if preview.needs_confirmation:
                self._confirm(preview.kind_label, f"{preview.unit_name} ({preview.unit_code})", preview.fingerprint,
                              preview.key_id, list(preview.summary))
            else:
                MessageBox.info(self, preview.kind_label, self.tr("Khóa của {0} đã được xác nhận trước đây; đã cập nhật:\n{1}")
                                .format(preview.unit_code, "\n".join("• " + a for a in preview.applied) or "—"))

        path = Path(paths[0])
        ops.Op(self, lambda: keystore.receive_enrolment(self.session, path), changes=ops.Changes.EXCHANGE) \
            .success(received).finally_(self.refresh).run()

    def confirm_selected(self) -> None:
        key = self._selected(self.trust_view, self.trust_model)
        if key is None or key.state != "pending":
            MessageBox.info(self, self.tr("Đối chiếu vân tay"), self.tr("Hãy chọn một khóa đang chờ đối chiếu vân tay."))
            return
        try:
            self._confirm(self.tr("Đối chiếu vân tay"), f"{key.unit_name} ({key.unit_code})", key.fingerprint, key.key_id,
                          [self.tr("Mã khóa: {0}").format(key.key_id)])
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def revoke_selected(self) -> None:
        key = self._selected(self.trust_view, self.trust_model)
        if key is None or key.state == "revoked":
            MessageBox.info(self, self.tr("Thu hồi khóa"), self.tr("Hãy chọn một khóa chưa bị thu hồi."))
            return
        if not MessageBox.question(self, self.tr("Thu hồi khóa"), self.tr(
                "Thu hồi khóa {0} của {1}? Mọi gói tin ký bằng khóa này (kể cả gói cũ) sẽ bị từ chối; "
                "chỉ tin cậy lại được sau khi đối chiếu vân tay trên văn bản giấy.").format(key.key_id, key.unit_code)):
            return
        ops.Op(self, lambda: keystore.revoke_trusted_key(self.session, key.key_id), changes=ops.Changes.EXCHANGE) \
            .finally_(self.refresh).run()

    def discard_selected(self) -> None:
        key = self._selected(self.trust_view, self.trust_model)
        if key is None or key.state != "pending":
            MessageBox.info(self, self.tr("Bỏ khóa chờ"), self.tr("Hãy chọn một khóa đang chờ đối chiếu vân tay."))
            return
        if not MessageBox.question(self, self.tr("Bỏ khóa chờ"), self.tr(
                "Bỏ khóa {0} đang chờ của {1}? Dùng khi tệp đăng ký nhầm hoặc giả mạo; đơn vị thật gửi lại phiếu "
                "đề nghị sẽ được nhận bình thường.").format(key.key_id, key.unit_code)):
            return
        try:
            keystore.discard_pending(self.session, key.key_id)
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def retrust_selected(self) -> None:
        key = self._selected(self.trust_view, self.trust_model)
        if key is None or key.state != "revoked":
            MessageBox.info(self, self.tr("Tin cậy lại"), self.tr("Hãy chọn một khóa đã bị thu hồi."))
            return
        dlg = self.confirm_dialog_factory(self.tr("Tin cậy lại khóa đã thu hồi"), f"{key.unit_name} ({key.unit_code})",
                                          key.fingerprint, [self.tr("Mã khóa: {0}").format(key.key_id)], self)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        try:
            keystore.retrust_key(self.session, key.key_id, dlg.fingerprint())
            MessageBox.info(self, self.tr("Tin cậy lại"), self.tr("Đã tin cậy lại khóa của {0}.").format(key.unit_code))
        except Exception as exc:
            show_error(self, exc)
        self.refresh()

    def resend_selected(self) -> None:
        item = self._selected(self.outbox_view, self.outbox_model)
        if item is None or item.state != exchange.DELIVERED or item.kind != "report":
            MessageBox.info(self, self.tr("Gửi lại"), self.tr("Hãy chọn một báo cáo đã chuyển mà cấp trên chưa xác nhận."))
            return

        def done(res: exchange.ExportResult):
            self.refresh()
            if res.delivered:
                MessageBox.info(self, self.tr("Đã gửi lại"), self.tr("Đã gửi lại gói tin số {0}.").format(item.seq))
            else:
                MessageBox.error(self, self.tr("Chưa gửi lại được"), res.message)

        self._run(self.tr("Đang gửi lại…"), lambda: exchange.resend(self.session, item.id), done,
                  lambda e: show_error(self, e))

    def release_selected(self) -> None:
        q = self._selected(self.quarantine_view, self.quarantine_model)
        if q is None:
            MessageBox.info(self, self.tr("Gói bị cách ly"), self.tr("Hãy chọn một gói tin bị cách ly."))
            return
        if q.reason not in exchange.RELEASABLE_REASONS:
            MessageBox.info(self, self.tr("Gói bị cách ly"), self.tr(
                "Gói này bị từ chối vì: {0}\nKhông nhận được bằng tay; hãy liên hệ đơn vị gửi.").format(q.message or q.reason))
            return
        if not MessageBox.question(self, self.tr("Nhận gói bị cách ly"), self.tr(
                "Nhận gói {0}? Gói bị cách ly vì: {1}\nChỉ nhận khi đã xác minh với đơn vị gửi.").format(
                q.path.name, q.message or q.reason)):
            return
        self._run(self.tr("Đang kiểm tra gói tin…"), lambda: [exchange.apply_quarantined(self.session, q.path)],
                  self._show_results, lambda e: show_error(self, e))

    def make_enrolment_file(self) -> None:
        folder = self.folder_provider(self.tr("Chọn thư mục lưu tệp đăng ký khóa (ví dụ USB)"))
        if not folder:
            return
        level = self.me.level

        def work() -> tuple[Path, Path, str]:
            from desktop.fsutil import atomic_write_bytes

            if level == "khu_vuc":
                path = keystore.make_enrolment_request(self.session, Path(folder))
            else:
                path = keystore.make_enrolment_package(self.session, Path(folder))
            pdf = path.with_suffix(".pdf")
            atomic_write_bytes(pdf, keystore.enrolment_form_pdf(self.session, "request"))
            return path, pdf, keystore.own_fingerprint(self.session)

        def made(result: tuple[Path, Path, str]) -> None:
            path, pdf, fingerprint = result
            MessageBox.info(self, self.tr("Đã lập tệp đăng ký khóa"), self.tr(
                "Tệp: {0}\nBản in: {1}\n\nIn bản PDF, ký, đóng dấu và gửi kèm tệp cho đơn vị nhận; "
                "họ sẽ đối chiếu vân tay {2} trước khi chấp nhận.").format(path, pdf, fingerprint))

        ops.run(self, work, made, progress=self.tr("Đang lập tệp và phiếu đăng ký khóa…"))

    def rotate(self) -> None:
        if not MessageBox.question(self, self.tr("Đổi khóa"), self.tr(
                "Tạo khóa mới cho đơn vị? Khóa cũ được giữ để đọc các gói tin đang gửi đến. "
                "Sau khi đổi, cần gửi lại phiếu đăng ký khóa cho cấp trên trước khi gửi báo cáo.")):
            return
        def rotated(info) -> None:
            self.refresh()
            MessageBox.info(self, self.tr("Đã đổi khóa"), self.tr("Vân tay mới: {0}\nHãy lập phiếu đăng ký khóa mới.")
                            .format(info.fingerprint))

        ops.run(self, lambda: keystore.rotate_own_keys(self.session), rotated, changes=ops.Changes.EXCHANGE,
                progress=self.tr("Đang tạo khóa mới…"))

    # --- pickers (replaced in tests)
    def _ask_open_files(self, caption: str, filter_: str) -> list[str]:
        paths, _ = QFileDialog.getOpenFileNames(self, caption, "", filter_)
        return paths

    def _ask_folder(self, caption: str) -> str:
        return QFileDialog.getExistingDirectory(self, caption)


def start_background_retry(session: AppSession, on_done=None) -> bool:
    """The automatic retry at start-up: deliver what waits in the outbox, quietly (the page shows
    the outcome). Returns whether a retry was started."""
    if not session.user.can(Permission.EXCHANGE):
        return False
    try:
        if not exchange.list_outbox(session, pending_only=True):
            return False
    except Exception:
        return False
    ops.run(None, lambda: exchange.retry_outbox(session), on_done, changes=ops.Changes.EXCHANGE | ops.Changes.REPORTS,
            on_failure=lambda exc: None)
    return True


def exchange_page_factory(session: AppSession):
    """The main window's factory for this page; also schedules the start-up retry of the outbox."""
    QTimer.singleShot(0, lambda: session.is_unlocked and start_background_retry(session))
    return lambda: ExchangePage(session)
