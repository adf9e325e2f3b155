"""Small behaviours shared by input fields."""

from __future__ import annotations

import re
from datetime import date as _date

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QCalendarWidget, QLineEdit, QStyle


def upper_case_as_typed(edit: QLineEdit) -> None:
    """Keep a code field upper-case while the user types (unit codes are upper-case everywhere:
    bundles, shares, keys), without moving the cursor."""

    def fix(_text: str) -> None:
        text = edit.text()
        if text != text.upper():
            pos = edit.cursorPosition()
            edit.setText(text.upper())
            edit.setCursorPosition(pos)

    edit.textEdited.connect(fix)


_DATE_SEPARATORS = re.compile(r"\s*[/.\-]\s*")


def parse_typed_date(text: str, first: _date = _date(2000, 1, 1), last: _date = _date(2100, 12, 31)) -> _date | None:
    """A date typed the Vietnamese way: "15/04/2025", "15/4/2025", "15.04.2025", "15-04-2025" or
    "15042025". None if the text is not such a date (or is outside first..last)."""
    text = text.strip()
    if re.fullmatch(r"\d{8}", text):
        parts = [text[:2], text[2:4], text[4:]]
    else:
        parts = _DATE_SEPARATORS.split(text)
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
        return None
    try:
        d = _date(int(parts[2]), int(parts[1]), int(parts[0]))
    except ValueError:
        return None
    return d if first <= d <= last else None


class DateField(QLineEdit):
    """A dd/MM/yyyy date that is typed like text (the whole date over a selection, with or without
    separators) or picked from a calendar. A date typed in full is taken at once (`dateChanged`);
    text that is not a date is refused visibly on leaving the field (`invalidText` with the reason,
    the previous date kept), never silently."""

    dateChanged = Signal(object)       # datetime.date
    invalidText = Signal(str)          # the Vietnamese reason

    FORMAT = "dd/MM/yyyy"

    def __init__(self, parent=None, first: _date = _date(2000, 1, 1), last: _date = _date(2100, 12, 31)):
        super().__init__(parent)
        self._first, self._last = first, last
        self._date = max(first, min(_date.today(), last))
        self.setPlaceholderText("dd/mm/yyyy")
        self.setMaxLength(10)
        self.setFixedWidth(self.fontMetrics().horizontalAdvance("00/00/00000") + 48)
        self.setText(self._format(self._date))
        self.calendar_action = self.addAction(self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
                                              QLineEdit.ActionPosition.TrailingPosition)
        self.calendar_action.setToolTip(self.tr("Chọn ngày trên lịch"))
        self.calendar_action.triggered.connect(self.show_calendar)
        self.calendar: QCalendarWidget | None = None
        self.textEdited.connect(self._on_edited)
        self.editingFinished.connect(self._on_finished)

    @staticmethod
    def _format(d: _date) -> str:
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"

    def displayFormat(self) -> str:
        return self.FORMAT

    def py_date(self) -> _date:
        return self._date

    def date(self) -> QDate:
        return QDate(self._date.year, self._date.month, self._date.day)

    def set_py_date(self, d: _date) -> None:
        """Set the date (as the program does; emits dateChanged when it changes)."""
        changed = d != self._date
        self._date = d
        self.setText(self._format(d))
        if changed:
            self.dateChanged.emit(d)

    def _on_edited(self, text: str) -> None:
        d = parse_typed_date(text, self._first, self._last)
        if d is not None and d != self._date:
            self._date = d
            self.dateChanged.emit(d)

    def _on_finished(self) -> None:
        text = self.text().strip()
        if parse_typed_date(text, self._first, self._last) is not None:
            self.setText(self._format(self._date))
            return
        self.invalidText.emit(self.tr("“{0}” không phải là ngày hợp lệ; hãy gõ theo dạng ngày/tháng/năm, ví dụ "
                                      "15/04/2025. Ngày đang lưu vẫn là {1}.").format(text, self._format(self._date)))

    def show_calendar(self) -> None:
        if self.isReadOnly() or not self.isEnabled():
            return
        cal = QCalendarWidget(self, windowFlags=Qt.WindowType.Popup)
        cal.setLocale(self.locale())
        cal.setGridVisible(True)
        cal.setDateRange(QDate(self._first.year, self._first.month, self._first.day),
                         QDate(self._last.year, self._last.month, self._last.day))
        cal.setSelectedDate(self.date())
        cal.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def picked(q: QDate) -> None:
            self.set_py_date(_date(q.year(), q.month(), q.day()))
            cal.close()
            self.setFocus()

        cal.clicked.connect(picked)
        cal.activated.connect(picked)
        cal.move(self.mapToGlobal(self.rect().bottomLeft()))
        self.calendar = cal
        cal.show()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_F4 or (event.key() == Qt.Key.Key_Down
                                            and event.modifiers() & Qt.KeyboardModifier.AltModifier):
            self.show_calendar()
            return
        super().keyPressEvent(event)
