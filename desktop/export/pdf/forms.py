"""One-page forms: the recovery-code sheet and the key enrolment request/acceptance."""

from __future__ import annotations

from typing import BinaryIO, Sequence

from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from ..documents import EnrolmentFormDoc, RecoverySheetDoc, ReportHeader
from ..vnformat import fmt_date, place_date_line, upper
from ._base import (
    BODY_WIDTH,
    GRID,
    SHADE_LIGHT,
    FixedPitchText,
    ReportDocTemplate,
    _style,
    esc,
    national_header,
    para,
    signature_cell,
    styles,
    title_block,
)
from ._fonts import BOLD, ITALIC, REGULAR


class _FormStyles:
    def __init__(self) -> None:
        styles()  # registers fonts
        self.text = _style("ftext", fontSize=12.5, leading=15.5, alignment=TA_JUSTIFY,
                           spaceBefore=3)
        self.text_indent = _style("ftexti", fontSize=12.5, leading=15.5, alignment=TA_JUSTIFY,
                                  spaceBefore=3, firstLineIndent=10 * mm)
        self.item = _style("fitem", fontSize=11.5, leading=13.5, alignment=TA_JUSTIFY,
                           leftIndent=5 * mm, firstLineIndent=-4 * mm, spaceBefore=1)
        self.head = _style("fhead", fontName=BOLD, fontSize=12, leading=14.5, spaceBefore=5,
                           keepWithNext=1)
        self.label = _style("flabel", fontSize=12.5, leading=15.5)
        self.value = _style("fvalue", fontName=BOLD, fontSize=12.5, leading=15.5)
        self.caption = _style("fcap", fontName=BOLD, fontSize=12, leading=14.5, alignment=TA_CENTER)
        self.note = _style("fnote", fontName=ITALIC, fontSize=10.5, leading=12.5, alignment=TA_CENTER)
        self.warn_head = _style("fwarnh", fontName=BOLD, fontSize=12.5, leading=15.5,
                                alignment=TA_CENTER)
        self.sign_title = _style("fsign", fontName=BOLD, fontSize=13, leading=16, alignment=TA_CENTER)
        self.sign_hint = _style("fsignh", fontName=ITALIC, fontSize=12, leading=14.5,
                                alignment=TA_CENTER)
        self.check = _style("fcheck", fontSize=12.5, leading=16)


_FS: _FormStyles | None = None


def _fs() -> _FormStyles:
    global _FS
    if _FS is None:
        _FS = _FormStyles()
    return _FS


def _plain_table(data: list[list], widths: Sequence[float], extra: Sequence[tuple] = ()) -> Table:
    t = Table(data, colWidths=list(widths), hAlign="LEFT")
    t.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        *extra,
    ]))
    return t


def _boxed(content: list[Flowable], width: float = BODY_WIDTH, thickness: float = 1.0,
           fill=None, padding: float = 6) -> Table:
    t = Table([[content]], colWidths=[width], hAlign="LEFT")
    cmds = [
        ("FONTNAME", (0, 0), (-1, -1), REGULAR),
        ("BOX", (0, 0), (-1, -1), thickness, GRID),
        ("LEFTPADDING", (0, 0), (-1, -1), padding + 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), padding + 2),
        ("TOPPADDING", (0, 0), (-1, -1), padding),
        ("BOTTOMPADDING", (0, 0), (-1, -1), padding),
        ("ALIGN", (0, 0), (-1, -1), "CENTER"),
    ]
    if fill is not None:
        cmds.append(("BACKGROUND", (0, 0), (-1, -1), fill))
    t.setStyle(TableStyle(cmds))
    return t


def _two_signatures(left: list[Flowable], right: list[Flowable],
                    space_before: float = 10) -> Flowable:
    half = BODY_WIDTH / 2
    t = _plain_table([[left, right]], [half, half], [("ALIGN", (0, 0), (-1, -1), "CENTER")])
    return KeepTogether([Spacer(1, space_before), t])


def _signer_placeholder(title: str, hint: str, space: float = 22 * mm) -> list[Flowable]:
    fs = _fs()
    return [Paragraph(esc(upper(title)), fs.sign_title), Paragraph(esc(hint), fs.sign_hint),
            Spacer(1, space)]


# --------------------------------------------------------------------------- recovery sheet


def build_recovery_sheet(doc: RecoverySheetDoc) -> list[Flowable]:
    fs = _fs()
    header = ReportHeader(
        parent_agency=doc.parent_agency,
        issuing_unit=doc.unit_name,
        number_symbol="",
        place=doc.place,
        date=doc.created,
    )
    story: list[Flowable] = [national_header(
        header, number_line="",
        place_date=place_date_line(doc.place, doc.created) if doc.place else "")]
    story += title_block("Phiếu mã khôi phục dữ liệu VKS CĐS", space_before=8)
    story.append(_boxed([Paragraph("GIỮ BÍ MẬT - NIÊM PHONG, CẤT TRONG KÉT SẮT CỦA ĐƠN VỊ",
                                   fs.warn_head)],
                        width=BODY_WIDTH, thickness=1.4, padding=3))
    story.append(Spacer(1, 5))
    rows = [
        [para("Đơn vị:", fs.label), para(doc.unit_name, fs.value)],
        [para("Mã đơn vị:", fs.label), para(doc.unit_code, fs.value)],
        [para("Ngày tạo mã:", fs.label), para(fmt_date(doc.created), fs.value)],
    ]
    if doc.key_fingerprint:
        rows.append([para("Vân tay khóa ký:", fs.label), para(doc.key_fingerprint, fs.value)])
    story.append(_plain_table(rows, [36 * mm, BODY_WIDTH - 36 * mm]))
    story.append(Spacer(1, 5))

    groups = doc.code_groups
    code_box = [
        Paragraph("MÃ KHÔI PHỤC", fs.caption),
        Spacer(1, 4),
        FixedPitchText(groups, font=BOLD, size=20, numbered=True, boxed_chars=True),
        Spacer(1, 2),
        Paragraph(esc(
            f"Nhập lần lượt {len(groups)} nhóm ký tự theo thứ tự (1) → ({len(groups)}); "
            "số trong ngoặc chỉ là thứ tự nhóm, không phải là mã."), fs.note),
    ]
    story.append(_boxed(code_box, thickness=1.2, fill=SHADE_LIGHT, padding=7))

    story.append(Paragraph("1. Khi nào sử dụng", fs.head))
    story += [Paragraph(esc(f"- {t}"), fs.item) for t in doc.when_to_use]
    story.append(Paragraph("2. Cách sử dụng", fs.head))
    story += [Paragraph(esc(f"{i}. {t}"), fs.item) for i, t in enumerate(doc.how_to_use, 1)]
    warn = [Paragraph("CẢNH BÁO", fs.warn_head)]
    warn += [Paragraph(esc(f"- {t}"), fs.item) for t in doc.warnings]
    story.append(Spacer(1, 4))
    story.append(_boxed(warn, thickness=0.8, padding=3))
    story.append(Spacer(1, 2))
    story.append(Paragraph(
        "Niêm phong, cất vào két sắt hồi ...... giờ ...... ngày ....../....../..........",
        fs.text))
    story.append(_two_signatures(
        _signer_placeholder("Người lập phiếu", "(Ký, ghi rõ họ tên)", space=17 * mm),
        _signer_placeholder("Thủ trưởng đơn vị", "(Ký, ghi rõ họ tên, đóng dấu)", space=17 * mm),
        space_before=3,
    ))
    return story


def render_recovery_sheet(doc: RecoverySheetDoc, stream: BinaryIO) -> None:
    """Write the one-page recovery-code sheet as PDF to a binary stream."""
    template = ReportDocTemplate(
        stream,
        title="PHIẾU MÃ KHÔI PHỤC",
        subject=f"Mã khôi phục dữ liệu VKS CĐS - {doc.unit_name}",
        author=doc.unit_name,
    )
    template.build(build_recovery_sheet(doc))


# --------------------------------------------------------------------------- enrolment forms


def _fingerprint_panel(label: str, purpose: str, fingerprint: str) -> Table:
    fs = _fs()
    groups = fingerprint.split() or ["(chưa có)"]
    content = [
        Paragraph(esc(label), fs.caption),
        Paragraph(esc(purpose), fs.note),
        Spacer(1, 5),
        FixedPitchText(groups, font=BOLD, size=20, numbered=True, boxed_chars=True),
    ]
    return _boxed(content, thickness=1.2, fill=SHADE_LIGHT, padding=6)


def build_enrolment_form(doc: EnrolmentFormDoc) -> list[Flowable]:
    fs = _fs()
    request = doc.kind == "request"
    issuer, addressee = doc.issuer, doc.addressee
    header = ReportHeader(
        parent_agency=doc.parent_agency,
        issuing_unit=issuer.name,
        number_symbol=doc.number_symbol,
        place=doc.place,
        date=doc.date,
    )
    story: list[Flowable] = [national_header(
        header,
        number_line=header.number_line if doc.number_symbol else "Số:        /",
        place_date=place_date_line(doc.place, doc.date))]
    if request:
        story += title_block("Phiếu đề nghị đăng ký khóa",
                             "Khóa ký và khóa nhận dữ liệu báo cáo trên phần mềm VKS CĐS",
                             f"Kính gửi: {addressee.name}")
        intro = (f"{doc.unit.name} (mã đơn vị: {doc.unit.code}) đề nghị {doc.counterpart.name} "
                 "đăng ký các khóa dưới đây của đơn vị vào phần mềm VKS CĐS, để xác thực các báo "
                 "cáo do đơn vị gửi và mã hóa dữ liệu gửi cho đơn vị.")
    else:
        story += title_block("Phiếu xác nhận đăng ký khóa",
                             "Khóa ký và khóa nhận dữ liệu báo cáo trên phần mềm VKS CĐS",
                             f"Kính gửi: {addressee.name}")
        intro = (f"{doc.counterpart.name} xác nhận đã đối chiếu và đăng ký các khóa dưới đây của "
                 f"{doc.unit.name} (mã đơn vị: {doc.unit.code}) vào phần mềm VKS CĐS kể từ ngày "
                 f"{fmt_date(doc.date)}. Từ ngày này, báo cáo của đơn vị chỉ được tiếp nhận khi "
                 "được ký bằng khóa ký dưới đây.")
    story.append(para(intro, fs.text_indent))
    story.append(Spacer(1, 8))
    story.append(_fingerprint_panel(
        "VÂN TAY KHÓA KÝ BÁO CÁO",
        "Dùng để xác thực báo cáo, gói dữ liệu do đơn vị gửi",
        doc.signing_key_fingerprint))
    story.append(Spacer(1, 6))
    story.append(_fingerprint_panel(
        "VÂN TAY KHÓA NHẬN DỮ LIỆU",
        "Dùng để mã hóa dữ liệu gửi cho đơn vị",
        doc.receiving_key_fingerprint))
    story.append(Paragraph("Cách đối chiếu", fs.head))
    steps = (
        "Mở phần mềm VKS CĐS, chọn mục quản lý khóa của đơn vị gửi phiếu; vân tay hiển thị "
        "trên màn hình gồm các nhóm số như trên phiếu.",
        "Đọc to và so sánh lần lượt từng nhóm, theo đúng thứ tự (1), (2), (3)…; chỉ chấp nhận "
        "khi tất cả các nhóm của cả hai vân tay trùng khớp.",
        "Gọi điện thoại xác nhận với người ký phiếu theo số điện thoại đã biết trước "
        "(không dùng số điện thoại ghi kèm phiếu hoặc thư gửi phiếu).",
    )
    story += [Paragraph(esc(f"{i}. {t}"), fs.item) for i, t in enumerate(steps, 1)]
    if doc.note:
        story.append(para(doc.note, fs.text_indent))
    story.append(Spacer(1, 4))
    if request:
        story.append(Paragraph("Phần dành cho đơn vị tiếp nhận:", fs.head))
    gap = "&nbsp;" * 8
    story.append(Paragraph(
        f"Kết quả đối chiếu vân tay:{gap}□&nbsp;Trùng khớp{gap}□&nbsp;Không trùng khớp",
        fs.check))
    story.append(Paragraph(
        "Người đối chiếu: ....................................................  "
        "Ngày ....../....../..........", fs.check))
    checker = _signer_placeholder("Cán bộ đối chiếu", "(Ký, ghi rõ họ tên)")
    story.append(_two_signatures(checker, signature_cell(doc.signature, space=22 * mm)))
    return story


def render_enrolment_form(doc: EnrolmentFormDoc, stream: BinaryIO) -> None:
    """Write the key enrolment request or acceptance form as PDF to a binary stream."""
    title = "PHIẾU ĐỀ NGHỊ ĐĂNG KÝ KHÓA" if doc.kind == "request" else "PHIẾU XÁC NHẬN ĐĂNG KÝ KHÓA"
    template = ReportDocTemplate(
        stream,
        title=title,
        subject=f"{doc.unit.name} - {doc.counterpart.name}",
        author=doc.issuer.name,
    )
    template.build(build_enrolment_form(doc))
