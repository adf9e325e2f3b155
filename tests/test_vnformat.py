"""Vietnamese number/date formatting (desktop.export.vnformat)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

import pytest

from desktop.export.vnformat import (
    date_words,
    fmt_date,
    fmt_int,
    fmt_number,
    fmt_percent,
    fmt_ratio,
    group_fingerprint,
    nfc,
    place_date_line,
    short_hash,
    upper,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.9667, "96,7%"),
        (0.96666, "96,7%"),
        (0.9665, "96,7%"),  # half-up, not banker's rounding
        (0.5, "50,0%"),
        (0.123, "12,3%"),
        (1, "100%"),
        (1.0, "100%"),
        (Decimal("1.000"), "100%"),
        (0, "0%"),
        (0.0, "0%"),
        (0.9996, "99,9%"),  # never claim completion that did not happen
        (0.99999, "99,9%"),
        (0.0001, "0,1%"),  # never claim nothing was done
        (1.25, "125,0%"),
        (12.5, "1.250,0%"),
        (None, "–"),
    ],
)
def test_fmt_percent(value, expected):
    assert fmt_percent(value) == expected


def test_fmt_percent_other_precision():
    assert fmt_percent(0.96666, decimals=2) == "96,67%"
    assert fmt_percent(0.96666, decimals=0) == "97%"


def test_fmt_percent_rejects_bool():
    with pytest.raises(TypeError):
        fmt_percent(True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1.000"),
        (3316, "3.316"),
        (3429, "3.429"),
        (1234567, "1.234.567"),
        (-1200, "-1.200"),
        (None, "–"),
    ],
)
def test_fmt_int(value, expected):
    assert fmt_int(value) == expected


def test_fmt_number():
    assert fmt_number(1234.5, 1) == "1.234,5"
    assert fmt_number(1234.55, 1) == "1.234,6"
    assert fmt_number(0.5) == "1"
    assert fmt_number(-0.25, 2) == "-0,25"


def test_fmt_ratio():
    assert fmt_ratio(3316, 3429) == "3.316/3.429"
    assert fmt_ratio(0, 12) == "0/12"
    assert fmt_ratio(None, 5) == "–/5"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 1, 5), "05/01/2026"),
        (dt.date(2026, 11, 20), "20/11/2026"),
        (dt.datetime(2026, 3, 9, 14, 30), "09/03/2026"),
        (None, ""),
    ],
)
def test_fmt_date(value, expected):
    assert fmt_date(value) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 1, 5), "Thanh Hóa, ngày 05 tháng 01 năm 2026"),
        (dt.date(2026, 3, 15), "Thanh Hóa, ngày 15 tháng 3 năm 2026"),
        (dt.date(2026, 2, 5), "Thanh Hóa, ngày 05 tháng 02 năm 2026"),
        (dt.date(2026, 11, 20), "Thanh Hóa, ngày 20 tháng 11 năm 2026"),
        (dt.date(2026, 12, 1), "Thanh Hóa, ngày 01 tháng 12 năm 2026"),
        (dt.date(2026, 10, 31), "Thanh Hóa, ngày 31 tháng 10 năm 2026"),
        (dt.datetime(2026, 2, 28, 8, 0), "Thanh Hóa, ngày 28 tháng 02 năm 2026"),
    ],
)
def test_place_date_line(day, expected):
    assert place_date_line("Thanh Hóa", day) == expected


def test_place_date_line_without_place():
    assert place_date_line("", dt.date(2026, 4, 30)) == "ngày 30 tháng 4 năm 2026"
    assert date_words(dt.date(2026, 1, 9)) == "ngày 09 tháng 01 năm 2026"


def test_everything_is_nfc():
    decomposed_place = unicodedata.normalize("NFD", "Thanh Hóa")
    assert decomposed_place != "Thanh Hóa"
    line = place_date_line(decomposed_place, dt.date(2026, 1, 5))
    assert line == "Thanh Hóa, ngày 05 tháng 01 năm 2026"
    assert unicodedata.is_normalized("NFC", line)
    assert nfc(unicodedata.normalize("NFD", "Việt Nam")) == "Việt Nam"
    assert upper(unicodedata.normalize("NFD", "Viện kiểm sát nhân dân")) == "VIỆN KIỂM SÁT NHÂN DÂN"
    assert unicodedata.is_normalized("NFC", upper("độc lập"))
    for text in (fmt_percent(0.9667), fmt_int(3316), fmt_ratio(1, 2), fmt_date(dt.date(2026, 1, 1))):
        assert unicodedata.is_normalized("NFC", text)


def test_short_hash_and_fingerprint():
    sha = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
    assert short_hash(sha) == "9f86 d081 884c 7d65"
    assert group_fingerprint("12345678901357924680") == "12345 67890 13579 24680"
    assert group_fingerprint("  12345  67890 13579\t24680 ") == "12345 67890 13579 24680"
    assert group_fingerprint("") == ""


def test_screen_formats_periods_and_times():
    from datetime import datetime, timezone

    from desktop.export.vnformat import fmt_datetime, fmt_period

    assert [fmt_period(k) for k in ("2025-04", "2025-Q2", "2025-H2", "2025", "", None, "khac")] == [
        "Tháng 04/2025", "Quý II/2025", "6 tháng cuối năm 2025", "Năm 2025", "", "", "khac"]
    assert fmt_datetime(datetime(2026, 1, 5, 9, 7, 3)) == "05/01/2026 09:07"
    assert fmt_datetime(datetime(2026, 1, 5, 9, 7, 3), seconds=True) == "05/01/2026 09:07:03"
    utc = datetime(2026, 1, 5, 2, 0, tzinfo=timezone.utc)
    assert fmt_datetime(utc) == fmt_datetime(utc.astimezone().replace(tzinfo=None))  # shown in local time
    assert fmt_datetime(None) == ""
