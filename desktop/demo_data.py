"""Realistic demo progress for a regional unit on a built-in plan (used by `vks-cds demo`).

Deterministic (seeded): ratios climb month by month towards their target, meetings are held
about once a quarter, most milestones are done near their deadline, a few are late, and the
monthly duties are missed once. Every value goes through the same services as the entry form.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from desktop.models.services import progress
from desktop.models.domain.plan import ReportingPeriod

NARRATIVE = {
    "I": "Đơn vị đã quán triệt Kế hoạch chuyển đổi số năm {year} đến toàn thể công chức, người lao động; "
         "phân công lãnh đạo phụ trách, cán bộ đầu mối theo dõi từng nhiệm vụ.",
    "II": "Các chỉ tiêu về văn bản điện tử, chữ ký số và định danh điện tử cơ bản đạt tiến độ; "
          "đơn vị duy trì họp giao ban định kỳ trên nền tảng họp trực tuyến.",
    "III": "Một số nhiệm vụ số hóa hồ sơ còn chậm do thiếu máy quét chuyên dụng.",
    "IV": "Đường truyền mạng diện rộng tại trụ sở chưa ổn định; thiết bị đã cũ.",
    "V": "Tập trung hoàn thành số hóa hồ sơ, nâng tỷ lệ văn bản ký số, chuẩn bị báo cáo năm.",
    "VI": "Đề nghị VKSND tỉnh hỗ trợ 01 máy quét tài liệu tốc độ cao và nâng cấp đường truyền.",
}


def fill_unit_progress(session, plan_id: str, year: int, months: int, seed: int = 7,
                       evidence_file: Path | None = None, approve_with=None) -> list[int]:
    """Enter `months` monthly reports (Jan..) for the unit; submit them all and, if an approver
    session factory is given, approve every report but the last. Returns the report ids."""
    rng = random.Random(seed)
    ids = []
    first = progress.open_report(session, plan_id, ReportingPeriod("month", year, 1))
    targets = progress.report_targets(session, first)
    base = {t.code: rng.randint(40, 150) for t in targets}
    done_month = {t.code: rng.randint(2, 12) for t in targets}
    for m in range(1, months + 1):
        period = ReportingPeriod("month", year, m)
        report = progress.open_report(session, plan_id, period)
        for t in targets:
            mt = t.measure.type
            values: dict = {}
            if mt == "ratio":
                den = base[t.code] * m
                share = min(1.0, 0.55 + 0.05 * m + rng.uniform(-0.04, 0.04))
                values = {"numerator": int(den * share), "denominator": den}
            elif mt == "count":
                values = {"count": 1 if m % 3 == 0 else 0}
            elif mt == "milestone":
                end = t.deadline.end_date(year)
                target_month = min(done_month[t.code], end.month if end and end.year == year else 12)
                if m >= target_month:
                    values = {"done": True, "done_date": date(year, target_month, min(20, 28)).isoformat()}
            elif mt == "recurring":
                values = {"done": not (m == 2)}
            else:
                if m % 2 == 0:
                    values = {"result_text": "Đã triển khai theo kế hoạch trong tháng."}
            if values:
                values.setdefault("result_text", "Thực hiện theo kế hoạch.")
                progress.record_progress(session, report.id, t.code, **values)
        progress.save_narrative(session, report.id, {k: v.format(year=year) for k, v in NARRATIVE.items()})
        if evidence_file is not None and m == months:
            ratio = next((t for t in targets if t.measure.type == "ratio"), None)
            if ratio is not None:
                progress.attach_evidence(session, report.id, ratio.code, evidence_file)
        progress.submit_report(session, report.id)
        ids.append(report.id)
    if approve_with is not None:
        head = approve_with()
        try:
            for rid in ids[:-1]:
                progress.approve_report(head, rid, "Đồng ý", keep_print=False)  # sample data: not exported
        finally:
            head.lock()
    return ids
