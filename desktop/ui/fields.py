"""Small behaviours shared by input fields."""

from __future__ import annotations

from PySide6.QtWidgets import QLineEdit


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
