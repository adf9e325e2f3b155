"""Translation hook usable from Qt-free code.

`tr(context, text)` goes through Qt's translator when the GUI has loaded Qt (so `.ts/.qm`
catalogues apply), and returns the Vietnamese source text otherwise (CLI, tests). This module
never imports Qt itself: it only looks at modules that are already loaded.
"""

from __future__ import annotations

import re
import sys
import unicodedata


def tr(context: str, text: str) -> str:
    qtcore = sys.modules.get("PySide6.QtCore")
    if qtcore is not None and qtcore.QCoreApplication.instance() is not None:
        return qtcore.QCoreApplication.translate(context, text)
    return text


def nfc(text: str | None) -> str:
    """Normalise user text to NFC (decomposed Vietnamese prints tone marks in the wrong place)."""
    return unicodedata.normalize("NFC", text or "")


def fold(text: str | None) -> str:
    """Accent-insensitive search key: 'Chữ ký số' -> 'chu ky so'."""
    decomposed = unicodedata.normalize("NFD", (text or "").replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(stripped.casefold().split())



# Vietnamese alphabetical order (f, j, w, z of foreign words at their Latin places); the marks that
# make a letter (ă â ê ô ơ ư, đ) are part of it, the five tone marks only break ties.
_VI_LETTERS = "aăâbcdđefghijklmnoôơpqrstuưvwxyz"
_LETTER_MARKS = {("a", "\u0306"): "ă", ("a", "\u0302"): "â", ("e", "\u0302"): "ê", ("o", "\u0302"): "ô",
                 ("o", "\u031b"): "ơ", ("u", "\u031b"): "ư"}
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}  # huyền hỏi ngã sắc nặng
_NUMBER = re.compile(r"(\d+)")


def vi_sort_key(text: str | None) -> str:
    """A key whose plain code-point order is Vietnamese dictionary order: letters by the Vietnamese
    alphabet (a < ă < â < b … d < đ), case and tones ignored first, then tones (none, huyền, hỏi,
    ngã, sắc, nặng), then case; numbers by value ('Khu vực 2' before 'Khu vực 10'). Qt-free, so
    services and table models sort the same way ('Đỗ' after 'Dương', 'Ánh' after 'Anh')."""
    primary, tones, cases = [], [], []
    for i, chunk in enumerate(_NUMBER.split(nfc(text).strip())):
        if i % 2:  # a run of digits: by its value (length first, then the digits)
            digits = chunk.lstrip("0") or "0"
            primary.append("\u0001" + chr(0x30 + min(len(digits), 0x4f)) + digits)
            continue
        for ch in chunk:
            lower = ch.lower()
            cases.append("1" if ch != lower else "0")
            decomposed = unicodedata.normalize("NFD", lower)
            base, marks = decomposed[:1], decomposed[1:]
            letter = "đ" if lower == "đ" else next(
                (v for (b, m), v in _LETTER_MARKS.items() if b == base and m in marks), base)
            rank = _VI_LETTERS.find(letter)
            if rank >= 0:
                primary.append(chr(0x100 + rank))
            elif ch.isspace():
                primary.append("\u0002")
            else:  # punctuation before letters, other scripts after them
                primary.append(lower if not ch.isalpha() else chr(0x200) + lower)
            tones.append(next((_TONES[m] for m in marks if m in _TONES), "0"))
    return "".join(primary) + "\u0000" + "".join(tones) + "\u0000" + "".join(cases)


def given_name_first(full_name: str | None) -> str:
    """'Nguyễn Văn Quản' -> 'Quản Nguyễn Văn': Vietnamese lists of people are ordered by the given
    name (the last word), then the family and middle names; sort by vi_sort_key of this."""
    words = nfc(full_name).split()
    return " ".join(words[-1:] + words[:-1])
