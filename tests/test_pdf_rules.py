"""Every rule of NĐ 30/2020/NĐ-CP Phụ lục I read back from the printed PDFs, per document kind.

The PDF is read through PDFium (see ``pdf_rules``): each text line with its font, size and
position, each horizontal rule with its length. What is checked, for the unit report, the
consolidated report, the reminder (thông báo) and the forms:

* Quốc hiệu: capitals, bold, 12-13 pt; Tiêu ngữ: bold 13-14 pt with a rule as long as the line;
* tên cơ quan chủ quản: capitals, regular, 12-13 pt; tên cơ quan ban hành: capitals, bold,
  12-13 pt, a rule of 1/3 to 1/2 of its line, centred under it;
* số, ký hiệu: regular 13 pt, "Số:" then the number (or a blank of at least 12 mm) and symbol;
* địa danh, ngày tháng: italic 13-14 pt, zero-padded day, month padded only for 1 and 2;
* tên loại: capitals, bold 13-14 pt; trích yếu: bold 13-14 pt with a rule of 1/3 to 1/2;
* body: regular 13-14 pt, first-line indent 1 to 1,27 cm;
* "Nơi nhận:" bold italic 12 pt; each item regular 11 pt, "- …;" and the last "- Lưu: VT, ….";
* quyền hạn, chức vụ: capitals, bold 13-14 pt; họ tên: bold 13-14 pt, below a signing space;
* page numbers: 13-14 pt regular, centred in the top margin, none on page 1 nor on the first
  page of an appendix; all text inside the margins (30/15/20/20 mm).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from reportlab.lib.units import mm

import report_samples as rs
from desktop.export.pdf import (
    render_consolidated_report,
    render_enrolment_form,
    render_notice,
    render_recovery_sheet,
    render_unit_report,
)
from pdf_rules import Line, Page, read_pdf

LEFT, RIGHT, TOP, BOTTOM = 30 * mm, 15 * mm, 20 * mm, 20 * mm
NUMBER_SIZES = (13, 14)


def _render(fn, doc, path: Path) -> tuple[Path, list]:
    buf = io.BytesIO()
    spaces = fn(doc, buf)
    path.write_bytes(buf.getvalue())
    return path, spaces


@pytest.fixture(scope="module")
def docs(tmp_path_factory):
    out = tmp_path_factory.mktemp("rules")
    blank = rs.sample_unit_report(12)
    blank = type(blank)(**{**blank.__dict__, "header": rs.header(number="/BC-VKSKV1")})
    return {
        "unit": (rs.sample_unit_report(12), *_render(render_unit_report, rs.sample_unit_report(12), out / "u.pdf")),
        "unit60": (rs.sample_unit_report(60), *_render(render_unit_report, rs.sample_unit_report(60),
                                                       out / "u60.pdf")),
        "unit_blank": (blank, *_render(render_unit_report, blank, out / "ub.pdf")),
        "consolidated": (rs.sample_consolidated_report(12, 12),
                         *_render(render_consolidated_report, rs.sample_consolidated_report(12, 12),
                                  out / "c.pdf")),
        "notice": (rs.sample_notice(), *_render(render_notice, rs.sample_notice(), out / "n.pdf")),
        "request": (rs.sample_enrolment_form("request"),
                    *_render(render_enrolment_form, rs.sample_enrolment_form("request"), out / "e.pdf")),
        "recovery": (rs.sample_recovery_sheet(),
                     *_render(render_recovery_sheet, rs.sample_recovery_sheet(), out / "r.pdf")),
    }


OFFICIAL = ("unit", "unit60", "unit_blank", "consolidated", "notice")


def between(value: float, lo: float, hi: float) -> bool:
    return lo - 0.05 <= value <= hi + 0.05


def sizes_in(line: Line, lo: float, hi: float) -> bool:
    return all(between(s, lo, hi) for s in line.sizes)


def check_heading(page: Page, parent: bool = True) -> None:
    """Quốc hiệu, tiêu ngữ, tên cơ quan (and its superior) with their rules."""
    nation = page.find(r"^CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM$")
    assert nation.bold and sizes_in(nation, 12, 13), nation
    motto = page.find(r"^Độc lập - Tự do - Hạnh phúc$")
    assert motto.bold and sizes_in(motto, 13, 14), motto
    assert motto.baseline > nation.baseline and abs(motto.centre - nation.centre) < 1.5
    (rule,) = page.rules_below(motto, 8)
    assert abs(rule.length - (motto.x1 - motto.x0)) < 2.0, (rule, motto)  # "bằng độ dài dòng chữ"
    assert abs(rule.centre - motto.centre) < 1.0
    # the left column: superior agency (regular), issuing agency (bold), both in capitals
    left = [x for x in page.lines if x.x1 < nation.x0 and x.baseline < motto.baseline + 30
            and x.text.upper() == x.text and not x.text.startswith("Số")]
    assert left, page.lines[:6]
    regular = [x for x in left if x.regular]
    bold = [x for x in left if x.bold]
    if parent:
        assert regular and all(sizes_in(x, 12, 13) for x in regular), left
        assert max(x.baseline for x in regular) < min(x.baseline for x in bold)
    assert bold and all(sizes_in(x, 12, 13) for x in bold), left
    centre = bold[0].centre
    assert all(abs(x.centre - centre) < 1.5 for x in left), left  # one centred block
    widest = max(x.x1 - x.x0 for x in bold)
    (unit_rule,) = page.rules_below(bold[-1], 10)
    assert widest / 3 - 1 <= unit_rule.length <= widest / 2 + 1, (unit_rule, widest)
    assert abs(unit_rule.centre - centre) < 1.0
    # the two columns never touch (both names at 12 pt on one line leave 2,4 mm: the most
    # that two centred columns of 165 mm can give "VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO")
    first = min(left, key=lambda x: x.baseline)
    assert nation.x0 - first.x1 >= 2 * mm or abs(first.baseline - nation.baseline) > 2


def check_number_and_date(page: Page, doc) -> None:
    h = doc.header
    so = page.find(r"^Số:")
    assert so.regular and sizes_in(so, *NUMBER_SIZES), so
    symbol = h.number.strip("\u00a0").split("/", 1)[1]
    tail = page.find(re.escape("/" + symbol) + "$")
    assert tail.regular and abs(tail.baseline - so.baseline) < 0.5
    if h.number.startswith("\u00a0"):  # a number still to be written by hand: a real blank
        assert tail.x0 - so.x1 >= 12 * mm, (so, tail)
    else:
        assert tail.x0 - so.x1 < 6
    place_date = page.find(r"ngày \d\d tháng \d{1,2} năm \d{4}$")
    assert place_date.italic and sizes_in(place_date, 13, 14), place_date
    d = h.date
    month = f"{d.month:02d}" if d.month <= 2 else str(d.month)
    assert place_date.text.endswith(f"ngày {d.day:02d} tháng {month} năm {d.year}")
    assert abs(place_date.baseline - so.baseline) < 2
    nation = page.find(r"^CỘNG HÒA")
    assert abs(place_date.centre - nation.centre) < 2  # centred under the Quốc hiệu


def check_title(page: Page, doc) -> None:
    kind = page.find("^" + re.escape(doc.header.title.upper()) + "$")
    assert kind.bold and sizes_in(kind, 13, 14), kind
    subject = [x for x in page.lines if x.bold and x.baseline > kind.baseline
               and x.baseline < kind.baseline + 80 and x.text != x.text.upper()]
    assert subject, "trích yếu"
    assert all(sizes_in(x, 13, 14) for x in subject)
    joined = " ".join(x.text for x in subject)
    assert joined == " ".join(doc.header.subject.split())
    widest = max(x.x1 - x.x0 for x in subject)
    (rule,) = page.rules_below(subject[-1], 9)
    assert min(widest / 3, 25 * mm) - 1 <= rule.length <= widest / 2 + 1, (rule, widest)
    assert abs(rule.centre - kind.centre) < 1.5
    # lower case period labels keep their capitals: "quý I/2025", never "quý i/2025"
    assert not re.search(r"quý [ivx]+/", joined)


def check_body(pages: list[Page]) -> None:
    portrait = [p for p in pages if not p.landscape]
    body = [x for p in portrait for x in p.lines if x.regular and 13.9 <= max(x.sizes) <= 14.1]
    assert len(body) >= 3
    assert all(sizes_in(x, 13, 14) for x in body)
    starts = sorted({round(x.x0 - LEFT, 1) for x in body})
    indents = [s for s in starts if s > 5]
    assert indents, starts
    assert all(10 * mm - 1 <= s <= 12.7 * mm + 1 for s in indents if s < 15 * mm), indents


def check_noi_nhan(pages: list[Page], doc) -> None:
    page = next(p for p in pages if p.find_all(r"^Nơi nhận:$"))
    title = page.find(r"^Nơi nhận:$")
    assert title.bold and title.italic and sizes_in(title, 12, 12), title
    column = [x for x in page.lines if x.baseline > title.baseline and abs(x.x0 - title.x0) < 3
              and x.baseline < title.baseline + 200 and 10.9 <= max(x.sizes) <= 11.1]
    assert column and all(x.regular and sizes_in(x, 11, 11) for x in column), column
    items: list[str] = []
    for x in column:  # wrapped items continue on the next line without a dash
        if x.text.startswith("- "):
            items.append(x.text)
        else:
            items[-1] += " " + x.text
    assert len(items) == len(doc.recipients)
    assert all(i.endswith(";") for i in items[:-1]), items
    assert re.fullmatch(r"- Lưu: VT(, [^;]+)?\.", items[-1]), items[-1]


def check_signature(pages: list[Page], doc, spaces: list) -> None:
    sig = doc.signature
    page = next(p for p in pages if p.find_all("^" + re.escape(sig.name) + "$"))
    name = page.find("^" + re.escape(sig.name) + "$")
    assert name.bold and sizes_in(name, 13, 14)
    heads = [x for x in (sig.authority, sig.title) if x]
    lines = [page.find("^" + re.escape(h.upper()) + "$") for h in heads]
    for x in lines:
        assert x.bold and sizes_in(x, 13, 14) and x.text == x.text.upper(), x
        assert abs(x.centre - name.centre) < 1.5
    assert name.baseline - lines[-1].baseline >= 25 * mm  # room to sign and stamp
    # the recorded signature space lies between the title and the name
    (pg, x0, y0, x1, y1) = spaces[-1]
    assert pg == page.number
    top, bottom = page.height - y1, page.height - y0
    assert lines[-1].bottom <= top + 1 and bottom <= name.top + 1
    assert x0 <= name.centre <= x1


def check_page_numbers_and_margins(pages: list[Page]) -> None:
    n = 0
    for i, page in enumerate(pages):
        starts_appendix = page.landscape and (i == 0 or not pages[i - 1].landscape)
        n = 1 if (i == 0 or starts_appendix) else n + 1
        top = [x for x in page.lines if x.bottom <= TOP]
        if n == 1:
            assert top == [], (page.number, top)
        else:
            (num,) = top
            assert num.text == str(n) and num.regular and sizes_in(num, 13, 14)
            assert abs(num.centre - (LEFT + (page.width - LEFT - RIGHT) / 2)) < 1.5
        for x in page.lines:
            if x in top:
                continue
            assert x.x0 >= LEFT - 1.5 and x.x1 <= page.width - RIGHT + 1.5, (page.number, x)
            assert x.top >= TOP - 2 and x.bottom <= page.height - BOTTOM + 2, (page.number, x)


@pytest.mark.parametrize("kind", OFFICIAL)
def test_official_documents_follow_nd30(docs, kind):
    doc, path, spaces = docs[kind]
    pages = read_pdf(path)
    first = pages[0]
    check_heading(first)
    check_number_and_date(first, doc)
    check_title(first, doc)
    check_body(pages)
    check_noi_nhan(pages, doc)
    check_signature(pages, doc, spaces)
    check_page_numbers_and_margins(pages)


@pytest.mark.parametrize("kind", ("request", "recovery"))
def test_forms_follow_nd30_heading(docs, kind):
    doc, path, _ = docs[kind]
    pages = read_pdf(path)
    if kind == "request":
        check_heading(pages[0], parent=bool(doc.parent_agency))
    check_page_numbers_and_margins(pages)


def test_kinds_use_their_own_title_and_no_report_skeleton(docs):
    notice = read_pdf(docs["notice"][1])
    text = " ".join(x.text for p in notice for x in p.lines)
    assert "THÔNG BÁO" in text
    assert "TỒN TẠI, HẠN CHẾ" not in text and "Không có." not in text
    assert "Kính gửi" not in text  # a notice names its addressees under "Nơi nhận"
    assert not any(p.landscape for p in notice)
    assert "Đã trả lại, chưa gửi lại" in text


def test_appendix_codes_and_figures_never_break(docs):
    """Every figure, date and number of the appendix is printed whole on one line of its cell."""
    doc, path, _ = docs["unit60"]
    texts = [x.text for p in read_pdf(path) if p.landscape for x in p.lines]
    for r in doc.rows:
        for value in (r.result_text, r.percent_text):
            if value and "/" in value or "%" in value:
                assert any(value in t for t in texts), (r.tt, value)


def test_first_page_is_not_half_empty(docs):
    for kind in ("unit", "unit60"):
        pages = read_pdf(docs[kind][1])
        first = pages[0]
        lowest = max(x.bottom for x in first.lines)
        assert lowest > first.height - BOTTOM - 0.25 * (first.height - TOP - BOTTOM), kind
