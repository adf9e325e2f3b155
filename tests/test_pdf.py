"""PDF rendering (desktop.export.pdf), checked through poppler's command-line tools.

Regenerate the golden images after an intended layout change with
``VKS_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_pdf.py``.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
import shutil
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import segno
from PIL import Image, ImageChops, ImageFilter, ImageStat
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

import report_samples as rs
from desktop.export.documents import Verification
from desktop.export.pdf import (
    render_consolidated_report,
    render_enrolment_form,
    render_recovery_sheet,
    render_unit_report,
)
from desktop.export.pdf._base import QRCode
from desktop.export.pdf.unit_report import appendix_widths
from desktop.export.vnformat import short_hash

GOLDEN = Path(__file__).parent / "golden"
POPPLER = ("pdftotext", "pdffonts", "pdfinfo", "pdftoppm")
_missing = [t for t in POPPLER if shutil.which(t) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"poppler-utils tool(s) not installed: {', '.join(_missing)}"
)

A4_W, A4_H = 595.276, 841.89
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_LEFT, MARGIN_RIGHT = 20 * mm, 20 * mm, 30 * mm, 15 * mm
TOL = 2.0  # points of slack for glyph bounding boxes


# --------------------------------------------------------------------------- helpers


def norm(text: str) -> str:
    """NFC and collapse every run of whitespace (wrapped lines, page breaks) to one space."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def pdftext(path: Path, first: int | None = None, last: int | None = None,
            crop: tuple[float, float, float, float] | None = None, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    if first:
        args += ["-f", str(first)]
    if last:
        args += ["-l", str(last)]
    if crop:
        x, y, w, h = crop
        args += ["-x", str(int(x)), "-y", str(int(y)), "-W", str(int(w)), "-H", str(int(h))]
    return unicodedata.normalize("NFC", run(*args, str(path), "-"))


def page_count(path: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(path)), re.M).group(1))


def page_sizes(path: Path) -> list[tuple[float, float]]:
    out = run("pdfinfo", "-f", "1", "-l", str(page_count(path)), str(path))
    return [(float(w), float(h))
            for w, h in re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)]


@dataclasses.dataclass
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclasses.dataclass
class Page:
    width: float
    height: float
    words: list[Word]

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    def in_top_margin(self) -> list[Word]:
        return [w for w in self.words if w.y1 <= MARGIN_TOP]


def bbox_pages(path: Path) -> list[Page]:
    xml = run("pdftotext", "-bbox-layout", "-enc", "UTF-8", str(path), "-")
    root = ET.fromstring(xml)
    pages = []
    for page in root.iter("{http://www.w3.org/1999/xhtml}page"):
        words = [
            Word(unicodedata.normalize("NFC", w.text or ""), float(w.get("xMin")),
                 float(w.get("yMin")), float(w.get("xMax")), float(w.get("yMax")))
            for w in page.iter("{http://www.w3.org/1999/xhtml}word")
        ]
        pages.append(Page(float(page.get("width")), float(page.get("height")), words))
    return pages


def render(fn, doc, path: Path) -> Path:
    buf = io.BytesIO()
    fn(doc, buf)
    data = buf.getvalue()
    assert data.startswith(b"%PDF-")
    path.write_bytes(data)
    return path


def page_image(path: Path, page: int, dpi: int, tmp: Path, gray: bool = True) -> Image.Image:
    prefix = tmp / f"{path.stem}-p{page}-{dpi}"
    args = ["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-png",
            "-singlefile"]
    if gray:
        args.append("-gray")
    run(*args, str(path), str(prefix))
    img = Image.open(f"{prefix}.png")
    img.load()
    return img.convert("L")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(scope="module")
def unit12(out):
    doc = rs.sample_unit_report(12)
    return doc, render(render_unit_report, doc, out / "unit12.pdf")


@pytest.fixture(scope="module")
def unit60(out):
    doc = rs.sample_unit_report(60)
    return doc, render(render_unit_report, doc, out / "unit60.pdf")


@pytest.fixture(scope="module")
def unit_unpackaged(out):
    doc = rs.sample_unit_report(5, packaged=False)
    return doc, render(render_unit_report, doc, out / "unit_unpackaged.pdf")


@pytest.fixture(scope="module")
def consolidated(out):
    doc = rs.sample_consolidated_report(12, 12)
    return doc, render(render_consolidated_report, doc, out / "consolidated.pdf")


@pytest.fixture(scope="module")
def recovery(out):
    doc = rs.sample_recovery_sheet()
    return doc, render(render_recovery_sheet, doc, out / "recovery.pdf")


@pytest.fixture(scope="module", params=["request", "acceptance"])
def enrolment(out, request):
    doc = rs.sample_enrolment_form(request.param)
    return doc, render(render_enrolment_form, doc, out / f"enrolment_{request.param}.pdf")


@pytest.fixture(scope="module")
def all_pdfs(unit12, unit60, unit_unpackaged, consolidated, recovery, out):
    forms = [render(render_enrolment_form, rs.sample_enrolment_form(k), out / f"form_{k}.pdf")
             for k in ("request", "acceptance")]
    return [unit12[1], unit60[1], unit_unpackaged[1], consolidated[1], recovery[1], *forms]


# --------------------------------------------------------------------------- unit report: text


def test_unit_report_heading_text(unit12):
    doc, path = unit12
    text = norm(pdftext(path))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "BÁO CÁO" in text
    assert "Kết quả thực hiện chuyển đổi số năm 2025" in text
    assert "Kính gửi: Viện kiểm sát nhân dân tỉnh Thanh Hóa" in text
    assert "Số: 05/BC-VKSKV1" in text
    assert "Thanh Hóa, ngày 05 tháng 01 năm 2026" in text
    for heading in ("I. CÔNG TÁC CHỈ ĐẠO, TRIỂN KHAI", "II. KẾT QUẢ THỰC HIỆN",
                    "III. TỒN TẠI, HẠN CHẾ", "IV. KHÓ KHĂN, VƯỚNG MẮC",
                    "V. PHƯƠNG HƯỚNG KỲ TỚI", "VI. ĐỀ XUẤT, KIẾN NGHỊ"):
        assert heading in text
    for key in ("I", "III", "VI"):
        assert norm(rs.SECTIONS[key]) in text
    assert "Nơi nhận:" in text
    assert "- Lưu: VT, VP." in text
    assert "KT. VIỆN TRƯỞNG" in text and "PHÓ VIỆN TRƯỞNG" in text
    assert "Lê Thị Hồng Nhung" in text
    assert "PHỤ LỤC" in text
    assert ("(Kèm theo Báo cáo số 05/BC-VKSKV1 ngày 05 tháng 01 năm 2026 của "
            "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa)") in text


def test_header_columns(unit12):
    """Left column: parent agency and unit; right column: Quốc hiệu and Tiêu ngữ."""
    _, path = unit12
    from desktop.export.pdf._base import HEADER_LEFT, HEADER_RIGHT

    left = norm(pdftext(path, 1, 1, crop=(MARGIN_LEFT, 0, HEADER_LEFT, 70 * mm)))
    right = norm(pdftext(path, 1, 1, crop=(MARGIN_LEFT + HEADER_LEFT, 0, HEADER_RIGHT, 70 * mm)))
    assert rs.PARENT in left
    assert rs.UNIT in left
    assert "Số: 05/BC-VKSKV1" in left
    assert "CỘNG HÒA" not in left
    assert right.startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM Độc lập - Tự do - Hạnh phúc")
    assert "Thanh Hóa, ngày 05 tháng 01 năm 2026" in right


def test_header_lines_are_centred_in_their_columns(unit12):
    _, path = unit12
    page = bbox_pages(path)[0]
    words = [w for w in page.words if w.y1 < 70 * mm]

    def line_center(first: str, last: str) -> float:
        a = next(w for w in words if w.text == first)
        b = next(w for w in words if w.text == last and abs(w.y0 - a.y0) < 2)
        return (a.x0 + b.x1) / 2

    from desktop.export.pdf._base import HEADER_LEFT, HEADER_RIGHT

    right_center = MARGIN_LEFT + HEADER_LEFT + HEADER_RIGHT / 2
    left_center = MARGIN_LEFT + HEADER_LEFT / 2
    assert line_center("CỘNG", "NAM") == pytest.approx(right_center, abs=2)
    assert line_center("Độc", "phúc") == pytest.approx(right_center, abs=2)
    assert line_center("Số:", "05/BC-VKSKV1") == pytest.approx(left_center, abs=2)


def landscape_column(path: Path, x0: float, width: float) -> str:
    """Text between x0 and x0+width on every landscape page, in reading order."""
    pages = [i + 1 for i, (w, h) in enumerate(page_sizes(path)) if w > h]
    assert pages, "the appendix is printed on landscape pages"
    return " ".join(
        norm(pdftext(path, p, p, crop=(x0 + 1, 0, width - 2, A4_W))) for p in pages)


def appendix_column(path: Path, index: int, rows) -> str:
    """Text of one column of the unit report's appendix table (widths follow the rows)."""
    widths = appendix_widths(rows)
    x0 = MARGIN_LEFT + sum(widths[:index])
    return landscape_column(path, x0, widths[index])


def test_every_target_text_in_appendix(unit60):
    """Each target's full text is printed, wrapped inside its cell, never clipped."""
    doc, path = unit60
    column = appendix_column(path, 1, doc.rows)
    # a row broken over two pages has the repeated header inside it
    column = column.replace(" Mục tiêu, nhiệm vụ (2) ", " ")
    assert len(doc.rows) == 60
    for row in doc.rows:
        assert norm(row.target_text) in column, row.tt


def test_appendix_values(unit12):
    doc, path = unit12
    assert "3.316/3.429" in appendix_column(path, 5, doc.rows)
    percents = appendix_column(path, 6, doc.rows)
    assert "96,7%" in percents and "100%" in percents
    status = appendix_column(path, 7, doc.rows)
    for label in ("Đúng tiến độ", "Hoàn thành", "Chậm tiến độ", "Chưa thực hiện"):
        assert label in status
    # row order is preserved: statuses read top to bottom match the document
    assert status.split("Tiến độ (8) ", 1)[1].startswith(
        " ".join(r.status_text for r in doc.rows[:2]))
    assert "I. HẠ TẦNG SỐ, AN TOÀN THÔNG TIN" in norm(pdftext(path))


def test_header_row_repeated_on_every_appendix_page(unit60):
    _, path = unit60
    sizes = page_sizes(path)
    appendix = [i + 1 for i, (w, h) in enumerate(sizes) if w > h]
    assert len(appendix) >= 3, "60 targets need several landscape pages"
    for p in appendix:
        from desktop.export.pdf.unit_report import APPENDIX_HEADERS

        words = set(norm(pdftext(path, p, p)).split())
        for head in APPENDIX_HEADERS + ("(12)",):
            assert set(head.split()) <= words, (p, head)


def test_chart_labels(unit12):
    doc, path = unit12
    text = norm(pdftext(path, 1, 2))
    for g in doc.group_completion:
        assert norm(g.label) in text
    assert "Biểu đồ: Tỷ lệ hoàn thành theo nhóm mục tiêu, nhiệm vụ" in text
    assert "33,3%" in text


def test_special_characters_are_printed_literally(out):
    doc = rs.sample_unit_report(3)
    rows = list(doc.rows)
    rows[0] = dataclasses.replace(rows[0], target_text="Tỷ lệ lỗi < 5% & thời gian xử lý > 2 ngày")
    path = render(render_unit_report, dataclasses.replace(doc, rows=rows), out / "escape.pdf")
    assert "Tỷ lệ lỗi < 5% & thời gian xử lý > 2 ngày" in norm(pdftext(path))


def test_oversized_cell_is_split_not_lost(out):
    doc = rs.sample_unit_report(4)
    rows = list(doc.rows)
    long = " ".join(f"Vướng mắc số {i}: thiếu máy tính, đường truyền chậm;" for i in range(45))
    rows[1] = dataclasses.replace(rows[1], difficulties=long)
    path = render(render_unit_report, dataclasses.replace(doc, rows=rows), out / "long.pdf")
    column = appendix_column(path, 10, rows).replace(" Khó khăn, vướng mắc (11) ", " ")
    assert norm(long) in column


def test_report_without_rows_has_no_appendix(out):
    doc = dataclasses.replace(rs.sample_unit_report(1), rows=(), group_completion=())
    path = render(render_unit_report, doc, out / "norows.pdf")
    assert all(w < h for w, h in page_sizes(path))
    assert "PHỤ LỤC" not in pdftext(path)


def test_missing_section_reads_khong_co(out):
    doc = dataclasses.replace(rs.sample_unit_report(1), sections={"I": "Đã triển khai."})
    text = norm(pdftext(render(render_unit_report, doc, out / "sections.pdf")))
    assert "Đã triển khai." in text
    assert "IV. KHÓ KHĂN, VƯỚNG MẮC Không có." in text


# --------------------------------------------------------------------------- verification


def test_verification_block_packaged(unit12):
    _, path = unit12
    text = norm(pdftext(path))
    assert short_hash(rs.BUNDLE_SHA256) in text
    assert re.search(r"[0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4} [0-9a-f]{4}", text)
    assert rs.KEY_FINGERPRINT in text
    assert "Chưa đóng gói" not in text


def test_verification_block_not_packaged(unit_unpackaged):
    _, path = unit_unpackaged
    text = norm(pdftext(path))
    assert "Chưa đóng gói" in text
    assert rs.KEY_FINGERPRINT in text
    assert short_hash(rs.BUNDLE_SHA256) not in text


def test_verification_block_without_key(out):
    doc = rs.sample_unit_report(2, verification=False)
    text = norm(pdftext(render(render_unit_report, doc, out / "nokey.pdf")))
    assert "Chưa đóng gói" in text
    assert "chưa thiết lập khóa ký" in text


def test_qr_code_holds_hash_and_fingerprint(out):
    """Rasterise the QR flowable and compare every module with segno's matrix."""
    ver = Verification(rs.BUNDLE_SHA256, rs.KEY_FINGERPRINT)
    assert rs.BUNDLE_SHA256 in ver.qr_payload
    assert rs.KEY_FINGERPRINT.replace(" ", "") in ver.qr_payload
    size = 40 * mm
    flow = QRCode(ver.qr_payload, size=size)
    path = out / "qr.pdf"
    c = Canvas(str(path), pagesize=(size, size))
    flow.wrapOn(c, size, size)
    flow.drawOn(c, 0, 0)
    c.save()
    dpi = 300
    img = page_image(path, 1, dpi, out)
    matrix = segno.make(ver.qr_payload, error="m", micro=False).matrix
    n = len(matrix) + 4
    px = img.width / n
    for r, row in enumerate(matrix):
        for col, bit in enumerate(row):
            x = int((col + 2 + 0.5) * px)
            y = int((r + 2 + 0.5) * px)
            dark = img.getpixel((x, y)) < 128
            assert dark == bool(bit & 1), (r, col)


# --------------------------------------------------------------------------- fonts, geometry


def test_only_embedded_liberation_fonts(all_pdfs):
    for path in all_pdfs:
        lines = run("pdffonts", str(path)).splitlines()[2:]
        assert lines, path
        for line in lines:
            name, emb = line.split()[0], line.split()[-5]
            assert emb == "yes", (path.name, line)
            assert "LiberationSerif" in name, (path.name, line)
            assert "Helvetica" not in line and "Times" not in line


def test_pages_are_a4(all_pdfs):
    for path in all_pdfs:
        for w, h in page_sizes(path):
            assert sorted((w, h)) == pytest.approx(sorted((A4_W, A4_H)), abs=0.5), path.name


def test_text_inside_margins(all_pdfs):
    """Every word lies inside the NĐ 30 margins, except the page number in the top margin."""
    for path in all_pdfs:
        for i, page in enumerate(bbox_pages(path), start=1):
            page_number = page.in_top_margin()
            assert len(page_number) <= 1, (path.name, i, page_number)
            for w in page.words:
                if w in page_number:
                    continue
                assert w.x0 >= MARGIN_LEFT - TOL, (path.name, i, w)
                assert w.x1 <= page.width - MARGIN_RIGHT + TOL, (path.name, i, w)
                assert w.y0 >= MARGIN_TOP - TOL, (path.name, i, w)
                assert w.y1 <= page.height - MARGIN_BOTTOM + TOL, (path.name, i, w)


def expected_page_numbers(pages: list[Page]) -> list[str | None]:
    """NĐ 30: no number on page 1; an appendix (first landscape page) starts its own count."""
    numbers: list[str | None] = []
    n = 0
    for i, page in enumerate(pages):
        starts_appendix = page.landscape and (i == 0 or not pages[i - 1].landscape)
        n = 1 if (i == 0 or starts_appendix) else n + 1
        numbers.append(None if n == 1 else str(n))
    return numbers


def test_page_numbers_centred_in_top_margin(unit60, consolidated):
    for _, path in (unit60, consolidated):
        pages = bbox_pages(path)
        assert len(pages) >= 4
        for page, expected in zip(pages, expected_page_numbers(pages)):
            top = page.in_top_margin()
            if expected is None:
                assert top == []
                continue
            assert [w.text for w in top] == [expected]
            w = top[0]
            centre = MARGIN_LEFT + (page.width - MARGIN_LEFT - MARGIN_RIGHT) / 2
            assert (w.x0 + w.x1) / 2 == pytest.approx(centre, abs=1.5)
            assert w.y0 > 3 * mm


def test_unit_report_page_numbers_from_page_two(unit60):
    _, path = unit60
    pages = bbox_pages(path)
    assert pages[0].in_top_margin() == []
    assert [w.text for w in pages[1].in_top_margin()] == ["2"]


def test_document_info(unit12):
    _, path = unit12
    info = run("pdfinfo", str(path))
    assert "VKS CĐS" in unicodedata.normalize("NFC", info)
    assert "BÁO CÁO 05/BC-VKSKV1" in unicodedata.normalize("NFC", info)


# --------------------------------------------------------------------------- other documents


def test_consolidated_report(consolidated):
    doc, path = consolidated
    text = norm(pdftext(path))
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "BÁO CÁO" in text
    assert "11/12 đơn vị (đạt 91,7%)" in text
    # running text names units in full, never "VKSND KV…"
    assert "Đơn vị chưa báo cáo: Viện kiểm sát nhân dân khu vực 12 - Thanh Hóa." in text
    assert "Đơn vị báo cáo chậm: Viện kiểm sát nhân dân khu vực 3 - Thanh Hóa." in text
    for u in doc.units:
        assert u.short_name in text and u.name in text
    # the numbered target list (TT | text | …) at the end of the appendix; no internal codes
    from desktop.export.pdf._base import LANDSCAPE_WIDTH

    targets_column = landscape_column(path, MARGIN_LEFT + 9 * mm, LANDSCAPE_WIDTH - 45 * mm)
    for t in doc.targets:
        assert t.code not in text
        assert norm(t.text) in targets_column
    layout = norm(pdftext(path, layout=True))
    assert ("HT Hoàn thành ĐTĐ Đúng tiến độ CTĐ Chậm tiến độ QH Quá hạn CTH Chưa thực hiện "
            "KAD Không áp dụng – Chưa báo cáo") in layout
    # a matrix row: TT, unit, then "status value" per target
    row = doc.units[0]
    cells = [doc.cell(row.code, t.code) for t in doc.targets]
    expected = " ".join(f"{c.abbrev} {c.value_text}".strip() for c in cells)
    assert f"1 {row.short_name} {expected}" in layout
    assert "TT Đơn vị " + " ".join(str(i) for i in range(1, len(doc.targets) + 1)) in layout
    assert "Số đơn vị hoàn thành" in text
    assert short_hash(rs.BUNDLE_SHA256) in text


def test_consolidated_large_matrix_in_landscape_blocks(out):
    doc = rs.sample_consolidated_report(30, 60)
    path = render(render_consolidated_report, doc, out / "consolidated_30x60.pdf")
    sizes = page_sizes(path)
    assert any(w > h for w, h in sizes)
    text = norm(pdftext(path))
    assert "Bảng 1/5: mục tiêu, nhiệm vụ số 1 – 12" in text
    assert "Bảng 5/5: mục tiêu, nhiệm vụ số 49 – 60" in text
    for t in doc.targets:
        assert norm(t.text) in text


def test_recovery_sheet(recovery):
    doc, path = recovery
    assert page_count(path) == 1
    text = norm(pdftext(path))
    assert "PHIẾU MÃ KHÔI PHỤC" in text
    assert "GIỮ BÍ MẬT" in text
    assert "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa" in text
    assert "05/01/2026" in text
    assert "CẢNH BÁO" in text
    squashed = text.replace(" ", "")
    assert len(doc.code_groups) == 8
    for g in doc.code_groups:
        assert g in squashed
    assert "THỦ TRƯỞNG ĐƠN VỊ" in text


def test_enrolment_forms(enrolment):
    doc, path = enrolment
    assert page_count(path) == 1
    text = norm(pdftext(path))
    title = "PHIẾU ĐỀ NGHỊ ĐĂNG KÝ KHÓA" if doc.kind == "request" else "PHIẾU XÁC NHẬN ĐĂNG KÝ KHÓA"
    assert title in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    squashed = text.replace(" ", "")
    for fp in (doc.signing_key_fingerprint, doc.receiving_key_fingerprint):
        for group in fp.split():
            assert group in squashed
    assert "Trùng khớp" in text and "Không trùng khớp" in text
    assert "CÁN BỘ ĐỐI CHIẾU" in text
    assert doc.signature.name in text


# --------------------------------------------------------------------------- golden images


def _compare_golden(path: Path, name: str, tmp: Path, threshold: float = 2.0, page: int = 1) -> None:
    img = page_image(path, page, 40, tmp)
    golden = GOLDEN / name
    if os.environ.get("VKS_UPDATE_GOLDEN") == "1" or not golden.exists():
        if os.environ.get("VKS_UPDATE_GOLDEN") != "1":
            pytest.fail(f"missing golden image {golden}; run with VKS_UPDATE_GOLDEN=1")
        GOLDEN.mkdir(exist_ok=True)
        img.save(golden)
        return
    ref = Image.open(golden).convert("L")
    assert abs(ref.width - img.width) <= 1 and abs(ref.height - img.height) <= 1
    if ref.size != img.size:
        img = img.resize(ref.size)
    # a light blur makes the comparison indifferent to one-pixel anti-aliasing shifts
    a = ref.filter(ImageFilter.GaussianBlur(1))
    b = img.filter(ImageFilter.GaussianBlur(1))
    diff = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
    assert diff < threshold, f"{name}: mean pixel difference {diff:.2f} ≥ {threshold}"


def test_golden_unit_report_page1(unit12, out):
    _compare_golden(unit12[1], "unit_report_p1.png", out)


def test_golden_recovery_sheet(recovery, out):
    _compare_golden(recovery[1], "recovery_sheet_p1.png", out)


def _first_landscape(path: Path) -> int:
    return next(i + 1 for i, (w, h) in enumerate(page_sizes(path)) if w > h)


def test_golden_unit_report_closing_and_appendix(unit12, out):
    """Page 2 (sections, Nơi nhận, signer, verification) and the appendix's first page."""
    _compare_golden(unit12[1], "unit_report_p2.png", out, page=2)
    _compare_golden(unit12[1], "unit_report_appendix_p1.png", out, page=_first_landscape(unit12[1]))


def test_golden_consolidated(consolidated, out):
    _compare_golden(consolidated[1], "consolidated_p1.png", out)
    _compare_golden(consolidated[1], "consolidated_appendix_p1.png", out,
                    page=_first_landscape(consolidated[1]))


def test_golden_notice(out):
    from desktop.export.pdf import render_notice

    path = render(render_notice, rs.sample_notice(), out / "notice.pdf")
    _compare_golden(path, "notice_p1.png", out)


def test_golden_enrolment_request(out):
    path = render(render_enrolment_form, rs.sample_enrolment_form("request"), out / "golden_request.pdf")
    _compare_golden(path, "enrolment_request_p1.png", out)


def test_golden_detects_a_changed_page(unit12, consolidated, out):
    """The golden comparison is sensitive enough to notice another document's first page."""
    a = page_image(unit12[1], 1, 40, out).filter(ImageFilter.GaussianBlur(1))
    b = page_image(consolidated[1], 1, 40, out).filter(ImageFilter.GaussianBlur(1))
    assert ImageStat.Stat(ImageChops.difference(a, b)).mean[0] >= 2.0


# --------------------------------------------------------------------------- heading line breaks


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("VIỆN KIỂM SÁT NHÂN DÂN TỈNH THANH HÓA", ["VIỆN KIỂM SÁT NHÂN DÂN", "TỈNH THANH HÓA"]),
        ("VIỆN KIỂM SÁT NHÂN DÂN KHU VỰC 1 - THANH HÓA",
         ["VIỆN KIỂM SÁT NHÂN DÂN", "KHU VỰC 1 - THANH HÓA"]),
        ("VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO", ["VIỆN KIỂM SÁT NHÂN DÂN", "TỐI CAO"]),
        ("VĂN PHÒNG VIỆN KIỂM SÁT NHÂN DÂN TỈNH THANH HÓA",
         ["VĂN PHÒNG", "VIỆN KIỂM SÁT NHÂN DÂN", "TỈNH THANH HÓA"]),
    ],
)
def test_agency_names_break_like_a_clerk_would(text, lines):
    from desktop.export.pdf._base import HEADER_LEFT, balanced_lines
    from desktop.export.pdf._fonts import BOLD

    assert balanced_lines(text, BOLD, 12.5, HEADER_LEFT - 2 * mm) == lines


def test_subject_never_splits_a_word_or_a_year():
    from desktop.export.pdf._base import BODY_WIDTH, balanced_lines
    from desktop.export.pdf._fonts import BOLD

    lines = balanced_lines("Kết quả thực hiện Kế hoạch chuyển đổi số của ngành Kiểm sát nhân dân "
                           "năm 2025 và phương hướng, nhiệm vụ năm 2026", BOLD, 14, BODY_WIDTH * 0.85)
    assert lines == ["Kết quả thực hiện Kế hoạch chuyển đổi số",
                     "của ngành Kiểm sát nhân dân năm 2025",
                     "và phương hướng, nhiệm vụ năm 2026"]


@pytest.mark.parametrize("limit", [1.0, -1.0], ids=["first-fits", "none-fits"])
def test_unit_report_writes_the_chosen_probe_instead_of_laying_it_out_again(out, monkeypatch, limit):
    """The chart's place is found by laying the report out with the chart after each section in
    turn; the chosen layout is written as it was laid out (no extra build), and it is the same
    document a fresh build with that placement gives (text, pages, signature spaces)."""
    from desktop.export.pdf import unit_report as ur

    doc = rs.sample_unit_report(12)
    assert doc.group_completion
    monkeypatch.setattr(ur, "MAX_BLANK_SHARE", limit)
    builds: list[str] = []
    real_build = ur.build_unit_report

    def counting(d, template, chart_after="II"):
        builds.append(chart_after)
        return real_build(d, template, chart_after)

    monkeypatch.setattr(ur, "build_unit_report", counting)
    buf = io.BytesIO()
    spaces = ur.render_unit_report(doc, buf)
    keys = [k for k in ur.SECTION_KEYS if ur.SECTION_KEYS.index(k) >= ur.SECTION_KEYS.index("II")]
    assert builds == (["II"] if limit > 0 else keys)  # one layout per placement tried, none more
    chosen = "II"  # the first placement tried fits
    if limit < 0:  # none fits: the least blank placement, whichever it was
        shares = {}
        for key in keys:
            probe = ur._template(io.BytesIO(), doc.header)
            probe.build(real_build(doc, probe, key))
            shares[key] = probe.worst_blank_share()
        chosen = min(keys, key=lambda k: shares[k])
    fresh = io.BytesIO()
    template = ur._template(fresh, doc.header)
    template.build(real_build(doc, template, chosen))
    assert spaces == list(template.signature_spaces) and spaces
    got, want = out / f"probe-{limit}.pdf", out / f"fresh-{limit}.pdf"
    got.write_bytes(buf.getvalue())
    want.write_bytes(fresh.getvalue())
    assert pdftext(got) == pdftext(want)
