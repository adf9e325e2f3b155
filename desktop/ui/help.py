"""The user guide inside the application (F1): resources/help/huong-dan-su-dung.md rendered by
Qt's own Markdown reader, with a table of contents built from its headings and a search box.

The guide is a shipped resource (bundled by installer/vks-cds.spec with the rest of `resources`,
checked by `vks-cds --bundle-check`); it holds no user data, so the login window offers it too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut, QTextCursor, QTextDocument
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSplitter, QTextBrowser,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from desktop.resources import resource_path
from desktop.ui import theme

GUIDE = ("help", "huong-dan-su-dung.md")


def guide_path():
    return resource_path(*GUIDE)


class HelpDialog(QDialog):
    """Non-modal: the user reads the guide next to the page it explains."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("helpDialog")
        self.setWindowTitle(self.tr("Hướng dẫn sử dụng"))
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.setModal(False)

        self.browser = QTextBrowser(objectName="helpText")
        self.browser.setOpenLinks(False)  # external links go to the system browser, never inside
        self.browser.anchorClicked.connect(self._link)
        self.toc = QTreeWidget(objectName="helpToc")
        self.toc.setHeaderHidden(True)
        self.toc.itemActivated.connect(self._go)
        self.toc.itemClicked.connect(self._go)
        self.search = QLineEdit(objectName="helpSearch")
        self.search.setPlaceholderText(self.tr("Tìm trong hướng dẫn (Enter: kết quả tiếp theo)"))
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        self.search.textEdited.connect(lambda _t: self.find_next(from_start=True))
        self.find_button = QPushButton(self.tr("Tìm tiếp"), objectName="helpFind")
        self.find_button.setAutoDefault(False)  # Enter in the search box is "find next" once, not twice
        self.find_button.clicked.connect(lambda: self.find_next())
        self.search_result = QLabel(objectName="helpSearchResult")
        self.search_result.setStyleSheet(theme.MUTED_TEXT)
        self.search_result.setMinimumWidth(self.search_result.fontMetrics().horizontalAdvance("Không thấy 999 kết quả"))

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.find_button)
        top.addWidget(self.search_result)
        split = QSplitter()
        split.addWidget(self.toc)
        split.addWidget(self.browser)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 700])
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(split, 1)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Find), self, self.search.setFocus)
        QShortcut(QKeySequence(QKeySequence.StandardKey.FindNext), self, self.find_next)
        self.resize(1000, 700)
        self.load()

    # ------------------------------------------------------------------ content
    def load(self) -> None:
        path = guide_path()
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = self.tr("# Hướng dẫn sử dụng\n\nKhông tìm thấy tệp hướng dẫn đi kèm ứng dụng. "
                           "Hãy cài đặt lại ứng dụng hoặc báo bộ phận CNTT.")
        self.browser.document().setBaseUrl(QUrl.fromLocalFile(str(path.parent) + "/"))
        self.browser.setSearchPaths([str(path.parent)])
        self.browser.setMarkdown(text)
        self._build_toc()

    def headings(self) -> list[tuple[int, str, int]]:
        """(level, text, position in the document) of every heading, in order."""
        out = []
        block = self.browser.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if level > 0 and block.text().strip():
                out.append((level, block.text().strip(), block.position()))
            block = block.next()
        return out

    def _build_toc(self) -> None:
        self.toc.clear()
        parents: dict[int, QTreeWidgetItem] = {}
        for level, text, pos in self.headings():
            if level == 1:
                continue  # the title
            parent = next((parents[lv] for lv in range(level - 1, 1, -1) if lv in parents), None)
            item = QTreeWidgetItem([text])
            item.setData(0, Qt.ItemDataRole.UserRole, pos)
            item.setToolTip(0, text)
            if parent is None:
                self.toc.addTopLevelItem(item)
            else:
                parent.addChild(item)
            parents[level] = item
            for deeper in [lv for lv in parents if lv > level]:
                del parents[deeper]
        self.toc.expandAll()

    def _go(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        self.scroll_to(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def scroll_to(self, position: int) -> None:
        """Put the heading at `position` at the top of the view."""
        cursor = QTextCursor(self.browser.document())
        cursor.setPosition(position)
        self.browser.setTextCursor(cursor)
        top = self.browser.document().documentLayout().blockBoundingRect(cursor.block()).top()
        self.browser.verticalScrollBar().setValue(int(top))

    def show_section(self, words: str) -> bool:
        """Open at the first heading containing `words` (e.g. the page the user is on)."""
        key = words.casefold()
        for _level, text, pos in self.headings():
            if key in text.casefold():
                self.scroll_to(pos)
                return True
        return False

    # ------------------------------------------------------------------ search
    def find_next(self, from_start: bool = False) -> bool:
        words = self.search.text().strip()
        if not words:
            self.search_result.clear()
            return False
        if from_start:
            self.browser.moveCursor(QTextCursor.MoveOperation.Start)
        found = self.browser.find(words)
        if not found:  # wrap around once
            self.browser.moveCursor(QTextCursor.MoveOperation.Start)
            found = self.browser.find(words)
        self.search_result.setText(self._count_text(words) if found else self.tr("Không thấy"))
        return found

    def _count_text(self, words: str) -> str:
        doc = self.browser.document()
        n, cursor = 0, QTextCursor(doc)
        while True:
            cursor = doc.find(words, cursor, QTextDocument.FindFlag(0))
            if cursor.isNull():
                break
            n += 1
        return self.tr("{0} kết quả").format(n)

    def _link(self, url: QUrl) -> None:
        if url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
        elif url.hasFragment():
            self.browser.scrollToAnchor(url.fragment())


def show_help(parent: QWidget | None = None, section: str = "") -> HelpDialog:
    """Show the guide (one window per parent, raised if already open)."""
    dlg = parent.findChild(HelpDialog) if parent is not None else None
    if dlg is None:
        dlg = HelpDialog(parent)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    if section:
        dlg.show_section(section)
    dlg.show()
    dlg.raise_()
    dlg.activateWindow()
    return dlg
