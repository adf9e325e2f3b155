"""The dashboard's charts, drawn with QPainter (QtCharts is not part of PySide6-Essentials).

`BarChart` shows completion bars (done of total) either as horizontal bars with a label on the
left (per group) or as columns over a 0–100 % scale (per reporting period). Colours come from
`desktop.ui.theme`. For screen readers and for anyone who wants the figures, every chart carries
its data as text (`summary()`: the tooltip and the accessible description) and `ChartPanel`
switches to a plain table of the same figures ("Xem dạng bảng").
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPen
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSizePolicy,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from desktop.export.vnformat import fmt_percent
from desktop.ui import theme


@dataclass(frozen=True)
class Bar:
    label: str        # full text (table, tooltip)
    short: str        # what fits under a column or beside a bar
    done: int
    total: int

    @property
    def rate(self) -> float:
        return self.done / self.total if self.total else 0.0

    def figure(self) -> str:
        return f"{fmt_percent(self.rate)} ({self.done}/{self.total})"


class BarChart(QWidget):
    """Completion bars. `horizontal=True`: one row per bar (groups); otherwise columns (periods)."""

    ROW = 28          # height of a horizontal bar's row
    COLUMN_AREA = 190  # height of the column chart's plotting area

    def __init__(self, horizontal: bool = True, empty_text: str = "", parent=None):
        super().__init__(parent)
        self.horizontal = horizontal
        self.empty_text = empty_text
        self.bars: list[Bar] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._fit()

    def set_bars(self, bars) -> None:
        self.bars = list(bars)
        text = self.summary()
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self._fit()
        self.update()

    def summary(self) -> str:
        """The chart as text, one line per bar."""
        if not self.bars:
            return self.empty_text
        return "\n".join(f"{b.label}: {b.figure()}" for b in self.bars)

    def _height(self) -> int:
        if self.horizontal:
            return max(120, self.ROW * len(self.bars) + 16)
        return self.COLUMN_AREA + 56

    def _fit(self) -> None:
        self.setMinimumHeight(self._height())
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return QSize(520, self._height())

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        try:
            if not self.bars:
                p.setPen(QPen(QColor(theme.FAINT)))
                p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                           self.empty_text)
            elif self.horizontal:
                self._paint_rows(p)
            else:
                self._paint_columns(p)
        finally:
            p.end()

    @staticmethod
    def _fill(bar: Bar) -> QColor:
        return QColor(theme.CHART_DONE if bar.rate >= 0.999 else theme.ACCENT)

    def _paint_rows(self, p: QPainter) -> None:
        w = self.width()
        fm = p.fontMetrics()
        figure_w = max(fm.horizontalAdvance(b.figure()) for b in self.bars) + 12
        label_w = int(min(w * 0.5, max(fm.horizontalAdvance(b.short) for b in self.bars) + 12))
        bar_w = max(40, w - label_w - figure_w)
        y = 8
        for b in self.bars:
            text = fm.elidedText(b.short, Qt.TextElideMode.ElideRight, label_w - 8)
            p.setPen(QPen(QColor(theme.INK)))
            p.drawText(QRectF(0, y, label_w - 8, 22), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(theme.CHART_TRACK)))
            p.drawRoundedRect(QRectF(label_w, y + 3, bar_w, 16), 4, 4)
            p.setBrush(QBrush(self._fill(b)))
            p.drawRoundedRect(QRectF(label_w, y + 3, max(0.0, bar_w * min(b.rate, 1.0)), 16), 4, 4)
            p.setPen(QPen(QColor(theme.INK)))
            p.drawText(QRectF(label_w + bar_w + 8, y, figure_w, 22), Qt.AlignmentFlag.AlignVCenter, b.figure())
            y += self.ROW

    def _paint_columns(self, p: QPainter) -> None:
        fm = p.fontMetrics()
        axis_w = fm.horizontalAdvance("100%") + 10
        top, area = 22, self.COLUMN_AREA
        left, right = axis_w, self.width() - 8
        base = top + area
        p.setPen(QPen(QColor(theme.CHART_GRID)))
        for pct in (0, 25, 50, 75, 100):
            y = base - area * pct / 100
            p.drawLine(int(left), int(y), int(right), int(y))
            p.setPen(QPen(QColor(theme.MUTED)))
            p.drawText(QRectF(0, y - 9, axis_w - 6, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       f"{pct}%")
            p.setPen(QPen(QColor(theme.CHART_GRID)))
        slot = (right - left) / len(self.bars)
        col_w = max(6.0, min(48.0, slot * 0.6))
        for i, b in enumerate(self.bars):
            x = left + slot * i + (slot - col_w) / 2
            h = area * min(b.rate, 1.0)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(QColor(theme.CHART_TRACK)))
            p.drawRect(QRectF(x, top, col_w, area))
            p.setBrush(QBrush(self._fill(b)))
            p.drawRect(QRectF(x, base - h, col_w, h))
            p.setPen(QPen(QColor(theme.INK)))
            value = fmt_percent(b.rate, 0)
            if fm.horizontalAdvance(value) <= slot:
                p.drawText(QRectF(left + slot * i, base - h - 20, slot, 18),
                           Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, value)
            p.drawText(QRectF(left + slot * i, base + 4, slot, 18), Qt.AlignmentFlag.AlignHCenter,
                       fm.elidedText(b.short, Qt.TextElideMode.ElideRight, int(slot)))


class ChartPanel(QWidget):
    """A titled chart with a "Xem dạng bảng" / "Xem biểu đồ" switch to the same figures as a table."""

    def __init__(self, title: str, chart: BarChart, first_column: str, parent=None):
        super().__init__(parent)
        self.chart = chart
        self.title = QLabel(f"<b>{title}</b>")
        chart.setAccessibleName(title)
        self.toggle = QPushButton(self.tr("Xem dạng bảng"))
        self.toggle.setCheckable(True)
        self.toggle.setFlat(True)
        self.toggle.toggled.connect(self._switch)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels([first_column, self.tr("Hoàn thành"), self.tr("Tỷ lệ")])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName(title)
        self.stack = QStackedWidget()
        self.stack.addWidget(chart)
        self.stack.addWidget(self.table)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.toggle)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(head)
        lay.addWidget(self.stack, 1)

    def set_bars(self, bars) -> None:
        bars = list(bars)
        self.chart.set_bars(bars)
        self.table.setRowCount(len(bars))
        for row, b in enumerate(bars):
            cells = (b.label, f"{b.done}/{b.total}", fmt_percent(b.rate))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if col:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)

    def _switch(self, as_table: bool) -> None:
        self.stack.setCurrentIndex(1 if as_table else 0)
        self.toggle.setText(self.tr("Xem biểu đồ") if as_table else self.tr("Xem dạng bảng"))
