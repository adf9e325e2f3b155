"""Realistic Vietnamese sample documents for the report engine (reusable by other tests).

    from report_samples import sample_unit_report, sample_consolidated_report
    doc = sample_unit_report(n_targets=60)
"""

from __future__ import annotations

import datetime as dt
import hashlib

from desktop.export.documents import (
    AppendixRow,
    ConsolidatedReportDoc,
    EnrolmentFormDoc,
    GroupCompletion,
    MatrixCell,
    NoticeDoc,
    NoticeItem,
    RecoverySheetDoc,
    ReportHeader,
    ReportingRate,
    SignatureBlock,
    Progress,
    Submission,
    TargetRef,
    UnitRef,
    UnitReportDoc,
    Verification,
)

PARENT = "VIỆN KIỂM SÁT NHÂN DÂN TỈNH THANH HÓA"
UNIT = "VIỆN KIỂM SÁT NHÂN DÂN KHU VỰC 1 - THANH HÓA"
UNIT_IN_SENTENCE = "Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa"
REPORT_DATE = dt.date(2026, 1, 5)
KEY_FINGERPRINT = "12345 67890 13579 24680"
BUNDLE_SHA256 = hashlib.sha256(b"VKS CD S sample bundle").hexdigest()

GROUPS: tuple[tuple[str, str], ...] = (
    ("G1", "I. HẠ TẦNG SỐ, AN TOÀN THÔNG TIN"),
    ("G2", "II. CHÍNH QUYỀN SỐ, VĂN BẢN ĐIỆN TỬ"),
    ("G3", "III. DỮ LIỆU SỐ, ỨNG DỤNG NGHIỆP VỤ"),
    ("G4", "IV. NHÂN LỰC SỐ, TUYÊN TRUYỀN"),
)

#: (group index, target text, indicator, units, deadline)
BASE_TARGETS: tuple[tuple[int, str, str, str, str], ...] = (
    (1, "100% văn bản trao đổi, xử lý công việc hành chính được thực hiện trên môi trường mạng, "
        "có chữ ký số chuyên dùng (trừ văn bản mật theo quy định của pháp luật và của Ngành)",
     "100%", "Văn phòng chủ trì; các bộ phận phối hợp", "Năm 2026"),
    (0, "Bảo đảm 100% máy tính kết nối mạng nội bộ được cài đặt phần mềm phòng, chống mã độc "
        "có bản quyền và được cập nhật thường xuyên",
     "100%", "Văn phòng; Phòng 2", "Quý II/2026"),
    (1, "Triển khai hệ thống quản lý văn bản và điều hành liên thông từ Viện kiểm sát nhân dân "
        "tối cao đến Viện kiểm sát nhân dân khu vực",
     "Hoàn thành", "Văn phòng chủ trì", "30/6/2026"),
    (2, "Số hóa hồ sơ kiểm sát các vụ án hình sự đã kết thúc, lưu trữ trên hệ thống "
        "cơ sở dữ liệu của Ngành",
     "≥ 80%", "Bộ phận kiểm sát hình sự; Văn phòng phối hợp", "Năm 2026"),
    (2, "Cập nhật đầy đủ, kịp thời thông tin thống kê tội phạm trên phần mềm thống kê "
        "của Ngành; không để xảy ra sai lệch số liệu giữa sổ thụ lý và phần mềm",
     "100%", "Bộ phận thống kê", "Hằng tháng"),
    (3, "Tổ chức tập huấn kỹ năng số, an toàn thông tin cho công chức, người lao động của đơn vị",
     "≥ 1 lớp/năm", "Văn phòng; Đoàn thanh niên", "Quý III/2026"),
    (0, "Rà soát, thay thế máy tính cấu hình thấp, đã hết khấu hao phục vụ ứng dụng "
        "chữ ký số và họp trực tuyến",
     "100%", "Văn phòng", "31/12/2026"),
    (1, "Tổ chức họp, hội nghị trực tuyến với Viện kiểm sát nhân dân tỉnh Thanh Hóa "
        "bảo đảm chất lượng âm thanh, hình ảnh",
     "100% hội nghị", "Văn phòng", "Thường xuyên"),
    (2, "Ứng dụng phần mềm trợ lý ảo hỗ trợ tra cứu văn bản pháp luật trong công tác "
        "thực hành quyền công tố, kiểm sát hoạt động tư pháp",
     "Triển khai", "Lãnh đạo đơn vị; các Kiểm sát viên", "Năm 2026"),
    (3, "Tuyên truyền, phổ biến các chủ trương của Đảng, chính sách, pháp luật của Nhà nước "
        "về chuyển đổi số trên trang thông tin điện tử và nhóm công tác nội bộ",
     "≥ 4 tin, bài/năm", "Chi bộ; Công đoàn", "Năm 2026"),
    (1, "Thực hiện báo cáo định kỳ bằng văn bản điện tử qua phần mềm VKS CĐS, "
        "bảo đảm đúng thời hạn quy định",
     "100%", "Văn phòng", "Hằng quý"),
    (0, "Sao lưu dữ liệu nghiệp vụ định kỳ, lưu giữ bản sao ở nơi an toàn, tách biệt "
        "với máy chủ, máy trạm đang sử dụng",
     "Hằng tuần", "Văn phòng", "Thường xuyên"),
)

#: What the clerk typed under "Kết quả đạt được" (printed in "Kết quả thực hiện").
RESULT_DETAILS: tuple[str, ...] = (
    "Đã xử lý trên phần mềm quản lý văn bản; còn 113 văn bản giấy do đường truyền gián đoạn.",
    "Đã cài đặt phần mềm phòng, chống mã độc cho 42/42 máy tính.",
    "",
    "Đã số hóa 1.397 hồ sơ; đang tiếp tục với hồ sơ năm 2019.",
    "Cập nhật hằng ngày, đối chiếu với sổ thụ lý vào ngày cuối tháng.",
    "Chưa tổ chức được do chưa có kinh phí.",
)

STATUS_CYCLE = (
    Progress.HOAN_THANH,
    Progress.DUNG_TIEN_DO,
    Progress.HOAN_THANH,
    Progress.CHAM_TIEN_DO,
    Progress.DUNG_TIEN_DO,
    Progress.CHUA_THUC_HIEN,
)


def header(title: str = "BÁO CÁO",
           subject: str = "Kết quả thực hiện chuyển đổi số năm 2025",
           number: str = "Số: 05/BC-VKSKV1") -> ReportHeader:
    return ReportHeader(
        parent_agency=PARENT,
        issuing_unit=UNIT,
        number_symbol=number,
        place="Thanh Hóa",
        date=REPORT_DATE,
        title=title,
        subject=subject,
        recipients_line="Kính gửi: Viện kiểm sát nhân dân tỉnh Thanh Hóa",
        unit_name=UNIT_IN_SENTENCE,
    )


def signature() -> SignatureBlock:
    return SignatureBlock(authority="KT. VIỆN TRƯỞNG", title="PHÓ VIỆN TRƯỞNG", name="Lê Thị Hồng Nhung")


def target_text(i: int) -> str:
    """Text of the i-th sample target (0-based); beyond the base list, numbered variants."""
    base = BASE_TARGETS[i % len(BASE_TARGETS)][1]
    if i < len(BASE_TARGETS):
        return base
    return f"{base} (đợt {i // len(BASE_TARGETS) + 1}, mã MT{i + 1:02d})"


def appendix_rows(n_targets: int = 12) -> list[AppendixRow]:
    rows = []
    specs = sorted(range(n_targets), key=lambda i: (BASE_TARGETS[i % len(BASE_TARGETS)][0], i))
    counters: dict[int, int] = {}
    for i in specs:
        g, _text, indicator, units, deadline = BASE_TARGETS[i % len(BASE_TARGETS)]
        counters[g] = counters.get(g, 0) + 1
        status = STATUS_CYCLE[i % len(STATUS_CYCLE)]
        total = 3429 - 7 * i
        done = {Progress.HOAN_THANH: total, Progress.DUNG_TIEN_DO: int(total * 0.82),
                Progress.CHAM_TIEN_DO: int(total * 0.41), Progress.CHUA_THUC_HIEN: 0}[status]
        if i == 0:
            done, total = 3316, 3429
            status = Progress.DUNG_TIEN_DO
        rows.append(AppendixRow(
            tt=f"{g + 1}.{counters[g]}",
            target_text=target_text(i),
            indicator=indicator,
            units=units,
            deadline=deadline,
            result_xy=(done, total),
            percent=done / total,
            status=status,
            difficulties=("Một số máy tính cấu hình thấp, chưa cài đặt được phần mềm ký số; "
                          "đường truyền chập chờn vào giờ cao điểm")
            if status is Progress.CHAM_TIEN_DO else "",
            proposals=("Đề nghị Viện kiểm sát nhân dân tỉnh bổ sung 02 máy tính và "
                       "01 thiết bị ký số")
            if status is Progress.CHAM_TIEN_DO else "",
            group=GROUPS[g][1],
            code=f"MT{i + 1:02d}",
            result_detail=RESULT_DETAILS[i % len(RESULT_DETAILS)],
            evidence_count=i % 3,
        ))
    return rows


SECTIONS = {
    "I": (
        "Thực hiện Kế hoạch số 136/KH-VKSTC ngày 20/3/2025 của Viện kiểm sát nhân dân tối cao "
        "về chuyển đổi số trong ngành Kiểm sát nhân dân và Kế hoạch của Viện kiểm sát nhân dân "
        "tỉnh Thanh Hóa, Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa đã ban hành kế hoạch "
        "triển khai, phân công cụ thể cho từng bộ phận, cá nhân phụ trách.\n"
        "Lãnh đạo đơn vị thường xuyên kiểm tra, đôn đốc; định kỳ hằng quý đánh giá kết quả "
        "thực hiện tại cuộc họp giao ban của đơn vị."
    ),
    "II": (
        "Trong năm 2025, đơn vị đã xử lý 3.316/3.429 văn bản trên môi trường mạng (đạt 96,7%), "
        "100% công chức được cấp chứng thư số chuyên dùng; hệ thống họp trực tuyến hoạt động ổn định.\n"
        "Kết quả chi tiết từng mục tiêu, nhiệm vụ tại Phụ lục kèm theo."
    ),
    "III": "Một số nhiệm vụ số hóa hồ sơ còn chậm so với kế hoạch; việc khai thác dữ liệu dùng chung chưa thường xuyên.",
    "IV": "Trang thiết bị công nghệ thông tin còn thiếu, một số máy tính đã xuống cấp; đường truyền chưa ổn định.",
    "V": "Tiếp tục duy trì các chỉ tiêu đã đạt; tập trung hoàn thành số hóa hồ sơ kiểm sát trong quý II năm 2026.",
    "VI": "Đề nghị Viện kiểm sát nhân dân tỉnh Thanh Hóa quan tâm bổ sung trang thiết bị, tổ chức tập huấn chuyên sâu về an toàn thông tin.",
}

RECIPIENTS = (
    "Viện kiểm sát nhân dân tỉnh Thanh Hóa (để báo cáo);",
    "Văn phòng Viện kiểm sát nhân dân tỉnh Thanh Hóa (để tổng hợp);",
    "Lãnh đạo đơn vị;",
    "Lưu: VT, VP.",
)


def group_completion(rows: list[AppendixRow]) -> list[GroupCompletion]:
    out = []
    for code, title in GROUPS:
        mine = [r for r in rows if r.group == title]
        if not mine:
            continue
        done = sum(r.status is Progress.HOAN_THANH for r in mine)
        label = title.split(". ", 1)[-1].capitalize()
        out.append(GroupCompletion(label=label, percent=done / len(mine), done=done,
                                   total=len(mine), code=code))
    return out


def sample_unit_report(n_targets: int = 12, packaged: bool = True,
                       verification: bool = True) -> UnitReportDoc:
    rows = appendix_rows(n_targets)
    ver = None
    if verification:
        ver = Verification(BUNDLE_SHA256 if packaged else None, KEY_FINGERPRINT)
    return UnitReportDoc(
        header=header(),
        sections=SECTIONS,
        rows=rows,
        group_completion=group_completion(rows),
        recipients=RECIPIENTS,
        signature=signature(),
        verification=ver,
    )


# --------------------------------------------------------------------------- consolidated

def sample_units(n: int = 12) -> list[UnitRef]:
    return [UnitRef(code=f"KV{i}", name=f"Viện kiểm sát nhân dân khu vực {i} - Thanh Hóa",
                    short_name=f"VKSND khu vực {i}") for i in range(1, n + 1)]


def sample_targets(n: int = 12) -> list[TargetRef]:
    return [TargetRef(code=f"MT{i + 1:02d}", text=target_text(i),
                      group=GROUPS[BASE_TARGETS[i % len(BASE_TARGETS)][0]][1]) for i in range(n)]


def sample_consolidated_report(n_units: int = 12, n_targets: int = 12,
                               packaged: bool = True) -> ConsolidatedReportDoc:
    units = sample_units(n_units)
    targets = sample_targets(n_targets)
    cells = {}
    submissions = {}
    missing = {units[-1].code} if n_units > 2 else set()
    late = {units[2].code} if n_units > 3 else set()
    for ui, u in enumerate(units):
        if u.code in missing:
            submissions[u.code] = Submission(None, None)
            continue
        submissions[u.code] = Submission(dt.date(2026, 1, 3 if u.code not in late else 9),
                                         u.code not in late)
        for ti, t in enumerate(targets):
            st = STATUS_CYCLE[(ui + ti) % len(STATUS_CYCLE)]
            if (ui * 7 + ti) % 23 == 0:
                st = Progress.KHONG_AP_DUNG
            value = {Progress.HOAN_THANH: 1.0, Progress.DUNG_TIEN_DO: 0.8 - 0.01 * (ti % 9),
                     Progress.CHAM_TIEN_DO: 0.35 + 0.01 * (ui % 7), Progress.CHUA_THUC_HIEN: 0.0,
                     Progress.KHONG_AP_DUNG: None}[st]
            cells[(u.code, t.code)] = MatrixCell(st, value)
    received = n_units - len(missing)
    return ConsolidatedReportDoc(
        header=ReportHeader(
            parent_agency="VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO",
            issuing_unit="VIỆN KIỂM SÁT NHÂN DÂN TỈNH THANH HÓA",
            number_symbol="12/BC-VKSTH",
            place="Thanh Hóa",
            date=dt.date(2026, 1, 15),
            subject="Tổng hợp kết quả thực hiện chuyển đổi số năm 2025 của Viện kiểm sát nhân dân hai cấp tỉnh Thanh Hóa",
            recipients_line="Viện kiểm sát nhân dân tối cao",
            unit_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
        ),
        units=units,
        targets=targets,
        cells=cells,
        reporting=ReportingRate(expected=n_units, received=received,
                                on_time=received - len(late), late=len(late)),
        summary=(
            "Năm 2025, Viện kiểm sát nhân dân hai cấp tỉnh Thanh Hóa tiếp tục đẩy mạnh chuyển đổi số; "
            "phần lớn các đơn vị hoàn thành chỉ tiêu văn bản điện tử có chữ ký số chuyên dùng.\n"
            "Một số đơn vị còn chậm số hóa hồ sơ và báo cáo chưa đúng hạn; Viện kiểm sát nhân dân tỉnh "
            "sẽ tiếp tục theo dõi, đôn đốc."
        ),
        submissions=submissions,
        recipients=("VKSND tối cao (để báo cáo);", "Lãnh đạo Viện;", "Các đơn vị trực thuộc;",
                    "Lưu: VT, VP."),
        signature=SignatureBlock(authority="KT. VIỆN TRƯỞNG", title="PHÓ VIỆN TRƯỞNG",
                                 name="Nguyễn Văn Hùng"),
        verification=Verification(BUNDLE_SHA256 if packaged else None, KEY_FINGERPRINT),
    )


# --------------------------------------------------------------------------- one-page forms

RECOVERY_CODE = "7KQM-3XWD-HP9T-RC4N-2VJB-8FZA-L6YG-5SEU"


def sample_notice(n_units: int = 3) -> NoticeDoc:
    """A reminder (thông báo đôn đốc) from the province, number still to be assigned."""
    units = sample_units(n_units)
    return NoticeDoc(
        header=ReportHeader(
            parent_agency="VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO",
            issuing_unit="VIỆN KIỂM SÁT NHÂN DÂN TỈNH THANH HÓA",
            number_symbol="/TB-VKS-VP",
            place="Thanh Hóa",
            date=dt.date(2025, 4, 7),
            title="THÔNG BÁO",
            subject="Về việc đôn đốc gửi báo cáo kết quả thực hiện chuyển đổi số, quý I/2025",
            unit_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
        ),
        intro=("Theo Kế hoạch chuyển đổi số năm 2025, báo cáo quý I/2025 phải gửi về Viện kiểm sát "
               "nhân dân tỉnh Thanh Hóa chậm nhất ngày 05/04/2025. Đến ngày 07/04/2025, còn "
               f"{n_units} đơn vị chưa gửi báo cáo, gồm:"),
        items=[NoticeItem(u.name, "05/04/2025", "Đã trả lại, chưa gửi lại" if i == 1 else "Chưa gửi")
               for i, u in enumerate(units)],
        closing=("Viện kiểm sát nhân dân tỉnh Thanh Hóa đề nghị Viện trưởng các đơn vị nêu trên chỉ đạo "
                 "khẩn trương hoàn thành, duyệt và gửi báo cáo trong thời hạn 03 ngày làm việc."),
        list_title="Danh sách đơn vị chưa gửi báo cáo quý I/2025",
        recipients=[f"Viện trưởng {u.name}" for u in units] + ["Lãnh đạo Viện (để báo cáo)", "Lưu: VT, VP"],
        signature=SignatureBlock.compose("ky_thay", "Viện trưởng", "Phó Viện trưởng", "Phạm Minh Tuấn"),
        verification=Verification(None, KEY_FINGERPRINT),
    )


def sample_recovery_sheet() -> RecoverySheetDoc:
    return RecoverySheetDoc(
        unit_name=UNIT_IN_SENTENCE,
        unit_code="VKSKV1-TH",
        created=REPORT_DATE,
        recovery_code=RECOVERY_CODE,
        parent_agency=PARENT,
        place="Thanh Hóa",
        key_fingerprint=KEY_FINGERPRINT,
    )


def sample_enrolment_form(kind: str = "request") -> EnrolmentFormDoc:
    return EnrolmentFormDoc(
        kind=kind,
        unit=UnitRef(code="VKSKV1-TH", name=UNIT_IN_SENTENCE),
        counterpart=UnitRef(code="VKSTH", name="Viện kiểm sát nhân dân tỉnh Thanh Hóa"),
        signing_key_fingerprint=KEY_FINGERPRINT,
        receiving_key_fingerprint="86420 97531 08642 19753",
        date=REPORT_DATE,
        place="Thanh Hóa",
        parent_agency=PARENT if kind == "request" else "VIỆN KIỂM SÁT NHÂN DÂN TỐI CAO",
        number_symbol="03/PĐK-VKSKV1" if kind == "request" else "07/PXN-VKSTH",
        signature=signature() if kind == "request" else SignatureBlock(
            authority="TL. VIỆN TRƯỞNG", title="CHÁNH VĂN PHÒNG", name="Trần Quốc Bảo"),
    )
