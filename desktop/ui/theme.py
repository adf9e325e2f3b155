"""Colours and styles of the application, in one place.

Widgets never write a hex colour or a style sheet of their own: they use a named style from here
(`label.setStyleSheet(theme.ERROR_TEXT)`) or a colour function. Report states carry a
colour-neutral tone (`desktop.models.domain.workflow.Tone`) that is mapped to colours here; the colours
of progress states (`status.Progress.colour`) are the ones the PDF and Excel matrices print, so
they stay with the domain.

Colours are chosen light enough for black text and, for text colours, dark enough for a 4.5:1
contrast on white.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QColor

if TYPE_CHECKING:  # the login window uses this module: importing workflow here would load SQLAlchemy first
    from desktop.models.domain.workflow import ReportState

# ------------------------------------------------------------------ text colours
ERROR = "#b00020"       # refusals, invalid input
ERROR_BORDER = "#c62828"
OK = "#1b5e20"          # done, verified
ACCENT = "#1565c0"      # headline figures, work in progress
MUTED = "#555555"       # secondary text
FAINT = "#777777"       # tertiary text (versions, empty-list notes)
INK = "#263238"         # chart text and outlines
CODE = "#455a64"        # key ids and other codes
WARNING = "#8a6d00"     # accepted with a warning, waiting for a check

# ------------------------------------------------------------------ backgrounds
GROUP_BG = "#e8eef7"     # group heading rows in target tables
COMMENT_BG = "#fff1d6"   # a target with a return comment
PROBLEM_BG = "#fde2e1"   # a row with a problem
NO_DATA_BG = "#eceff3"   # a target without a status yet
NEUTRAL_BG = "#eeeeee"
NOT_ASSIGNED_BG = "#f2f2f2"  # a matrix cell for a target the unit does not report on
CHART_TRACK = "#e3e8ef"
CHART_DONE = "#2e7d32"
CHART_GRID = "#cfd8dc"
CANVAS_BG = "#6b6f75"    # behind a previewed page or image
PREVIEW_BG = "#7a7f87"

# ------------------------------------------------------------------ named style sheets
ERROR_TEXT = f"color: {ERROR};"
ERROR_STRONG = f"color: {ERROR}; font-weight: bold;"
OK_TEXT = f"color: {OK};"
OK_STRONG = f"color: {OK}; font-weight: bold;"
ACCENT_TEXT = f"color: {ACCENT};"
BUSY_TEXT = f"color: {ACCENT}; font-weight: bold;"
MUTED_TEXT = f"color: {MUTED};"
WARNING_TEXT = f"color: {WARNING};"
FAINT_TEXT = f"color: {FAINT};"
CODE_TEXT = f"color: {CODE};"
BOLD = "font-weight: bold;"
PAGE_TITLE = "font-size: 16pt; font-weight: bold;"
SECTION_TITLE = "font-size: 12pt; font-weight: bold;"
SMALL_MUTED = f"color: {MUTED}; font-size: 9pt;"
NAVIGATION = "QListWidget { font-size: 11pt; } QListWidget::item { padding: 8px; }"
RECOVERY_CODE = "border: 2px dashed #8d6e63; padding: 16px; background: #fffde7;"
FINGERPRINT_BOX = "#fingerprintBox { background: #eef3fb; border: 1px solid #90a4c8; border-radius: 6px; }"
PLAN_ROWS = "QTableView::item { padding: 6px 0px; border-bottom: 1px solid #e3e3e3; }"  # no side padding: Qt wraps titles to the full width when sizing rows
INVALID_FIELD = f"*[invalid=\"true\"] {{ border: 2px solid {ERROR_BORDER}; border-radius: 3px; }}"
PAGE_IMAGE = "background: white; margin: 8px;"
TARGET_COMMENT = ("QLabel#targetComment { background: #fff1d6; border: 1px solid #e0a040;"
                  " border-radius: 4px; padding: 6px; }")
MEASURE_BOX = "QFrame#measureBox { background: #f7f9fc; border: 1px solid #dde3ec; border-radius: 4px; }"


def ok_or_error(ok: bool, strong: bool = False) -> str:
    if strong:
        return OK_STRONG if ok else ERROR_STRONG
    return OK_TEXT if ok else ERROR_TEXT


def background(colour: str) -> str:
    return f"background: {colour};"


# ------------------------------------------------------------------ report states
_TONE_FILL = {  # by workflow.Tone value
    "neutral": "#e3e7ee",
    "waiting": "#fff0c2",
    "done": "#d6edd6",
    "transit": "#dbe8f7",
    "attention": "#ffd8b0",
}

#: Banners above a report: (fill, border) per kind of notice.
BANNERS = {
    "locked": ("#fff4d6", "#d9b44a"),
    "done": ("#e6f3e6", "#8cbf8c"),
    "returned": ("#ffe9d6", "#e08a3c"),
    "info": ("#e8eef7", "#9fb3d1"),
}


def state_fill(value: str | ReportState | None) -> str:
    """Background of a report state (chips, table cells); unknown or no state: neutral grey."""
    from desktop.models.domain.workflow import ReportState

    try:
        return _TONE_FILL[ReportState(value).tone.value] if value is not None else NEUTRAL_BG
    except ValueError:
        return NEUTRAL_BG


def state_qcolor(value: str | ReportState | None) -> QColor:
    return QColor(state_fill(value))


def chip(object_name: str, fill: str) -> str:
    """A rounded label (status chips)."""
    return f"QLabel#{object_name} {{ background: {fill}; border-radius: 9px; padding: 2px 10px; font-weight: bold; }}"


def banner(object_name: str, kind: str) -> str:
    fill, border = BANNERS.get(kind, BANNERS["info"])
    return (f"QLabel#{object_name} {{ background: {fill}; border: 1px solid {border};"
            f" border-radius: 4px; padding: 6px 8px; }}")


def banner_frame(object_name: str, kind: str) -> str:
    """`banner` for a QFrame holding a text and buttons."""
    fill, border = BANNERS.get(kind, BANNERS["info"])
    return (f"QFrame#{object_name} {{ background: {fill}; border: 1px solid {border}; border-radius: 4px; }}"
            f" QFrame#{object_name} QLabel {{ background: transparent; border: none; }}")
