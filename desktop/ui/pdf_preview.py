"""Preview and print of the very PDF the app produces: pages rendered with PDFium (pypdfium2),
shown in the dialog and sent to QPrinter. There is no second layout engine.

The PDF bytes stay in memory; "Mở bằng trình xem PDF" writes a temporary copy under the data
folder's tmp/ (deleted when the dialog closes, on lock, on exit and at start-up), and "Lưu PDF…"
writes where the user chooses (an explicit, plain export).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QImage, QKeySequence, QPainter, QPixmap, QShortcut
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSpinBox,
                               QVBoxLayout, QWidget)

from desktop.fsutil import atomic_write_bytes
from desktop.ui.messages import MessageBox, show_error
from desktop.ui import theme


def render_pages(pdf_bytes: bytes, dpi: float) -> list[QImage]:
    """Rasterise every page at `dpi` (PDFium), as QImages."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_bytes)
    images = []
    try:
        for i in range(len(doc)):
            page = doc[i]
            bitmap = page.render(scale=dpi / 72.0)
            pil = bitmap.to_pil().convert("RGB")
            data = pil.tobytes("raw", "RGB")
            img = QImage(data, pil.width, pil.height, pil.width * 3, QImage.Format.Format_RGB888).copy()
            images.append(img)
            page.close()
    finally:
        doc.close()
    return images


def page_sizes_pt(pdf_bytes: bytes) -> list[tuple[float, float]]:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        return [tuple(doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def print_pdf(pdf_bytes: bytes, printer) -> int:
    """Paint each page, scaled to the printer's page, keeping its orientation. Returns pages printed."""
    from PySide6.QtGui import QPageLayout

    sizes = page_sizes_pt(pdf_bytes)
    dpi = min(300, max(150, printer.resolution()))
    images = render_pages(pdf_bytes, dpi)
    painter = QPainter()
    for i, img in enumerate(images):
        w, h = sizes[i]
        printer.setPageOrientation(QPageLayout.Orientation.Landscape if w > h else QPageLayout.Orientation.Portrait)
        if i == 0:
            if not painter.begin(printer):
                raise OSError("không mở được máy in")
        else:
            printer.newPage()
        rect = QRectF(painter.viewport())
        scale = min(rect.width() / img.width(), rect.height() / img.height())
        painter.drawImage(QRectF(0, 0, img.width() * scale, img.height() * scale), img)
    painter.end()
    return len(images)


class PdfPreviewDialog(QDialog):
    def __init__(self, pdf_bytes: bytes, title: str, suggested_name: str, temp_root: Path | None = None,
                 xlsx_bytes_provider=None, parent=None):
        super().__init__(parent)
        self.pdf_bytes = pdf_bytes
        self.suggested_name = suggested_name
        self.temp_root = Path(temp_root) if temp_root else None
        self.xlsx_bytes_provider = xlsx_bytes_provider
        self._temp_copy: Path | None = None
        self.save_path_provider = self._ask_save_path
        self.printer_factory = None  # tests set a QPrinter writing to a file
        self.setWindowTitle(title)
        self.resize(980, 900)

        self.pages = QVBoxLayout()
        self.pages.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        holder = QWidget()
        holder.setLayout(self.pages)
        holder.setStyleSheet(theme.background(theme.PREVIEW_BG))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        self.zoom = QSpinBox(objectName="zoom")
        self.zoom.setRange(50, 200)
        self.zoom.setSingleStep(10)
        self.zoom.setSuffix(" %")
        self.zoom.setValue(100)
        self.print_button = QPushButton(self.tr("In…"), objectName="printButton")
        self.save_button = QPushButton(self.tr("Lưu PDF…"), objectName="savePdf")
        self.xlsx_button = QPushButton(self.tr("Xuất Excel…"), objectName="saveXlsx")
        self.xlsx_button.setVisible(xlsx_bytes_provider is not None)
        self.open_button = QPushButton(self.tr("Mở bằng trình xem PDF"), objectName="openExternal")
        self.info = QLabel(objectName="previewInfo")
        bar = QHBoxLayout()
        bar.addWidget(QLabel(self.tr("Thu phóng:")))
        bar.addWidget(self.zoom)
        bar.addWidget(self.info, 1)
        for b in (self.open_button, self.xlsx_button, self.save_button, self.print_button):
            bar.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(scroll, 1)
        self.zoom.valueChanged.connect(self._render)
        self.print_button.clicked.connect(self.print_document)
        self.save_button.clicked.connect(self.save_pdf)
        self.xlsx_button.clicked.connect(self.save_xlsx)
        self.open_button.clicked.connect(self.open_external)
        self._shortcuts()
        self._render()

    def _shortcuts(self) -> None:
        """The usual keys of a print preview. Ctrl+L (lock) is not here: the application handles
        it while any modal dialog is open, closing this one first (desktop/ui/app.py)."""
        keys = [(QKeySequence.StandardKey.Print, self.print_document), (QKeySequence.StandardKey.Save, self.save_pdf),
                (QKeySequence.StandardKey.ZoomIn, lambda: self.zoom.stepBy(1)), ("Ctrl+=", lambda: self.zoom.stepBy(1)),
                (QKeySequence.StandardKey.ZoomOut, lambda: self.zoom.stepBy(-1)), ("Ctrl+0", lambda: self.zoom.setValue(100)),
                (QKeySequence.StandardKey.Close, self.reject)]
        for key, slot in keys:
            QShortcut(QKeySequence(key), self, slot)
        self.print_button.setToolTip(self.tr("In (Ctrl+P)"))
        self.save_button.setToolTip(self.tr("Lưu PDF (Ctrl+S)"))
        self.zoom.setToolTip(self.tr("Phóng to Ctrl+=, thu nhỏ Ctrl+-, 100 %: Ctrl+0"))

    def _render(self) -> None:
        while self.pages.count():
            item = self.pages.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        images = render_pages(self.pdf_bytes, 96 * self.zoom.value() / 100)
        for img in images:
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(img))
            label.setStyleSheet(theme.PAGE_IMAGE)
            self.pages.addWidget(label)
        self.page_count = len(images)
        self.info.setText(self.tr("{0} trang").format(len(images)))

    def _ask_save_path(self, suffix: str) -> str:
        filt = self.tr("Tệp PDF (*.pdf)") if suffix == ".pdf" else self.tr("Bảng tính Excel (*.xlsx)")
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Lưu"), str(Path(self.suggested_name).with_suffix(suffix)), filt)
        return path

    def save_pdf(self) -> None:
        path = self.save_path_provider(".pdf")
        if path:
            try:
                atomic_write_bytes(Path(path), self.pdf_bytes)
            except OSError as exc:
                show_error(self, exc, self.tr("Không lưu được"))

    def save_xlsx(self) -> None:
        path = self.save_path_provider(".xlsx")
        if path:
            try:
                atomic_write_bytes(Path(path), self.xlsx_bytes_provider())
            except Exception as exc:
                show_error(self, exc, self.tr("Không lưu được"))

    def open_external(self) -> None:
        import tempfile

        if self.temp_root is None:
            return
        self.temp_root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="view-", dir=self.temp_root))
        self._temp_copy = folder / Path(self.suggested_name).with_suffix(".pdf").name
        atomic_write_bytes(self._temp_copy, self.pdf_bytes)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self._temp_copy)))
        MessageBox.info(self, self.tr("Bản sao tạm"),
                        self.tr("Bản sao tạm sẽ bị xóa khi đóng cửa sổ này, khi khóa phiên hoặc khi thoát ứng dụng."))

    def print_document(self) -> None:
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        if self.printer_factory is not None:
            printer = self.printer_factory()
        else:
            printer = QPrinter(QPrinter.PrinterMode.HighResolution)
            dlg = QPrintDialog(printer, self)
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return
        try:
            print_pdf(self.pdf_bytes, printer)
        except Exception as exc:
            show_error(self, exc, self.tr("Không in được"))

    def done(self, result: int) -> None:
        if self._temp_copy is not None:
            import shutil

            shutil.rmtree(self._temp_copy.parent, ignore_errors=True)
            self._temp_copy = None
        super().done(result)

    def sizeHint(self) -> QSize:
        return QSize(980, 900)
