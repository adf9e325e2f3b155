"""Viewing one evidence file without leaving a decrypted copy on disk.

Images are decoded from memory (`QPixmap.loadFromData`), PDFs are rendered page by page from
memory with pypdfium2; nothing is written. Other types (Word, Excel, ZIP…) can only be shown by
another program: "Mở bằng ứng dụng khác" asks the progress service for a temporary decrypted copy
(`progress.open_evidence_copy`), opens it with the system's default program and deletes it when
this dialog closes (the session also deletes every copy on lock and at start-up).

This widget calls services only; it never touches SQLAlchemy or the evidence store's files.

Lifetimes: the PDF document and the decrypted copies are held by `_Held`, which knows nothing of
the widget. It is released when the dialog finishes (button, Escape, the window's close box);
a dialog destroyed without finishing (its page deleted on lock) frees it with its Python wrapper;
and whatever is still open when the application is about to quit is released then, while Qt
and the interpreter are whole: pypdfium2 never has to close a document at interpreter shutdown.
There are no Python overrides of Qt virtuals here (the `finished` signal and an event filter on
the viewport do that work; see desktop/ui/qtfix.py and docs/architecture.md §5).
"""

from __future__ import annotations

import logging
import weakref
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget,
                               QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_date
from desktop.models.storage import evidence_policy
from desktop.models.services import progress
from desktop.models.domain.errors import ValidationError
from desktop.ui.messages import show_error
from desktop.ui import ops
from desktop.ui import theme

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}


def evidence_kind(info) -> str:
    """'image', 'pdf' or 'other', from the stored MIME type and the file name."""
    mime = (info.mime or "").lower()
    suffix = Path(info.filename).suffix.lower()
    if mime == "application/pdf" or suffix == ".pdf":
        return "pdf"
    if mime.startswith("image/") or suffix in IMAGE_SUFFIXES:
        return "image"
    return "other"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB".replace(".", ",")
    return f"{max(1, round(n / 1024))} KB"


class _Held:
    """What a viewer must release however it ends: the PDF document and the decrypted copies.
    Holds no reference to the widget, so it can run from the dialog's ``destroyed`` signal."""

    def __init__(self, session):
        self.session = session
        self.pdf = None
        self.temp_copies: list[Path] = []

    def release(self, *_args) -> None:
        """Close the PDF and delete the decrypted copies (idempotent)."""
        pdf, self.pdf = self.pdf, None
        if pdf is not None:
            try:
                pdf.close()
            except Exception:  # noqa: BLE001 - closing must not fail the dialog's end
                log.info("PDF evidence already released")
        copies, self.temp_copies = self.temp_copies, []
        if copies:
            try:
                store = progress.evidence_store(self.session)
                for path in copies:
                    store.remove_temp_copy(path)
            except Exception:  # noqa: BLE001 - a locked session already swept them
                log.info("temporary evidence copies left to the lock/start-up sweep")


_LIVE: "weakref.WeakSet[_Held]" = weakref.WeakSet()
_quit_hooked = False


def release_all() -> int:
    """Release every viewer's PDF and copies (the application is quitting). Returns how many."""
    held = list(_LIVE)
    for h in held:
        h.release()
    return len(held)


def _track(held: _Held) -> None:
    global _quit_hooked
    _LIVE.add(held)
    app = QCoreApplication.instance()
    if not _quit_hooked and app is not None:
        app.aboutToQuit.connect(release_all)
        _quit_hooked = True


class _ResizeWatch(QObject):
    """Calls ``callback`` when ``target`` changes size (instead of a resizeEvent override)."""

    def __init__(self, target: QWidget, callback):
        super().__init__(target)
        self._callback = callback
        target.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._callback()
        return False


class EvidenceViewer(QDialog):
    """One evidence file: image or PDF in the window, anything else through another program."""

    ZOOM_STEPS = (0.5, 0.67, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)

    def __init__(self, session, info: progress.EvidenceInfo, parent=None):
        super().__init__(parent)
        self.session = session
        self.info = info
        self.kind = evidence_kind(info)
        self._held = _Held(session)
        self.open_url = QDesktopServices.openUrl    # replaceable in tests
        self.pixmap: QPixmap | None = None
        self.page_index = 0
        self.page_count = 0
        self.zoom = 1.0
        self._closed = False
        self.setWindowTitle(self.tr("Minh chứng: {0}").format(info.filename))
        self.resize(900, 720)

        head = QLabel(self.tr("<b>{0}</b> · {1} · đính kèm ngày {2}").format(
            info.filename, _size(info.size), fmt_date(info.added_at)))
        head.setTextFormat(Qt.TextFormat.RichText)
        head.setWordWrap(True)

        # --- in-app view (image or PDF page) -------------------------------------------------------
        self.canvas = QLabel(objectName="evidenceCanvas")
        self.canvas.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.canvas.setStyleSheet(theme.background(theme.CANVAS_BG))
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.canvas)
        self.prev_button = QPushButton(self.tr("◀ Trang trước"))
        self.next_button = QPushButton(self.tr("Trang sau ▶"))
        self.page_label = QLabel()
        self.zoom_out_button = QPushButton(self.tr("Thu nhỏ"))
        self.zoom_in_button = QPushButton(self.tr("Phóng to"))
        self.fit_button = QPushButton(self.tr("Vừa khung"))
        self.prev_button.clicked.connect(lambda: self.show_page(self.page_index - 1))
        self.next_button.clicked.connect(lambda: self.show_page(self.page_index + 1))
        self.zoom_in_button.clicked.connect(lambda: self._zoom(+1))
        self.zoom_out_button.clicked.connect(lambda: self._zoom(-1))
        self.fit_button.clicked.connect(lambda: self._set_zoom(1.0))
        tools = QHBoxLayout()
        for w in (self.prev_button, self.page_label, self.next_button):
            tools.addWidget(w)
        tools.addStretch(1)
        for w in (self.zoom_out_button, self.fit_button, self.zoom_in_button):
            tools.addWidget(w)
        view_page = QWidget()
        vl = QVBoxLayout(view_page)
        vl.setContentsMargins(0, 0, 0, 0)
        vl.addLayout(tools)
        vl.addWidget(self.scroll, 1)

        # --- other types -------------------------------------------------------------------------------
        other_page = QWidget()
        ol = QVBoxLayout(other_page)
        self.other_label = QLabel(self.tr("Phần mềm không hiển thị trực tiếp được loại tệp này."))
        self.other_label.setWordWrap(True)
        self.open_button = QPushButton(self.tr("Mở bằng ứng dụng khác"), objectName="openExternal")
        self.open_button.clicked.connect(self.open_external)
        self.other_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        ol.addStretch(1)
        ol.addWidget(self.other_label)
        ol.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignHCenter)
        ol.addStretch(1)

        self.message = QLabel(self.tr("Đang giải mã tệp…"))
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(view_page)
        self.stack.addWidget(other_page)

        self.note = QLabel(self.tr("Để mở bằng ứng dụng khác, phần mềm giải mã một bản sao tạm thời; bản sao đó bị "
                                   "xóa khi đóng cửa sổ này hoặc khi khóa phiên làm việc. Muốn giữ thay đổi, hãy "
                                   "“Lưu thành” ở chỗ khác."))
        self.note.setWordWrap(True)
        self.note.setStyleSheet(theme.MUTED_TEXT)
        self.external_button = QPushButton(self.tr("Mở bằng ứng dụng khác"))
        self.external_button.clicked.connect(self.open_external)
        allowed = evidence_policy.name_allowed(self.info.filename)  # the content is checked when clicked
        for b in (self.open_button, self.external_button):
            b.setEnabled(allowed)
            if not allowed:
                b.setToolTip(self.tr("Loại tệp này không được mở bằng ứng dụng khác."))
        close = QPushButton(self.tr("Đóng"))
        close.clicked.connect(self.reject)
        close.setDefault(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.note, 1)
        bottom.addWidget(self.external_button)
        bottom.addWidget(close)

        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.stack, 1)
        lay.addLayout(bottom)

        self.finished.connect(self.cleanup)
        _track(self._held)
        _ResizeWatch(self.scroll.viewport(), self._viewport_resized)

        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.show_page(self.page_index + 1))
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.show_page(self.page_index - 1))
        QShortcut(QKeySequence.StandardKey.ZoomIn, self, lambda: self._zoom(+1))
        QShortcut(QKeySequence.StandardKey.ZoomOut, self, lambda: self._zoom(-1))

        if self.kind == "other":
            self._show_other()
        else:
            sha = info.sha256
            ops.Op(self, lambda: progress.evidence_bytes(session, sha)).success(self._show_bytes).failure(self._load_failed).run()

    # --- loading -----------------------------------------------------------------------------------------
    def _load_failed(self, exc: BaseException) -> None:
        if self._closed:
            return
        self.message.setText(self.tr("Không đọc được tệp minh chứng."))
        show_error(self, exc)

    def _show_other(self, why: str = "") -> None:
        self.kind = "other"
        if why:
            self.other_label.setText(why)
        self.external_button.setVisible(False)   # the big button in the middle does it
        self.stack.setCurrentIndex(2)

    def _show_bytes(self, data: bytes) -> None:
        if self._closed:
            return
        if self.kind == "image":
            pm = QPixmap()
            if not pm.loadFromData(data):
                self._show_other(self.tr("Không hiển thị được ảnh này (định dạng chưa hỗ trợ hoặc tệp hỏng)."))
                return
            self.pixmap = pm
            self.page_count = 1
            for w in (self.prev_button, self.next_button, self.page_label):
                w.setVisible(False)
            self.stack.setCurrentIndex(1)
            self._render()
            return
        try:
            import pypdfium2 as pdfium

            self._held.pdf = pdfium.PdfDocument(data)
            self.page_count = len(self._held.pdf)
        except Exception as exc:  # noqa: BLE001 - a damaged PDF is shown as such, not as a crash
            log.info("cannot render PDF evidence: %s", type(exc).__name__)
            self._show_other(self.tr("Không hiển thị được tệp PDF này (tệp hỏng hoặc có mật khẩu)."))
            return
        if self.page_count == 0:
            self._show_other(self.tr("Tệp PDF không có trang nào."))
            return
        self.stack.setCurrentIndex(1)
        self.show_page(0)

    # --- showing ---------------------------------------------------------------------------------------------
    def show_page(self, index: int) -> None:
        if self._pdf is None or not (0 <= index < self.page_count):
            return
        self.page_index = index
        self.page_label.setText(self.tr("Trang {0}/{1}").format(index + 1, self.page_count))
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index + 1 < self.page_count)
        self._render()
        self.scroll.verticalScrollBar().setValue(0)

    def _available(self) -> QSize:
        vp = self.scroll.viewport().size()
        return QSize(max(200, vp.width() - 16), max(200, vp.height() - 16))

    def _render(self) -> None:
        avail = self._available()
        dpr = self.devicePixelRatioF() or 1.0
        if self.pixmap is not None:
            pm = self.pixmap
            fit = min(1.0, avail.width() / pm.width(), avail.height() / pm.height())
            w = max(1, int(pm.width() * fit * self.zoom * dpr))
            shown = pm.scaledToWidth(w, Qt.TransformationMode.SmoothTransformation)
            shown.setDevicePixelRatio(dpr)
            self.canvas.setPixmap(shown)
            return
        if self._pdf is None:
            return
        page = self._pdf[self.page_index]
        try:
            width_pt, _height_pt = page.get_size()
            scale = avail.width() / width_pt * self.zoom
            bitmap = page.render(scale=scale * dpr, prefer_bgrx=True)
            try:
                # the QImage over PDFium's buffer is copied at once and dropped before the bitmap
                image = QImage(bitmap.buffer, bitmap.width, bitmap.height, bitmap.stride,
                               QImage.Format.Format_RGB32).copy()
            finally:
                bitmap.close()
        finally:
            page.close()
        image.setDevicePixelRatio(dpr)
        self.canvas.setPixmap(QPixmap.fromImage(image))

    def rendered_size(self) -> QSize:
        pm = self.canvas.pixmap()
        return QSize() if pm is None or pm.isNull() else pm.size()

    def _set_zoom(self, z: float) -> None:
        self.zoom = z
        self._render()

    def _zoom(self, step: int) -> None:
        steps = self.ZOOM_STEPS
        i = min(range(len(steps)), key=lambda k: abs(steps[k] - self.zoom))
        self._set_zoom(steps[max(0, min(len(steps) - 1, i + step))])

    def _viewport_resized(self) -> None:
        if not self._closed and self.stack.currentIndex() == 1:
            self._render()

    # --- another program -----------------------------------------------------------------------------------
    def open_external(self) -> Path | None:
        """Hand a temporary copy to the system's program — only for an allow-listed file whose
        name needs no cleaning and whose content is what the name says (never an executable
        dressed as "…exe.pdf" with a bidi character)."""
        try:
            path = progress.open_evidence_copy(self.session, self.info.id)
        except Exception as exc:  # noqa: BLE001
            show_error(self, exc)
            return None
        self._held.temp_copies.append(path)
        try:
            with open(path, "rb") as fh:
                head = fh.read(64)
        except OSError:
            head = b""
        if not evidence_policy.may_open_externally(self.info.filename, head):
            show_error(self, ValidationError(
                self.tr("Không mở tệp “{0}” bằng ứng dụng khác: loại tệp không được phép hoặc nội dung không đúng với "
                        "tên tệp.").format(evidence_policy.clean_name(self.info.filename)),
                self.tr("Có thể dùng “Lưu thành” để lưu tệp ra ngoài và kiểm tra bằng phần mềm diệt virus.")))
            return None
        if not self.open_url(QUrl.fromLocalFile(str(path))):
            show_error(self, OSError(0, self.tr("Không có ứng dụng nào mở được tệp {0}").format(self.info.filename)))
        return path

    @property
    def _pdf(self):
        return self._held.pdf

    @property
    def temp_copies(self) -> list[Path]:
        return self._held.temp_copies

    def cleanup(self, *_args) -> None:
        """Delete the decrypted copies and release the PDF (idempotent); runs when the dialog
        finishes."""
        self._closed = True
        self._held.release()
