"""`vks-cds demo`: build a realistic demo installation without a display and say where it is.

The demo unit's data folder is created under OUT/unit-data with the five built-in plans; the
credentials are printed (this is demo data, never a real unit's).
"""

from __future__ import annotations

import shutil
from pathlib import Path

DEMO_PASSWORD = "demo-mat-khau-2025"


def run_demo(out: Path) -> int:
    from desktop.logsetup import setup_logging
    from desktop.models import accounts, plans
    from desktop.models.recovery import write_recovery_sheet
    from desktop.demo_data import fill_unit_progress
    from desktop.models.vault import Role, UnitIdentity, Vault

    out = Path(out).resolve()
    data = out / "unit-data"
    if data.exists():
        shutil.rmtree(data)
    out.mkdir(parents=True, exist_ok=True)
    setup_logging(data)
    vault = Vault(data)
    unit = UnitIdentity(code="VKS-KV1-THA", name="Viện kiểm sát nhân dân khu vực 1 - Thanh Hóa",
                        parent_code="VKS-THA", parent_name="Viện kiểm sát nhân dân tỉnh Thanh Hóa",
                        place_name="Thanh Hóa", doc_symbol="VKSKV1", short_name="VKSND KV1", level="khu_vuc")
    session, code = vault.create(unit, "quantri", DEMO_PASSWORD, "Nguyễn Văn Quản")
    try:
        accounts.add_user(session, "nhaplieu", "Trần Thị Nhập", Role.DATA_ENTRY, DEMO_PASSWORD)
        accounts.add_user(session, "lanhdao", "Lê Văn Đạo", Role.APPROVER, DEMO_PASSWORD)
        plans.install_builtin_plans(session)
        items = plans.list_plans(session)
        sheet = out / "phieu-ma-khoi-phuc.pdf"
        write_recovery_sheet(session, code, sheet)
    finally:
        session.lock()
    evidence = out / "bien-ban-minh-hoa.pdf"
    _write_sample_evidence(evidence)
    entry = vault.unlock("nhaplieu", DEMO_PASSWORD)
    try:
        report_ids = fill_unit_progress(entry, "thanhhoa-cds-2025", 2025, 10, evidence_file=evidence,
                                        approve_with=lambda: vault.unlock("lanhdao", DEMO_PASSWORD))
    finally:
        entry.lock()
    admin = vault.unlock("quantri", DEMO_PASSWORD)
    try:
        backup = vault.backup_now(admin)
    finally:
        admin.lock()
    print("Bản minh họa VKS CĐS đã sẵn sàng.")
    print(f"  Thư mục dữ liệu (mã hóa SQLCipher): {data}")
    print(f"  Kế hoạch có sẵn: {len(items)} ({', '.join(p.id for p in items)})")
    print(f"  Tiến độ: {len(report_ids)} báo cáo tháng của kế hoạch thanhhoa-cds-2025 (9 đã duyệt, 1 chờ duyệt)")
    print(f"  Phiếu mã khôi phục (PDF): {sheet}")
    print(f"  Bản sao lưu: {backup}")
    print(f"  Tài khoản: quantri / nhaplieu / lanhdao — mật khẩu {DEMO_PASSWORD}")
    print(f"  Mở giao diện: vks-cds --data-dir {data}")
    return 0


def _write_sample_evidence(path: Path) -> None:
    """A one-page PDF standing in for a scanned minutes document."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    from desktop.resources import font_path

    if "DemoSerif" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DemoSerif", str(font_path("Regular"))))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.setFont("DemoSerif", 14)
    c.drawString(72, 770, "BIÊN BẢN HỌP GIAO BAN TRỰC TUYẾN (minh họa)")
    c.setFont("DemoSerif", 12)
    c.drawString(72, 740, "Thành phần: lãnh đạo và công chức VKSND khu vực 1 - Thanh Hóa.")
    c.showPage()
    c.save()
