"""Vietnamese number and date formatting for printed reports and spreadsheets.

Conventions (TCVN / Nghị định 30/2020/NĐ-CP):

* thousands separator is the dot, the decimal separator is the comma
  (``3.316``; ``96,7%``);
* numeric dates are ``dd/MM/yyyy`` (``05/01/2026``);
* the place-and-date line of an administrative document writes the day with a
  leading zero below 10 and the month with a leading zero for January and
  February only (``ngày 05 tháng 02 năm 2026``, ``ngày 15 tháng 3 năm 2026``).

Every function returns Unicode NFC text. Pure Python, no Qt, no ReportLab; the one formatter of
the screens too (``desktop/ui``), so a number, date or period reads the same everywhere.
"""

from __future__ import annotations

import datetime as _dt
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeAlias

from desktop.models.domain.plan import ReportingPeriod

__all__ = [
    "EMPTY",
    "nfc",
    "upper",
    "fmt_int",
    "fmt_number",
    "fmt_percent",
    "fmt_ratio",
    "fmt_date",
    "fmt_datetime",
    "fmt_period",
    "date_words",
    "place_date_line",
    "short_hash",
    "group_fingerprint",
]

#: A number we format. ``numbers.Real`` would say it but static checkers do not support the
#: numeric tower (PEP 484), so the concrete types are listed; ``bool`` is refused at run time.
Number: TypeAlias = int | float | Decimal

#: What we print for a missing value (en dash, as in hand-made Vietnamese tables).
EMPTY = "–"


def nfc(text: object) -> str:
    """``str(text)`` normalised to Unicode NFC; ``None`` becomes ``""``."""
    if text is None:
        return ""
    return unicodedata.normalize("NFC", str(text))


def upper(text: object) -> str:
    """Vietnamese upper case (``"Thanh Hóa"`` -> ``"THANH HÓA"``), NFC."""
    return nfc(nfc(text).upper())


def _to_decimal(value: Number | str) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        # repr() gives the shortest string that round-trips, so 0.9665 stays 0.9665
        return Decimal(repr(value))
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - defensive
        raise ValueError(f"not a number: {value!r}") from exc


def _group_thousands(digits: str) -> str:
    out = []
    while len(digits) > 3:
        out.append(digits[-3:])
        digits = digits[:-3]
    out.append(digits)
    return ".".join(reversed(out))


def fmt_number(value: Number | None, decimals: int = 0) -> str:
    """``1234.5 -> "1.234,5"`` (with ``decimals=1``); rounding is half-up; ``None`` -> ``"–"``."""
    if value is None:
        return EMPTY
    d = _to_decimal(value)
    if not d.is_finite():
        return EMPTY
    q = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    d = d.quantize(q, rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    text = f"{abs(d):f}"
    whole, _, frac = text.partition(".")
    out = sign + _group_thousands(whole)
    if decimals > 0:
        out += "," + frac.ljust(decimals, "0")[:decimals]
    return out


def fmt_int(value: int | None) -> str:
    """``3316 -> "3.316"``, ``-1200 -> "-1.200"``, ``None -> "–"``."""
    if value is None:
        return EMPTY
    return fmt_number(value, 0)


def fmt_percent(fraction: Number | None, decimals: int = 1) -> str:
    """A completion fraction as a Vietnamese percentage.

    ``0.9667 -> "96,7%"``, ``0.5 -> "50,0%"``, ``1 -> "100%"``, ``0 -> "0%"``,
    ``1.25 -> "125,0%"``, ``None -> "–"``.

    Exactly 100% and 0% are written without decimals.  A value below 1 is
    never printed as 100 (``0.9996 -> "99,9%"``), nor a value above 0 as 0
    (``0.0001 -> "0,1%"``): a report must not claim a target is complete when
    it is not, or untouched when work has started.
    """
    if fraction is None:
        return EMPTY
    f = _to_decimal(fraction)
    if not f.is_finite():
        return EMPTY
    if f == 1:
        return "100%"
    if f == 0:
        return "0%"
    pct = f * 100
    step = Decimal(1).scaleb(-decimals) if decimals > 0 else Decimal(1)
    rounded = pct.quantize(step, rounding=ROUND_HALF_UP)
    if f < 1 and rounded >= 100:
        rounded = Decimal(100) - step
    elif 0 < f and rounded <= 0:
        rounded = step
    return fmt_number(rounded, decimals) + "%"


def fmt_ratio(done: int | None, total: int | None) -> str:
    """``(3316, 3429) -> "3.316/3.429"``; a missing side prints as ``–``."""
    return f"{fmt_int(done)}/{fmt_int(total)}"


def _as_date(value: _dt.date | _dt.datetime) -> _dt.date:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    raise TypeError(f"expected a date, got {type(value).__name__}")


def fmt_date(value: _dt.date | _dt.datetime | None) -> str:
    """``date(2026, 1, 5) -> "05/01/2026"``; ``None -> ""``."""
    if value is None:
        return ""
    d = _as_date(value)
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def fmt_datetime(value: _dt.datetime | None, seconds: bool = False) -> str:
    """``datetime(2026, 1, 5, 9, 7) -> "05/01/2026 09:07"`` in the computer's local time: an aware
    time (UTC from the audit log, the share) is converted, a naive one is already local.
    ``None -> ""``."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone()
    return fmt_date(value) + value.strftime(" %H:%M:%S" if seconds else " %H:%M")


def fmt_period(key: str | None) -> str:
    """A reporting period key as users read it: ``"2025-04" -> "Tháng 04/2025"``,
    ``"2025-Q2" -> "Quý II/2025"``, ``"2025-H1" -> "6 tháng đầu năm 2025"``, ``"2025" -> "Năm 2025"``;
    ``None``/``""`` -> ``""``; a key that is not a period is returned as it is."""
    if not key:
        return ""
    try:
        return ReportingPeriod.parse(str(key)).label
    except (ValueError, KeyError):
        return str(key)


def date_words(value: _dt.date | _dt.datetime) -> str:
    """``"ngày 05 tháng 01 năm 2026"`` with the NĐ 30 zero-padding rule."""
    d = _as_date(value)
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    return nfc(f"ngày {d.day:02d} tháng {month} năm {d.year:04d}")


def place_date_line(place: str, value: _dt.date | _dt.datetime) -> str:
    """``("Thanh Hóa", date(2026, 1, 5)) -> "Thanh Hóa, ngày 05 tháng 01 năm 2026"``."""
    place = nfc(place).strip()
    words = date_words(value)
    return nfc(f"{place}, {words}") if place else words


def short_hash(hex_digest: str, length: int = 16, group: int = 4) -> str:
    """First ``length`` hex digits in groups: ``"9f86d081884c7d65…" -> "9f86 d081 884c 7d65"``."""
    h = "".join(ch for ch in str(hex_digest).lower() if ch in "0123456789abcdef")[:length]
    return " ".join(h[i : i + group] for i in range(0, len(h), group))


def group_fingerprint(fingerprint: str, group: int = 5) -> str:
    """Normalise spacing of a key fingerprint: ``"1234567890" -> "12345 67890"``.

    A fingerprint that already contains spaces keeps its own grouping (only
    runs of whitespace are collapsed).
    """
    fp = nfc(fingerprint).strip()
    if not fp:
        return ""
    if any(ch.isspace() for ch in fp):
        return " ".join(fp.split())
    return " ".join(fp[i : i + group] for i in range(0, len(fp), group))
